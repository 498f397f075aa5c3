package trace

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxstatus"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
)

// gitProcesses counts the git processes started since the log was last
// read, from git's own trace2 event log (GIT_TRACE2_EVENT): real git, each
// process writing one "start" event.
type gitProcesses struct {
	t    *testing.T
	path string
	seen int
}

func countGitProcesses(t *testing.T) *gitProcesses {
	p := filepath.Join(t.TempDir(), "trace2.json")
	t.Setenv("GIT_TRACE2_EVENT", p)
	return &gitProcesses{t: t, path: p}
}

func (g *gitProcesses) since() int {
	b, err := os.ReadFile(g.path)
	if err != nil && !os.IsNotExist(err) {
		g.t.Fatal(err)
	}
	n := strings.Count(string(b), `"event":"start"`)
	d := n - g.seen
	g.seen = n
	return d
}

// TestRelatingTheCommitToItselfRunsNoGit: once a release runs the traced
// commit, the usual case, saying so takes no git process for its full SHA
// and one (to expand it) for a 12-hex prefix, where it took two each.
func TestRelatingTheCommitToItselfRunsNoGit(t *testing.T) {
	ctx := context.Background()
	r := newAppRepo(t)
	repo, err := gitrepo.Open(ctx, r.dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := repo.ResolveCommit(ctx, r.C)
	if err != nil {
		t.Fatal(err)
	}
	fc := newFactCache(repo, c, nil)
	git := countGitProcesses(t)
	if _, err := fc.facts(ctx, r.C, fluxstatus.Questions{}); err != nil {
		t.Fatal(err)
	}
	if n := git.since(); n == 0 {
		t.Fatal("GIT_TRACE2_EVENT logged no git process for the commit's own facts; the count below would prove nothing")
	}
	for _, tc := range []struct {
		rev  string
		want int
	}{{r.C, 0}, {r.C[:12], 1}} {
		f, err := fc.facts(ctx, r.C, fluxstatus.Questions{Revisions: []string{tc.rev}})
		if err != nil {
			t.Fatal(err)
		}
		if n := git.since(); n != tc.want {
			t.Errorf("relating %s to itself ran %d git processes, want %d", tc.rev, n, tc.want)
		}
		if got := f.Relations[tc.rev]; got != fluxstatus.Same {
			t.Errorf("relation of %s = %v, want Same", tc.rev, got)
		}
		if got := f.Subjects[r.C]; got != "nginx 1.22" {
			t.Errorf("subject of %s = %q, want %q", r.C, got, "nginx 1.22")
		}
	}
}
