package forge

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"code.gitea.io/sdk/gitea"
	"github.com/google/go-github/v82/github"
	gitlab "gitlab.com/gitlab-org/api/client-go"
)

// Comment is a comment on a pull or merge request.
type Comment struct {
	ID   int64  `json:"id"`
	URL  string `json:"url,omitempty"`
	Body string `json:"-"`
}

// Commenter keeps one comment of a tool's on a request: the three
// forge clients implement it.
type Commenter interface {
	// UpsertComment edits the first comment on request number whose body
	// holds marker and that the token may edit, or posts body as a new
	// comment when there is none. It reports whether it posted a new one.
	// A marked comment the forge refuses to let us edit (403/404: someone
	// else's, such as another bot's or a copy a person pasted) is passed
	// over rather than failing the run: the token's own user is not always
	// knowable (GitHub Actions' GITHUB_TOKEN may not read /user).
	UpsertComment(ctx context.Context, number int64, marker, body string) (c Comment, created bool, err error)
}

// MaxCommentLen is the longest comment body the forge accepts, in
// characters: GitHub's documented 65536; GitLab's 1,000,000 for notes;
// Gitea stores comments in a TEXT column, 65535 bytes on MySQL, so bodies
// are kept to that there.
func MaxCommentLen(k Kind) int {
	switch k {
	case GitLab:
		return 1000000
	case Gitea:
		return 65535
	}
	return 65536
}

// notOurs reports an edit refused because the comment is not the token's
// to edit: 403 on every forge, 404 where a forge hides what it refuses.
func notOurs(r *http.Response) bool {
	return r != nil && (r.StatusCode == http.StatusForbidden || r.StatusCode == http.StatusNotFound)
}

// maxCommentPages bounds the search for the marked comment: 100 per page.
const maxCommentPages = 30

func (g *gitHub) UpsertComment(ctx context.Context, number int64, marker, body string) (Comment, bool, error) {
	o := g.repo
	for page := 1; page <= maxCommentPages; page++ {
		cs, resp, err := g.api.Issues.ListComments(ctx, o.Owner, o.Name, int(number), &github.IssueListCommentsOptions{ListOptions: github.ListOptions{Page: page, PerPage: 100}})
		if err != nil {
			return Comment{}, false, g.err("listing the comments of pull request #"+itoa(number), resp, err)
		}
		for _, c := range cs {
			if strings.Contains(c.GetBody(), marker) {
				e, resp, err := g.api.Issues.EditComment(ctx, o.Owner, o.Name, c.GetID(), &github.IssueComment{Body: github.Ptr(body)})
				if err != nil && resp != nil && notOurs(resp.Response) {
					continue
				}
				if err != nil {
					return Comment{}, false, g.err("updating comment "+itoa(c.GetID())+" on pull request #"+itoa(number), resp, err)
				}
				return Comment{ID: e.GetID(), URL: e.GetHTMLURL(), Body: e.GetBody()}, false, nil
			}
		}
		if resp == nil || resp.NextPage == 0 {
			break
		}
	}
	c, resp, err := g.api.Issues.CreateComment(ctx, o.Owner, o.Name, int(number), &github.IssueComment{Body: github.Ptr(body)})
	if err != nil {
		return Comment{}, false, g.err("commenting on pull request #"+itoa(number), resp, err)
	}
	return Comment{ID: c.GetID(), URL: c.GetHTMLURL(), Body: c.GetBody()}, true, nil
}

func (g *gitLab) UpsertComment(ctx context.Context, number int64, marker, body string) (Comment, bool, error) {
	url := func(id int64) string {
		return fmt.Sprintf("%s/%s/-/merge_requests/%d#note_%d", g.repo.WebURL, g.pid(), number, id)
	}
	for page := int64(1); page <= maxCommentPages; page++ {
		ns, resp, err := g.api.Notes.ListMergeRequestNotes(g.pid(), number, &gitlab.ListMergeRequestNotesOptions{ListOptions: gitlab.ListOptions{Page: page, PerPage: 100}}, gitlab.WithContext(ctx))
		if err != nil {
			return Comment{}, false, g.err("listing the notes of merge request !"+itoa(number), resp, err)
		}
		for _, n := range ns {
			if !n.System && strings.Contains(n.Body, marker) {
				e, resp, err := g.api.Notes.UpdateMergeRequestNote(g.pid(), number, n.ID, &gitlab.UpdateMergeRequestNoteOptions{Body: gitlab.Ptr(body)}, gitlab.WithContext(ctx))
				if err != nil && resp != nil && notOurs(resp.Response) {
					continue
				}
				if err != nil {
					return Comment{}, false, g.err("updating note "+itoa(n.ID)+" on merge request !"+itoa(number), resp, err)
				}
				return Comment{ID: e.ID, URL: url(e.ID), Body: e.Body}, false, nil
			}
		}
		if resp == nil || resp.NextPage == 0 {
			break
		}
	}
	n, resp, err := g.api.Notes.CreateMergeRequestNote(g.pid(), number, &gitlab.CreateMergeRequestNoteOptions{Body: gitlab.Ptr(body)}, gitlab.WithContext(ctx))
	if err != nil {
		return Comment{}, false, g.err("commenting on merge request !"+itoa(number), resp, err)
	}
	return Comment{ID: n.ID, URL: url(n.ID), Body: n.Body}, true, nil
}

func (g *giteaAPI) UpsertComment(ctx context.Context, number int64, marker, body string) (c Comment, created bool, err error) {
	o := g.repo
	err = g.with(ctx, func(api *gitea.Client) error {
		for page := 1; page <= maxCommentPages; page++ {
			cs, resp, err := api.ListIssueComments(o.Owner, o.Name, number, gitea.ListIssueCommentOptions{ListOptions: gitea.ListOptions{Page: page, PageSize: 50}})
			if err != nil {
				return g.err("listing the comments of pull request #"+itoa(number), resp, err)
			}
			for _, x := range cs {
				if strings.Contains(x.Body, marker) {
					e, resp, err := api.EditIssueComment(o.Owner, o.Name, x.ID, gitea.EditIssueCommentOption{Body: body})
					if err != nil && resp != nil && notOurs(resp.Response) {
						continue
					}
					if err != nil {
						return g.err("updating comment "+itoa(x.ID)+" on pull request #"+itoa(number), resp, err)
					}
					c = Comment{ID: e.ID, URL: e.HTMLURL, Body: e.Body}
					return nil
				}
			}
			if len(cs) == 0 || resp == nil || resp.NextPage == 0 {
				break
			}
		}
		n, resp, err := api.CreateIssueComment(o.Owner, o.Name, number, gitea.CreateIssueCommentOption{Body: body})
		if err != nil {
			return g.err("commenting on pull request #"+itoa(number), resp, err)
		}
		c, created = Comment{ID: n.ID, URL: n.HTMLURL, Body: n.Body}, true
		return nil
	})
	return c, created, err
}
