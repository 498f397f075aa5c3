package forge

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// comment answers the comment endpoints as documented:
// docs.github.com/rest/issues/comments (a pull request's conversation
// comments are its issue's) and docs.gitlab.com/api/notes (merge request
// notes). Each request has one comment by someone else already.
func (f *fakeForge) comment(w http.ResponseWriter, r *http.Request, path string, body any) bool {
	b, _ := body.(map[string]any)
	list, item := "/api/v3/repos/acme/fleet/issues/1/comments", "/api/v3/repos/acme/fleet/issues/comments/"
	if f.kind == GitLab {
		list = "/api/v4/projects/platform%2Fapps%2Ffleet/merge_requests/1/notes"
		item = list + "/"
	}
	if f.comments == nil {
		f.comments = []map[string]any{f.newComment("LGTM, but wait for the diff")}
		// Someone else's comment holding the marker (a pasted copy of
		// ours, another bot's): the forge refuses to let us edit it.
		pasted := f.newComment("as the bot said:\n<!-- kubectl-gitops diff -->\nall fine")
		pasted["_owner"] = "someone-else"
		f.comments = append(f.comments, pasted)
		if f.kind == GitLab {
			f.comments = append(f.comments, map[string]any{"id": 2, "body": "added 1 commit", "system": true})
		}
	}
	switch {
	case r.Method == "GET" && path == list:
		// Pages of one, to exercise paging.
		page, _ := strconv.Atoi(r.URL.Query().Get("page"))
		if page < 1 {
			page = 1
		}
		if page < len(f.comments) {
			w.Header().Set("Link", fmt.Sprintf(`<http://%s%s?page=%d>; rel="next"`, r.Host, path, page+1))
			w.Header().Set("X-Next-Page", strconv.Itoa(page+1))
		}
		out := []map[string]any{}
		if page <= len(f.comments) {
			out = append(out, f.comments[page-1])
		}
		reply(w, 200, out)
	case r.Method == "POST" && path == list:
		c := f.newComment(b["body"].(string))
		f.comments = append(f.comments, c)
		reply(w, 201, c)
	case (r.Method == "PATCH" || r.Method == "PUT") && strings.HasPrefix(path, item):
		id, _ := strconv.Atoi(strings.TrimPrefix(path, item))
		for _, c := range f.comments {
			if c["id"] == id && c["_owner"] == "someone-else" {
				reply(w, 403, map[string]any{"message": "Must have admin rights to Repository."})
				return true
			}
			if c["id"] == id {
				c["body"] = b["body"]
				reply(w, 200, c)
				return true
			}
		}
		reply(w, 404, map[string]any{"message": "Not Found"})
	default:
		return false
	}
	return true
}

func (f *fakeForge) newComment(body string) map[string]any {
	id := 100 + len(f.comments)
	return map[string]any{"id": id, "body": body, "html_url": fmt.Sprintf("https://forge.example.com/acme/fleet/pull/1#issuecomment-%d", id)}
}

// TestReplayUpsertComment: the first call posts a comment, the second
// edits the one holding the marker (found on a later page), never someone
// else's (a marked comment the forge refuses to let us edit is passed
// over), and the comment count stays at one of ours beside the pasted one.
func TestReplayUpsertComment(t *testing.T) {
	const marker = "<!-- kubectl-gitops diff -->"
	for _, kind := range []Kind{GitHub, GitLab} {
		t.Run(string(kind), func(t *testing.T) {
			fake, srv := newFakeForge(t, kind)
			f := replayClient(t, kind, srv, replayToken).(Commenter)
			ctx := context.Background()
			c, created, err := f.UpsertComment(ctx, 1, marker, marker+"\nfirst")
			if err != nil || !created {
				t.Fatalf("first: %+v, %v, %v\n%s", c, created, err, fake.requests())
			}
			c2, created, err := f.UpsertComment(ctx, 1, marker, marker+"\nsecond")
			if err != nil || created || c2.ID != c.ID || c2.Body != marker+"\nsecond" {
				t.Fatalf("second: %+v, %v, %v\n%s", c2, created, err, fake.requests())
			}
			ours := 0
			for _, x := range fake.comments {
				if strings.Contains(fmt.Sprint(x["body"]), marker) {
					ours++
				}
			}
			if ours != 2 || fake.comments[0]["body"] != "LGTM, but wait for the diff" || !strings.HasSuffix(fmt.Sprint(fake.comments[1]["body"]), "all fine") {
				t.Errorf("comments: %v", fake.comments)
			}
			edit := map[Kind]string{GitHub: "PATCH /api/v3/repos/acme/fleet/issues/comments/", GitLab: "PUT /api/v4/projects/platform%2Fapps%2Ffleet/merge_requests/1/notes/"}[kind]
			if !strings.Contains(fake.requests(), edit+itoa(c.ID)) {
				t.Errorf("no %s%d in:\n%s", edit, c.ID, fake.requests())
			}
			if strings.Contains(c.URL, replayToken) {
				t.Error("the URL shows the token")
			}
		})
	}
}
