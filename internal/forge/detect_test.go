package forge

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDetect(t *testing.T) {
	for _, tc := range []struct {
		remote string
		o      DetectOptions
		want   Repo
		err    string
	}{
		{remote: "https://github.com/acme/fleet.git", want: Repo{GitHub, "https://github.com", "acme", "fleet"}},
		{remote: "git@github.com:acme/fleet.git", want: Repo{GitHub, "https://github.com", "acme", "fleet"}},
		{remote: "https://token:x@github.example.com/acme/fleet", want: Repo{GitHub, "https://github.example.com", "acme", "fleet"}},
		{remote: "https://gitlab.com/group/sub/fleet.git", want: Repo{GitLab, "https://gitlab.com", "group/sub", "fleet"}},
		{remote: "ssh://git@gitlab.example.com:2222/platform/fleet.git", want: Repo{GitLab, "https://gitlab.example.com", "platform", "fleet"}},
		{remote: "https://codeberg.org/acme/fleet.git", want: Repo{Gitea, "https://codeberg.org", "acme", "fleet"}},
		{remote: "http://forgejo.lan:3000/acme/fleet.git", want: Repo{Gitea, "http://forgejo.lan:3000", "acme", "fleet"}},
		// --forge wins over the name; --forge-url sets the web root and strips its sub-path.
		{remote: "https://git.example.com/acme/fleet.git", o: DetectOptions{Kind: GitLab}, want: Repo{GitLab, "https://git.example.com", "acme", "fleet"}},
		{remote: "git@git.example.com:acme/fleet.git", o: DetectOptions{Kind: Gitea, URL: "http://git.example.com:3000/gitea/"},
			want: Repo{Gitea, "http://git.example.com:3000/gitea", "acme", "fleet"}},
		{remote: "https://git.example.com/gitea/acme/fleet.git", o: DetectOptions{Kind: Gitea, URL: "https://git.example.com/gitea"},
			want: Repo{Gitea, "https://git.example.com/gitea", "acme", "fleet"}},
		{remote: "https://github.com/acme/fleet.git", o: DetectOptions{URL: "http://127.0.0.1:8080"}, want: Repo{GitHub, "http://127.0.0.1:8080", "acme", "fleet"}},
		{remote: "/srv/git/fleet.git", err: "local path"},
		{remote: "https://github.com/fleet", err: "owner/name"},
		{remote: "https://git.example.com/acme/fleet.git", err: "pass --forge"},
		{remote: "https://github.com/a/b/c.git", err: "not a/b/c"},
		{remote: "https://github.com/acme/fleet.git", o: DetectOptions{URL: "ftp://x"}, err: "not an http(s) URL"},
	} {
		got, err := Detect(context.Background(), tc.remote, tc.o)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Detect(%q, %+v) = %+v, %v; want error containing %q", tc.remote, tc.o, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Detect(%q, %+v) = %+v, %v; want %+v", tc.remote, tc.o, got, err, tc.want)
		}
	}
}

// TestDetectProbes: a host whose name says nothing is asked which API it
// serves, the way each forge documents its version endpoint.
func TestDetectProbes(t *testing.T) {
	for _, tc := range []struct {
		path, body string
		status     int
		want       Kind
	}{
		{"/api/v1/version", `{"version":"1.26.0"}`, 200, Gitea},
		{"/api/v4/version", `{"message":"401 Unauthorized"}`, 401, GitLab},
		{"/api/v3/meta", `{"verifiable_password_authentication":true}`, 200, GitHub},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != tc.path {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(tc.status)
			_, _ = w.Write([]byte(tc.body))
		}))
		got, err := Detect(context.Background(), srv.URL+"/acme/fleet.git", DetectOptions{HTTPClient: srv.Client()})
		srv.Close()
		if err != nil || got.Kind != tc.want {
			t.Errorf("probe answering %s: %+v, %v; want %s", tc.path, got, err, tc.want)
		}
	}
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	if _, err := Detect(context.Background(), srv.URL+"/acme/fleet.git", DetectOptions{HTTPClient: srv.Client()}); !errors.Is(err, ErrUnknownForge) {
		t.Errorf("a server that answers nothing: %v, want ErrUnknownForge", err)
	}
}

