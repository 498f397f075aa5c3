package trace

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/types"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cachedir"
	"github.com/kubectl-gitops/kubectl-gitops/internal/commitcache"
	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxstatus"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
)

// A second trace of the same commit takes what the commit changed and the
// releases it reaches from the commit cache: one git process (is it
// pushed?) instead of the diff, the export of the tree and the model.
func TestCommitFactsCachedAcrossRuns(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "gitops")
	git(t, filepath.Dir(dir), nil, "init", "-q", "-b", "main", dir)
	hr := "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: sample-app\n  namespace: apps\nspec:\n  chart:\n    spec:\n      chart: ./charts/sample-app\n      sourceRef:\n        kind: GitRepository\n        name: app\n  values:\n    replicaCount: %d\n"
	write := func(replicas int) {
		if err := os.MkdirAll(filepath.Join(dir, "helmrelease"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "helmrelease", "sample-app.yaml"), []byte(fmt.Sprintf(hr, replicas)), 0o644); err != nil {
			t.Fatal(err)
		}
		git(t, dir, nil, "add", "-A")
		git(t, dir, nil, "commit", "-q", "-m", fmt.Sprintf("replicas %d", replicas))
	}
	write(2)
	write(5)
	repo, err := gitrepo.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := repo.ResolveCommit(ctx, "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	root, err := cachedir.Root(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	store, err := commitcache.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	gitRuns := countGitProcesses(t)
	first, err := newFactCache(repo, c, store).facts(ctx, "HEAD", fluxstatus.Questions{})
	if err != nil {
		t.Fatal(err)
	}
	cold := gitRuns.since()
	want := []types.NamespacedName{{Namespace: "apps", Name: "sample-app"}}
	if !reflect.DeepEqual(first.HelmReleases, want) || !reflect.DeepEqual(first.Paths, []string{"helmrelease/sample-app.yaml"}) {
		t.Fatalf("first run: paths %v, releases %v; want the HelmRelease file and %v", first.Paths, first.HelmReleases, want)
	}
	second, err := newFactCache(repo, c, store).facts(ctx, "HEAD", fluxstatus.Questions{})
	if err != nil {
		t.Fatal(err)
	}
	warm := gitRuns.since()
	if warm != 1 || cold <= warm {
		t.Errorf("git processes: %d on the first run, %d on the second; want the second to run only the pushed check (1)", cold, warm)
	}
	if !reflect.DeepEqual(second.Paths, first.Paths) || !reflect.DeepEqual(second.HelmReleases, first.HelmReleases) {
		t.Errorf("cached facts differ: paths %v vs %v, releases %v vs %v", second.Paths, first.Paths, second.HelmReleases, first.HelmReleases)
	}
	// Another commit is not answered from this one's entry.
	parent, err := repo.ResolveCommit(ctx, "HEAD~1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newFactCache(repo, parent, store).facts(ctx, "HEAD~1", fluxstatus.Questions{}); err != nil {
		t.Fatal(err)
	}
	if n := gitRuns.since(); n <= 1 {
		t.Errorf("the parent commit ran %d git processes: answered from the other commit's entry", n)
	}
}

// TestMain gives the package's runs a commit cache of their own, so that a
// test neither reads the user's entries nor leaves its own there.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "trace-test-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("XDG_CACHE_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
