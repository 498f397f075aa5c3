package forge

// GitHub and GitLab are not run live here: these tests replay the request
// and response shapes of their documented REST APIs
// (docs.github.com/rest/pulls, docs.gitlab.com/api/merge_requests) with
// httptest servers that keep the requests in memory. Gitea is tested
// against a real server in test/forge.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

const replayToken = "tok-3f9c2d1e-never-shown"

// fakeForge is an in-memory forge answering one API's documented shapes.
type fakeForge struct {
	t    *testing.T
	kind Kind
	mu   sync.Mutex
	prs  []map[string]any
	// log is "METHOD path" of every request, in order.
	log []string
	// fail makes the next request whose "METHOD path" has this prefix
	// answer with status, headers and body.
	fail struct {
		prefix  string
		status  int
		headers map[string]string
		body    string
	}
	// bodies are the decoded JSON request bodies, by "METHOD path".
	bodies map[string]any
	// comments are the comments (notes) on requests (comment_replay_test.go).
	comments []map[string]any
}

func newFakeForge(t *testing.T, kind Kind) (*fakeForge, *httptest.Server) {
	f := &fakeForge{t: t, kind: kind, bodies: map[string]any{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeForge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	path := r.URL.EscapedPath()
	key := r.Method + " " + path
	f.log = append(f.log, key)
	var body any
	if data, _ := io.ReadAll(r.Body); len(data) > 0 {
		if err := json.Unmarshal(data, &body); err != nil {
			f.t.Errorf("%s: body is not JSON: %s", key, data)
		}
		f.bodies[key] = body
	}
	w.Header().Set("Content-Type", "application/json")
	if !f.authorized(r) {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, map[Kind]string{GitHub: `{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest"}`, GitLab: `{"message":"401 Unauthorized"}`}[f.kind])
		return
	}
	if f.fail.prefix != "" && strings.HasPrefix(key, f.fail.prefix) {
		for k, v := range f.fail.headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(f.fail.status)
		fmt.Fprint(w, f.fail.body)
		f.fail.prefix = ""
		return
	}
	if f.comment(w, r, path, body) {
		return
	}
	if f.kind == GitHub {
		f.github(w, r, path, body)
	} else {
		f.gitlab(w, r, path, body)
	}
}

func (f *fakeForge) authorized(r *http.Request) bool {
	switch f.kind {
	case GitHub:
		return r.Header.Get("Authorization") == "Bearer "+replayToken
	case GitLab:
		return r.Header.Get("PRIVATE-TOKEN") == replayToken
	}
	return false
}

func reply(w http.ResponseWriter, status int, v any) {
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// github answers /api/v3 (GitHub Enterprise Server's prefix; github.com's
// api host has the same paths without it).
func (f *fakeForge) github(w http.ResponseWriter, r *http.Request, path string, body any) {
	const repo = "/api/v3/repos/acme/fleet"
	b, _ := body.(map[string]any)
	switch {
	case r.Method == "GET" && path == repo:
		reply(w, 200, map[string]any{"id": 1, "full_name": "acme/fleet", "default_branch": "main"})
	case r.Method == "GET" && path == repo+"/pulls":
		q := r.URL.Query()
		if q.Get("state") != "open" {
			f.t.Errorf("list pulls: state=%q", q.Get("state"))
		}
		out := []map[string]any{}
		for _, pr := range f.prs {
			head := "acme:" + pr["head"].(map[string]any)["ref"].(string)
			if (q.Get("head") == "" || q.Get("head") == head) && (q.Get("base") == "" || q.Get("base") == pr["base"].(map[string]any)["ref"]) {
				out = append(out, pr)
			}
		}
		reply(w, 200, out)
	case r.Method == "POST" && path == repo+"/pulls":
		n := len(f.prs) + 1
		pr := map[string]any{
			"number": n, "html_url": fmt.Sprintf("https://github.example.com/acme/fleet/pull/%d", n), "state": "open",
			"title": b["title"], "body": b["body"], "draft": b["draft"],
			"head": map[string]any{"ref": b["head"]}, "base": map[string]any{"ref": b["base"]},
		}
		f.prs = append(f.prs, pr)
		reply(w, 201, pr)
	case r.Method == "PATCH" && strings.HasPrefix(path, repo+"/pulls/"):
		pr := f.pr(strings.TrimPrefix(path, repo+"/pulls/"))
		for _, k := range []string{"title", "body"} {
			if v, ok := b[k]; ok {
				pr[k] = v
			}
		}
		reply(w, 200, pr)
	case r.Method == "POST" && strings.HasPrefix(path, repo+"/issues/") && strings.HasSuffix(path, "/labels"):
		reply(w, 200, []map[string]any{{"name": "promotion"}})
	case r.Method == "POST" && strings.HasSuffix(path, "/requested_reviewers"):
		pr := f.pr(strings.TrimSuffix(strings.TrimPrefix(path, repo+"/pulls/"), "/requested_reviewers"))
		reply(w, 201, pr)
	default:
		reply(w, 404, map[string]any{"message": "Not Found"})
	}
}

// gitlab answers /api/v4 with the project named by its URL-encoded path.
func (f *fakeForge) gitlab(w http.ResponseWriter, r *http.Request, path string, body any) {
	const project = "/api/v4/projects/platform%2Fapps%2Ffleet"
	b, _ := body.(map[string]any)
	switch {
	case r.Method == "GET" && path == project:
		reply(w, 200, map[string]any{"id": 42, "path_with_namespace": "platform/apps/fleet"})
	case r.Method == "GET" && path == "/api/v4/users":
		if u := r.URL.Query().Get("username"); u == "alice" {
			reply(w, 200, []map[string]any{{"id": 7, "username": "alice"}})
		} else {
			reply(w, 200, []map[string]any{})
		}
	case r.Method == "GET" && path == project+"/merge_requests":
		q := r.URL.Query()
		if q.Get("state") != "opened" {
			f.t.Errorf("list merge requests: state=%q", q.Get("state"))
		}
		out := []map[string]any{}
		for _, mr := range f.prs {
			if (q.Get("source_branch") == "" || q.Get("source_branch") == mr["source_branch"]) && (q.Get("target_branch") == "" || q.Get("target_branch") == mr["target_branch"]) {
				out = append(out, mr)
			}
		}
		reply(w, 200, out)
	case r.Method == "POST" && path == project+"/merge_requests":
		n := len(f.prs) + 1
		title, _ := b["title"].(string)
		mr := map[string]any{
			"id": 1000 + n, "iid": n, "web_url": fmt.Sprintf("https://gitlab.example.com/platform/apps/fleet/-/merge_requests/%d", n),
			"state": "opened", "title": title, "description": b["description"], "draft": strings.HasPrefix(title, "Draft:"),
			"source_branch": b["source_branch"], "target_branch": b["target_branch"], "labels": strings.Split(fmt.Sprint(b["labels"]), ","),
			"reviewers": users(b["reviewer_ids"]),
		}
		f.prs = append(f.prs, mr)
		reply(w, 201, mr)
	case r.Method == "PUT" && strings.HasPrefix(path, project+"/merge_requests/"):
		mr := f.pr(strings.TrimPrefix(path, project+"/merge_requests/"))
		for _, k := range []string{"title", "description"} {
			if v, ok := b[k]; ok {
				mr[k] = v
			}
		}
		if ids, ok := b["reviewer_ids"]; ok {
			mr["reviewers"] = users(ids)
		}
		reply(w, 200, mr)
	default:
		reply(w, 404, map[string]any{"message": "404 Not Found"})
	}
}

func users(ids any) []map[string]any {
	out := []map[string]any{}
	list, _ := ids.([]any)
	for _, id := range list {
		out = append(out, map[string]any{"id": id})
	}
	return out
}

func (f *fakeForge) pr(num string) map[string]any {
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || n > len(f.prs) {
		f.t.Fatalf("no request %q", num)
	}
	return f.prs[n-1]
}

func (f *fakeForge) requests() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.log, "\n")
}