func TestParseKind(t *testing.T) {
	for in, want := range map[string]Kind{"github": GitHub, "GitLab": GitLab, "gitea": Gitea, "forgejo": Gitea, "codeberg": Gitea} {
		if got, err := ParseKind(in); err != nil || got != want {
			t.Errorf("ParseKind(%q) = %s, %v", in, got, err)
		}
	}
	if _, err := ParseKind("bitbucket"); err == nil {
		t.Error("ParseKind(bitbucket) accepted")
	}
}

func TestFindToken(t *testing.T) {
	home := t.TempDir()
	write := func(rel, data string) {
		p := filepath.Join(home, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(".config/gh/hosts.yml", "github.com:\n    user: octo\n    oauth_token: gho_fromfile\n    git_protocol: https\nghe.example.com:\n    oauth_token: ghe_fromfile\n")
	write(".config/glab-cli/config.yml", "git_protocol: ssh\nhosts:\n    gitlab.example.com:\n        token: glpat-fromfile\n        api_protocol: https\n")
	write(".config/tea/config.yml", "logins:\n  - name: home\n    url: http://127.0.0.1:3000\n    token: tea-fromfile\n")
	env := map[string]string{"HOME": home}
	getenv := func(k string) string { return env[k] }

	gh := Repo{Kind: GitHub, WebURL: "https://github.com", Owner: "a", Name: "b"}
	ghe := Repo{Kind: GitHub, WebURL: "https://ghe.example.com", Owner: "a", Name: "b"}
	gl := Repo{Kind: GitLab, WebURL: "https://gitlab.example.com", Owner: "a", Name: "b"}
	gt := Repo{Kind: Gitea, WebURL: "http://127.0.0.1:3000", Owner: "a", Name: "b"}
	other := Repo{Kind: Gitea, WebURL: "http://127.0.0.1:4000", Owner: "a", Name: "b"}

	check := func(r Repo, wantValue, wantSource string) {
		t.Helper()
		tok, err := FindToken(r, getenv)
		if wantValue == "" {
			if !errors.Is(err, ErrNoToken) {
				t.Errorf("%s: got %v, %v; want ErrNoToken", r.WebURL, tok, err)
			}
			return
		}
		if err != nil || tok.Value != wantValue || !strings.Contains(tok.Source, wantSource) {
			t.Errorf("%s: got %q from %q, %v; want %q from %q", r.WebURL, tok.Value, tok.Source, err, wantValue, wantSource)
		}
	}
	check(gh, "gho_fromfile", "gh/hosts.yml")
	check(ghe, "ghe_fromfile", "gh/hosts.yml")
	check(gl, "glpat-fromfile", "glab-cli/config.yml")
	check(gt, "tea-fromfile", "tea/config.yml")
	check(other, "", "")

	env["GITHUB_TOKEN"] = "env-github"
	check(gh, "env-github", "$GITHUB_TOKEN")
	env["GH_TOKEN"] = "env-gh"
	check(gh, "env-gh", "$GH_TOKEN")
	env["GH_ENTERPRISE_TOKEN"] = "env-ghe"
	check(ghe, "env-ghe", "$GH_ENTERPRISE_TOKEN")
	check(gh, "env-gh", "$GH_TOKEN")
	env["GITLAB_TOKEN"] = "env-gitlab"
	check(gl, "env-gitlab", "$GITLAB_TOKEN")
	env["GITEA_TOKEN"] = "env-gitea"
	check(other, "env-gitea", "$GITEA_TOKEN")

	// GH_CONFIG_DIR and XDG_CONFIG_HOME move the files, as they do for the CLIs.
	env = map[string]string{"HOME": t.TempDir(), "GH_CONFIG_DIR": filepath.Join(home, ".config", "gh"), "XDG_CONFIG_HOME": filepath.Join(home, ".config")}
	check(gh, "gho_fromfile", "hosts.yml")
	check(gl, "glpat-fromfile", "config.yml")

	// The message says where a token goes and never prints one.
	_, err := FindToken(Repo{Kind: Gitea, WebURL: "https://gitea.example.com"}, func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "GITEA_TOKEN") {
		t.Errorf("no token: %v", err)
	}
	if s := (Token{Value: "secret", Source: "$X"}).String(); strings.Contains(s, "secret") {
		t.Errorf("Token.String shows the value: %s", s)
	}
}
