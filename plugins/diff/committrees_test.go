package diff

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
)

// TestCommitTrees: diff reads both sides from git's objects, so whatever
// the checkout holds beyond its commit (an edit, a staged or untracked
// file, an ignored file the model could read from a folder without
// kustomization.yaml) never reaches the diff, and nothing is checked out
// or written: no worktree, no folder at the trees' roots.
func TestCommitTrees(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, work string, env []string)
	}{
		{name: "clean"},
		{name: "edited file", change: func(t *testing.T, work string, env []string) {
			binarytest.WriteFile(t, work, "apps/podinfo.yaml", "kind: HelmRelease # edited\n")
		}},
		{name: "staged file", change: func(t *testing.T, work string, env []string) {
			binarytest.WriteFile(t, work, "apps/podinfo.yaml", "kind: HelmRelease # staged\n")
			binarytest.Git(t, env, work, "add", "apps/podinfo.yaml")
		}},
		{name: "untracked file", change: func(t *testing.T, work string, env []string) {
			binarytest.WriteFile(t, work, "apps/new/extra.yaml", "kind: HelmRelease\n")
		}},
		{name: "ignored file", change: func(t *testing.T, work string, env []string) {
			binarytest.WriteFile(t, work, "apps/local.yaml", "kind: HelmRelease\n")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			env := binarytest.Env(base, "Differ", "differ@example.com")
			work := filepath.Join(base, "work")
			binarytest.WriteFile(t, work, ".gitignore", "apps/local.yaml\n")
			binarytest.WriteFile(t, work, "apps/podinfo.yaml", "kind: HelmRelease\n")
			binarytest.WriteFile(t, work, "apps/gone.yaml", "kind: HelmRelease # removed by the second commit\n")
			binarytest.Commit(t, env, work, "first")
			binarytest.WriteFile(t, work, "apps/podinfo.yaml", "kind: HelmRelease # second\n")
			binarytest.Git(t, env, work, "rm", "-q", "apps/gone.yaml")
			binarytest.Git(t, env, work, "commit", "-qam", "second")
			if tc.change != nil {
				tc.change(t, work, env)
			}

			ctx := context.Background()
			repo, err := gitrepo.Open(ctx, work)
			if err != nil {
				t.Fatal(err)
			}
			repo.Env = env
			var sp span
			if sp.Base, err = revParse(ctx, repo, "HEAD~1"); err != nil {
				t.Fatal(err)
			}
			if sp.Head, err = revParse(ctx, repo, "HEAD"); err != nil {
				t.Fatal(err)
			}
			worktrees := binarytest.Git(t, env, work, "worktree", "list", "--porcelain")
			b, h, err := commitTrees(ctx, repo, sp)
			if err != nil {
				t.Fatalf("commitTrees: %v", err)
			}
			if after := binarytest.Git(t, env, work, "worktree", "list", "--porcelain"); after != worktrees {
				t.Fatalf("commitTrees made a worktree:\n%s", after)
			}
			for _, side := range []struct {
				name, sha, gone string
				co              interface {
					ReadFile(string) ([]byte, error)
				}
				root string
			}{
				{name: "BASE", sha: sp.Base, co: b.Tree, root: b.Root},
				{name: "HEAD", sha: sp.Head, co: h.Tree, root: h.Root, gone: "apps/gone.yaml"},
			} {
				if _, err := os.Stat(side.root); !os.IsNotExist(err) {
					t.Fatalf("%s: the tree's root %s is on disk (stat: %v)", side.name, side.root, err)
				}
				want := binarytest.Git(t, env, work, "show", side.sha+":apps/podinfo.yaml")
				if got, err := side.co.ReadFile("apps/podinfo.yaml"); err != nil || string(got) != want {
					t.Fatalf("%s: apps/podinfo.yaml is %q (%v), want the commit's %q", side.name, got, err, want)
				}
				for _, p := range []string{"apps/new/extra.yaml", "apps/local.yaml", side.gone} {
					if p == "" {
						continue
					}
					if _, err := side.co.ReadFile(p); err == nil {
						t.Fatalf("%s: %s is in the tree, but the commit does not hold it", side.name, p)
					}
				}
				if side.name == "BASE" {
					if _, err := side.co.ReadFile("apps/gone.yaml"); err != nil {
						t.Fatalf("BASE: apps/gone.yaml, which the first commit holds: %v", err)
					}
				}
			}
			if strings.TrimSpace(b.Root) == strings.TrimSpace(h.Root) {
				t.Fatalf("BASE and HEAD share the root %s", b.Root)
			}
		})
	}
}