func replayClient(t *testing.T, kind Kind, srv *httptest.Server, token string) Forge {
	t.Helper()
	repo := Repo{Kind: kind, WebURL: srv.URL, Owner: "acme", Name: "fleet"}
	if kind == GitLab {
		repo.Owner = "platform/apps"
	}
	f, err := New(repo, token, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestReplayEnsure: open, then update the same request; labels, reviewers
// and draft as each API documents them.
func TestReplayEnsure(t *testing.T) {
	for _, kind := range []Kind{GitHub, GitLab} {
		t.Run(string(kind), func(t *testing.T) {
			fake, srv := newFakeForge(t, kind)
			f := replayClient(t, kind, srv, replayToken)
			ctx := context.Background()
			if err := f.Check(ctx); err != nil {
				t.Fatal(err)
			}
			spec := Spec{Head: "promote/production/sample-app", Base: "main", Title: "Promote sample-app", Body: "first",
				Labels: []string{"promotion"}, Reviewers: []string{"alice"}, Draft: true}
			pr, created, err := f.Ensure(ctx, spec)
			if err != nil || !created || pr.Number != 1 || pr.Head != spec.Head || pr.Base != "main" || !pr.Draft {
				t.Fatalf("first Ensure = %+v, %v, %v\n%s", pr, created, err, fake.requests())
			}
			spec.Body, spec.Title = "second", "Promote sample-app again"
			pr, created, err = f.Ensure(ctx, spec)
			if err != nil || created || pr.Number != 1 || pr.Body != "second" {
				t.Fatalf("second Ensure = %+v, %v, %v\n%s", pr, created, err, fake.requests())
			}
			open, err := f.ListOpen(ctx, "main")
			if err != nil || len(open) != 1 || open[0].Number != 1 {
				t.Fatalf("ListOpen = %+v, %v", open, err)
			}
			var want []string
			switch kind {
			case GitHub:
				want = []string{
					"GET /api/v3/repos/acme/fleet",
					"GET /api/v3/repos/acme/fleet/pulls", "POST /api/v3/repos/acme/fleet/pulls",
					"POST /api/v3/repos/acme/fleet/issues/1/labels", "POST /api/v3/repos/acme/fleet/pulls/1/requested_reviewers",
					"GET /api/v3/repos/acme/fleet/pulls", "PATCH /api/v3/repos/acme/fleet/pulls/1",
					"POST /api/v3/repos/acme/fleet/issues/1/labels", "POST /api/v3/repos/acme/fleet/pulls/1/requested_reviewers",
					"GET /api/v3/repos/acme/fleet/pulls",
				}
				if got := fake.bodies["POST /api/v3/repos/acme/fleet/pulls"].(map[string]any); got["draft"] != true || got["head"] != spec.Head {
					t.Errorf("create body %v", got)
				}
				if got := fmt.Sprint(fake.bodies["POST /api/v3/repos/acme/fleet/pulls/1/requested_reviewers"]); !strings.Contains(got, "alice") {
					t.Errorf("reviewers body %v", got)
				}
			case GitLab:
				p := "/api/v4/projects/platform%2Fapps%2Ffleet"
				want = []string{
					"GET " + p,
					"GET /api/v4/users", "GET " + p + "/merge_requests", "POST " + p + "/merge_requests",
					"GET /api/v4/users", "GET " + p + "/merge_requests", "PUT " + p + "/merge_requests/1",
					"GET " + p + "/merge_requests",
				}
				create := fake.bodies["POST "+p+"/merge_requests"].(map[string]any)
				if create["title"] != "Draft: Promote sample-app" || fmt.Sprint(create["reviewer_ids"]) != "[7]" || fmt.Sprint(create["labels"]) != "promotion" {
					t.Errorf("create body %v", create)
				}
				update := fake.bodies["PUT "+p+"/merge_requests/1"].(map[string]any)
				if update["title"] != "Draft: Promote sample-app again" || update["add_labels"] != "promotion" {
					t.Errorf("update body %v (a draft stays a draft; labels are added)", update)
				}
			}
			if got := fake.requests(); got != strings.Join(want, "\n") {
				t.Errorf("requests:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
			}
		})
	}
}

// TestReplayErrors: each refusal becomes an error that says what to do,
// and none shows the token.
func TestReplayErrors(t *testing.T) {
	type failure struct {
		status  int
		headers map[string]string
		body    string
		want    []string
	}
	for _, kind := range []Kind{GitHub, GitLab} {
		create := map[Kind]string{GitHub: "POST /api/v3/repos/acme/fleet/pulls", GitLab: "POST /api/v4/projects/platform%2Fapps%2Ffleet/merge_requests"}[kind]
		cases := map[string]failure{
			"403": {403, nil, `{"message":"Resource not accessible by integration"}`, []string{"HTTP 403", "not accessible", "write access"}},
			"404": {404, nil, `{"message":"Not Found"}`, []string{"HTTP 404", "was not found", "private repository"}},
			"422": {422, nil, `{"message":"Validation Failed","errors":[{"resource":"PullRequest","code":"custom","message":"No commits between main and promote/production/sample-app"}]}`,
				[]string{"HTTP 422", "refused", "base branch exists"}},
			"rate limit": {429, map[string]string{"Retry-After": "60"}, `{"message":"Too Many Requests"}`, []string{"rate limit", "wait and run again"}},
		}
		if kind == GitHub {
			cases["422"].want[1] = "No commits between main"
			cases["rate limit 403"] = failure{403, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Limit": "5000", "X-RateLimit-Reset": "1900000000"},
				`{"message":"API rate limit exceeded"}`, []string{"rate limit", "until 2030-03-17"}}
		} else {
			cases["409"] = failure{409, nil, `{"message":["Another open merge request already exists for this source branch: !3"]}`, []string{"HTTP 409", "Another open merge request"}}
		}
		for name, c := range cases {
			t.Run(string(kind)+"/"+name, func(t *testing.T) {
				fake, srv := newFakeForge(t, kind)
				f := replayClient(t, kind, srv, replayToken)
				fake.fail.prefix, fake.fail.status, fake.fail.headers, fake.fail.body = create, c.status, c.headers, c.body
				_, _, err := f.Ensure(context.Background(), Spec{Head: "promote/production/sample-app", Base: "main", Title: "t", Body: "b"})
				var ae *APIError
				if !errors.As(err, &ae) {
					t.Fatalf("err = %v, want an APIError\n%s", err, fake.requests())
				}
				for _, w := range c.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error lacks %q:\n%v", w, err)
					}
				}
				if strings.Contains(name, "rate") != errors.Is(err, ErrRateLimited) {
					t.Errorf("errors.Is(err, ErrRateLimited) = %v for %s", errors.Is(err, ErrRateLimited), name)
				}
				if strings.Contains(err.Error(), replayToken) {
					t.Errorf("error shows the token: %v", err)
				}
			})
		}
		t.Run(string(kind)+"/401", func(t *testing.T) {
			_, srv := newFakeForge(t, kind)
			err := replayClient(t, kind, srv, "wrong-"+replayToken).Check(context.Background())
			if err == nil || !strings.Contains(err.Error(), "HTTP 401") || !strings.Contains(err.Error(), "token was refused") ||
				!strings.Contains(err.Error(), map[Kind]string{GitHub: "GH_ENTERPRISE_TOKEN", GitLab: "GITLAB_TOKEN"}[kind]) {
				t.Errorf("401: %v", err)
			}
			if strings.Contains(err.Error(), replayToken) {
				t.Errorf("error shows the token: %v", err)
			}
		})
	}
}
