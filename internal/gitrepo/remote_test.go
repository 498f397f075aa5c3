package gitrepo

import (
	"context"
	"testing"
)

func TestNormalizeURL(t *testing.T) {
	same := []string{
		"https://github.com/example/sample-app-helm-chart.git",
		"https://github.com/example/sample-app-helm-chart",
		"https://github.com/example/sample-app-helm-chart/",
		"https://user:token@GitHub.com/example/sample-app-helm-chart.git",
		"https://github.com:443/example/sample-app-helm-chart.git",
		"ssh://git@github.com/example/sample-app-helm-chart.git",
		"ssh://git@github.com:22/example/sample-app-helm-chart",
		"git@github.com:example/sample-app-helm-chart.git",
		"github.com:example/sample-app-helm-chart",
		"http://github.com/example/sample-app-helm-chart.git/",
	}
	for _, u := range same {
		if !SameRepository(same[0], u) {
			t.Errorf("%s and %s should match (%s vs %s)", same[0], u, NormalizeURL(same[0]), NormalizeURL(u))
		}
	}
	different := []string{
		"https://github.com/example/other.git",
		"https://gitlab.com/example/sample-app-helm-chart.git",
		"https://github.com:8443/example/sample-app-helm-chart.git",
		"https://github.com/example2/sample-app-helm-chart.git",
		"",
	}
	for _, u := range different {
		if SameRepository(same[0], u) {
			t.Errorf("%s and %s should not match", same[0], u)
		}
	}
	if !SameRepository("http://127.0.0.1:8080/git/app.git", "http://127.0.0.1:8080/git/app") {
		t.Error("loopback URLs with a port should match")
	}
	if !SameRepository("/srv/git/app.git", "file:///srv/git/app.git/") {
		t.Error("local path and file URL should match")
	}
}

func TestRemotes(t *testing.T) {
	ctx := context.Background()
	tr := newTestRepo(t)
	rs, err := tr.r.Remotes(ctx)
	if err != nil || len(rs) != 1 || rs[0].Name != "origin" || rs[0].URL != tr.bare {
		t.Fatalf("Remotes = %+v, %v", rs, err)
	}
	tr.run(tr.dir, "remote", "add", "upstream", "git@github.com:example/app.git")
	rs, _ = tr.r.Remotes(ctx)
	if len(rs) != 2 || rs[1].Name != "upstream" || rs[1].URL != "git@github.com:example/app.git" {
		t.Fatalf("Remotes = %+v", rs)
	}
	tr.run(tr.dir, "remote", "remove", "origin")
	tr.run(tr.dir, "remote", "remove", "upstream")
	if rs, err := tr.r.Remotes(ctx); err != nil || len(rs) != 0 {
		t.Fatalf("no remotes: %+v, %v", rs, err)
	}
}

func TestRequestURL(t *testing.T) {
	tests := []struct {
		remote, want string
	}{
		{"https://github.com/acme/fleet.git", "https://github.com/acme/fleet/compare/main...promote/sample-app-0.1.3?expand=1"},
		{"git@github.com:acme/fleet.git", "https://github.com/acme/fleet/compare/main...promote/sample-app-0.1.3?expand=1"},
		{"ssh://git@github.com/acme/fleet", "https://github.com/acme/fleet/compare/main...promote/sample-app-0.1.3?expand=1"},
		{"https://gitlab.com/acme/platform/fleet.git", "https://gitlab.com/acme/platform/fleet/-/merge_requests/new?merge_request%5Bsource_branch%5D=promote%2Fsample-app-0.1.3&merge_request%5Btarget_branch%5D=main"},
		{"git@gitlab.example.com:acme/fleet.git", "https://gitlab.example.com/acme/fleet/-/merge_requests/new?merge_request%5Bsource_branch%5D=promote%2Fsample-app-0.1.3&merge_request%5Btarget_branch%5D=main"},
		{"https://gitea.example.com/acme/fleet.git", "https://gitea.example.com/acme/fleet/compare/main...promote/sample-app-0.1.3"},
		{"ssh://git@codeberg.org:2222/acme/fleet.git", "https://codeberg.org/acme/fleet/compare/main...promote/sample-app-0.1.3"},
		{"https://user:token@github.com/acme/fleet", "https://github.com/acme/fleet/compare/main...promote/sample-app-0.1.3?expand=1"},
		{"/srv/git/fleet.git", ""},
		{"../fleet.git", ""},
		{"file:///srv/git/fleet.git", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := RequestURL(tt.remote, "main", "promote/sample-app-0.1.3"); got != tt.want {
			t.Errorf("RequestURL(%q)\n got %q\nwant %q", tt.remote, got, tt.want)
		}
	}
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct{ in, scheme, host, path string }{
		{"https://github.com/acme/fleet.git", "https", "github.com", "/acme/fleet"},
		{"https://user:secret@GitLab.example.com:443/group/sub/fleet/", "https", "gitlab.example.com", "/group/sub/fleet"},
		{"http://127.0.0.1:3000/acme/fleet.git", "http", "127.0.0.1:3000", "/acme/fleet"},
		{"ssh://git@gitea.example.com:2222/acme/fleet.git", "ssh", "gitea.example.com:2222", "/acme/fleet"},
		{"git@github.com:acme/fleet.git", "", "github.com", "/acme/fleet"},
		{"/srv/git/fleet.git", "", "", "/srv/git/fleet"},
		{"file:///srv/git/fleet.git", "file", "", "/srv/git/fleet"},
	} {
		got := ParseURL(tc.in)
		if got.Scheme != tc.scheme || got.Host != tc.host || got.Path != tc.path {
			t.Errorf("ParseURL(%q) = %+v, want {%s %s %s}", tc.in, got, tc.scheme, tc.host, tc.path)
		}
	}
}
