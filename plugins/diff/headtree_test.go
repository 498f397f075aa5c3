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

// TestHeadTree: diff reads HEAD's side from the checkout itself only when
// the checkout is exactly that commit; anything on disk that the commit
// does not hold (an edit, a new file, an ignored file the model could read
// from a folder without kustomization.yaml) or another commit gets a
// worktree of its own. The cases cover both answers, so a headTree that
// always reused the checkout, or never did, fails.
func TestHeadTree(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, work string, env []string)
		rev    string // the commit asked for; HEAD when empty
		reuse  bool
	}{
		{name: "clean at HEAD", reuse: true},
		{name: "clean, another commit", rev: "HEAD~1"},
		{name: "edited file", change: func(t *testing.T, work string, env []string) {
			writeTreeFile(t, work, "apps/podinfo.yaml", "kind: HelmRelease # edited\n")
		}},
		{name: "staged file", change: func(t *testing.T, work string, env []string) {
			writeTreeFile(t, work, "apps/podinfo.yaml", "kind: HelmRelease # staged\n")
			binarytest.Git(t, env, work, "add", "apps/podinfo.yaml")
		}},
		{name: "untracked file", change: func(t *testing.T, work string, env []string) {
			writeTreeFile(t, work, "apps/new/extra.yaml", "kind: HelmRelease\n")
		}},
		{name: "ignored file", change: func(t *testing.T, work string, env []string) {
			writeTreeFile(t, work, "apps/local.yaml", "kind: HelmRelease\n")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := t.TempDir()
			env := binarytest.Env(base, "Differ", "differ@example.com")
			work := filepath.Join(base, "work")
			writeTreeFile(t, work, ".gitignore", "apps/local.yaml\n")
			writeTreeFile(t, work, "apps/podinfo.yaml", "kind: HelmRelease\n")
			binarytest.Commit(t, env, work, "first")
			writeTreeFile(t, work, "apps/podinfo.yaml", "kind: HelmRelease # second\n")
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
			rev := tc.rev
			if rev == "" {
				rev = "HEAD"
			}
			sha, err := revParse(ctx, repo, rev)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(base, "head")
			tree, clean, err := headTree(ctx, repo, dir, sha)
			if err != nil {
				t.Fatalf("headTree: %v", err)
			}
			if reused := tree == repo; reused != tc.reuse {
				t.Fatalf("headTree reused the checkout: %v, want %v (tree at %s)", reused, tc.reuse, tree.Root)
			}
			if tc.reuse {
				if _, err := os.Stat(dir); !os.IsNotExist(err) {
					t.Fatalf("a worktree was made at %s for a clean checkout (stat: %v)", dir, err)
				}
				clean()
				return
			}
			// The worktree holds exactly the commit: nothing of the
			// checkout's own changes.
			if got, err := revParse(ctx, tree, "HEAD"); err != nil || got != sha {
				t.Fatalf("worktree at %s is at %s (%v), want %s", tree.Root, got, err, sha)
			}
			if st := binarytest.Git(t, env, tree.Root, "status", "--porcelain", "--untracked-files=all", "--ignored"); strings.TrimSpace(st) != "" {
				t.Fatalf("worktree is not clean:\n%s", st)
			}
			clean()
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Fatalf("the worktree %s is still there after clean (stat: %v)", dir, err)
			}
		})
	}
}

func writeTreeFile(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
