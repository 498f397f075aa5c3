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
