package forge

import (
	"context"
	"errors"
	"net/http"
	"strings"

	gitlab "gitlab.com/gitlab-org/api/client-go"
)

// gitLab talks to GitLab's REST API (v4), on gitlab.com or self-hosted.
type gitLab struct {
	client
	api *gitlab.Client
}

func newGitLab(repo Repo, token string, hc *http.Client) (Forge, error) {
	// No retries: a rate limit or a 5xx is reported at once, with what to
	// do, rather than waited out in silence.
	api, err := gitlab.NewClient(token, gitlab.WithBaseURL(repo.WebURL+"/api/v4"), gitlab.WithHTTPClient(hc), gitlab.WithoutRetries())
	if err != nil {
		return nil, err
	}
	api.UserAgent = userAgent
	return &gitLab{client: client{repo: repo, token: token}, api: api}, nil
}

// pid is the project as GitLab's API names it: its full path.
func (g *gitLab) pid() string { return g.repo.Owner + "/" + g.repo.Name }

func (g *gitLab) err(op string, resp *gitlab.Response, err error) error {
	if err == nil {
		return nil
	}
	var hr *http.Response
	if resp != nil {
		hr = resp.Response
	}
	msg := ""
	var er *gitlab.ErrorResponse
	if errors.As(err, &er) {
		msg = er.Message
		if hr == nil {
			hr = er.Response
		}
	}
	if hr == nil && errors.Is(err, gitlab.ErrNotFound) {
		hr = &http.Response{StatusCode: http.StatusNotFound}
	}
	return g.newAPIError(op, hr, err, msg)
}

func (g *gitLab) Check(ctx context.Context) error {
	_, resp, err := g.api.Projects.GetProject(g.pid(), nil, gitlab.WithContext(ctx))
	return g.err("reading the project "+g.pid(), resp, err)
}

func (g *gitLab) find(ctx context.Context, head, base string) (*gitlab.BasicMergeRequest, error) {
	opts := &gitlab.ListProjectMergeRequestsOptions{State: gitlab.Ptr("opened"), SourceBranch: gitlab.Ptr(head)}
	if base != "" {
		opts.TargetBranch = gitlab.Ptr(base)
	}
	mrs, resp, err := g.api.MergeRequests.ListProjectMergeRequests(g.pid(), opts, gitlab.WithContext(ctx))
	if err != nil {
		return nil, g.err("listing open merge requests", resp, err)
	}
	for _, mr := range mrs {
		if mr.SourceBranch == head && (base == "" || mr.TargetBranch == base) {
			return mr, nil
		}
	}
	return nil, nil
}

// draftPrefix makes a GitLab merge request a draft when its title starts
// with it.
const draftPrefix = "Draft: "

func (g *gitLab) Ensure(ctx context.Context, s Spec) (PullRequest, bool, error) {
	reviewers, err := g.userIDs(ctx, s.Reviewers)
	if err != nil {
		return PullRequest{}, false, err
	}
	existing, err := g.find(ctx, s.Head, s.Base)
	if err != nil {
		return PullRequest{}, false, err
	}
	if existing == nil {
		title := s.Title
		if s.Draft {
			title = draftPrefix + title
		}
		opts := &gitlab.CreateMergeRequestOptions{
			Title: &title, Description: &s.Body, SourceBranch: &s.Head, TargetBranch: &s.Base,
		}
		if len(s.Labels) > 0 {
			opts.Labels = gitlab.Ptr(gitlab.LabelOptions(s.Labels))
		}
		if len(reviewers) > 0 {
			opts.ReviewerIDs = &reviewers
		}
		mr, resp, err := g.api.MergeRequests.CreateMergeRequest(g.pid(), opts, gitlab.WithContext(ctx))
		if err != nil {
			return PullRequest{}, false, g.err("opening the merge request", resp, err)
		}
		return g.convert(&mr.BasicMergeRequest), true, nil
	}
	title := s.Title
	if existing.Draft || strings.HasPrefix(existing.Title, draftPrefix) {
		title = draftPrefix + title
	}
	opts := &gitlab.UpdateMergeRequestOptions{Title: &title, Description: &s.Body}
	if len(s.Labels) > 0 {
		opts.AddLabels = gitlab.Ptr(gitlab.LabelOptions(s.Labels))
	}
	if len(reviewers) > 0 {
		// reviewer_ids replaces the list: keep the reviewers already asked.
		ids := reviewers
		for _, r := range existing.Reviewers {
			if r != nil && !containsID(ids, r.ID) {
				ids = append(ids, r.ID)
			}
		}
		opts.ReviewerIDs = &ids
	}
	mr, resp, err := g.api.MergeRequests.UpdateMergeRequest(g.pid(), existing.IID, opts, gitlab.WithContext(ctx))
	if err != nil {
		return PullRequest{}, false, g.err("updating merge request !"+itoa(existing.IID), resp, err)
	}
	return g.convert(&mr.BasicMergeRequest), false, nil
}

// userIDs looks up the ids GitLab wants for reviewers.
func (g *gitLab) userIDs(ctx context.Context, names []string) ([]int64, error) {
	var ids []int64
	for _, n := range names {
		users, resp, err := g.api.Users.ListUsers(&gitlab.ListUsersOptions{Username: gitlab.Ptr(n)}, gitlab.WithContext(ctx))
		if err != nil {
			return nil, g.err("looking up reviewer "+n, resp, err)
		}
		if len(users) == 0 {
			return nil, &APIError{Kind: GitLab, Repo: g.pid(), Op: "looking up reviewer " + n, Status: http.StatusUnprocessableEntity,
				Message: "no GitLab user named " + n, tokenEnv: tokenEnvs(GitLab, g.repo.Host())}
		}
		ids = append(ids, users[0].ID)
	}
	return ids, nil
}

func containsID(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func (g *gitLab) ListOpen(ctx context.Context, base string) ([]PullRequest, error) {
	opts := &gitlab.ListProjectMergeRequestsOptions{State: gitlab.Ptr("opened"), ListOptions: gitlab.ListOptions{PerPage: 100}}
	if base != "" {
		opts.TargetBranch = gitlab.Ptr(base)
	}
	var out []PullRequest
	for {
		mrs, resp, err := g.api.MergeRequests.ListProjectMergeRequests(g.pid(), opts, gitlab.WithContext(ctx))
		if err != nil {
			return nil, g.err("listing open merge requests", resp, err)
		}
		for _, mr := range mrs {
			out = append(out, g.convert(mr))
		}
		if resp.NextPage == 0 || len(out) >= maxListed {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

func (g *gitLab) convert(mr *gitlab.BasicMergeRequest) PullRequest {
	return PullRequest{
		Number: mr.IID, URL: mr.WebURL, Title: mr.Title, Body: mr.Description,
		Head: mr.SourceBranch, Base: mr.TargetBranch, Draft: mr.Draft,
	}
}
