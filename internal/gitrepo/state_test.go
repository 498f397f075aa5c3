package gitrepo

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// conflict makes branch "other" and main change a.yaml differently, so a
// merge, rebase or cherry-pick of one onto the other stops.
func conflict(t *testing.T, dir string) {
	t.Helper()
	git(t, dir, "checkout", "-q", "-b", "other")
	write(t, dir, "a.yaml", "a: other\n")
	git(t, dir, "commit", "-q", "-am", "other")
	git(t, dir, "checkout", "-q", "main")
	write(t, dir, "a.yaml", "a: main\n")
	git(t, dir, "commit", "-q", "-am", "main")
}

// gitFails runs a git command that is expected to stop half-way.
func gitFails(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append(testEnv, "GIT_EDITOR=true")...)
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("git %v succeeded: %s", args, out)
	}
}

// TestPublishRefusesCheckoutState: a merge, rebase or cherry-pick stopped
// on a conflict, a left-over index.lock, or unmerged paths stop every way
// of publishing (dry run included) before anything is written, with the
// reason and the fix.
func TestPublishRefusesCheckoutState(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string)
		err   error
		want  string
	}{
		{"merge", func(t *testing.T, dir string) { conflict(t, dir); gitFails(t, dir, "merge", "-q", "other") }, ErrOperationInProgress, "git merge --abort"},
		{"rebase", func(t *testing.T, dir string) { conflict(t, dir); gitFails(t, dir, "rebase", "-q", "other") }, ErrOperationInProgress, "git rebase --abort"},
		{"cherry-pick", func(t *testing.T, dir string) { conflict(t, dir); gitFails(t, dir, "cherry-pick", "other") }, ErrOperationInProgress, "git cherry-pick --abort"},
		{"revert", func(t *testing.T, dir string) {
			conflict(t, dir)
			write(t, dir, "a.yaml", "a: again\n")
			git(t, dir, "commit", "-q", "-am", "again")
			gitFails(t, dir, "revert", "--no-edit", "HEAD~1")
		}, ErrOperationInProgress, "git revert --abort"},
		{"index.lock", func(t *testing.T, dir string) { write(t, dir, ".git/index.lock", "") }, ErrIndexLocked, "remove it"},
		{"unmerged", func(t *testing.T, dir string) {
			conflict(t, dir)
			gitFails(t, dir, "merge", "-q", "other")
			// The merge's own state gone, its conflicts still in the index.
			if err := os.Remove(filepath.Join(dir, ".git", "MERGE_HEAD")); err != nil {
				t.Fatal(err)
			}
		}, ErrUnmerged, "a.yaml; resolve the conflicts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, repos := remoteAndClones(t, 1)
			r := repos[0]
			tc.setup(t, r.Root)
			before, _ := os.ReadFile(filepath.Join(r.Root, "b.yaml"))
			head := git(t, r.Root, "rev-parse", "HEAD")
			for _, opts := range []PublishOptions{{}, {NoCommit: true}, {Push: true}, {Branch: "fix"}} {
				_, err := r.NewPublisher(context.Background(), opts)
				if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%+v: err = %v; want %v with %q", opts, err, tc.err, tc.want)
				}
			}
			after, _ := os.ReadFile(filepath.Join(r.Root, "b.yaml"))
			if string(after) != string(before) || git(t, r.Root, "rev-parse", "HEAD") != head {
				t.Error("the checkout changed")
			}
		})
	}
}

// TestPublishLeavesNoTempFiles: the temporary files of the atomic write
// live under .git, and a --branch commit never checks the branch out.
func TestPublishLeavesNoTempFiles(t *testing.T) {
	_, repos := remoteAndClones(t, 1)
	r := repos[0]
	ctx := context.Background()
	p, err := r.NewPublisher(ctx, PublishOptions{Branch: "fix", NoPush: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Publish(ctx, Change{Files: map[string][]byte{"a.yaml": []byte("a: 2\n")}, Message: "fix"}); err != nil {
		t.Fatal(err)
	}
	if got := git(t, r.Root, "show", "fix:a.yaml"); got != "a: 2" {
		t.Errorf("fix:a.yaml = %q", got)
	}
	if st := git(t, r.Root, "status", "--porcelain", "--untracked-files=all"); st != "" {
		t.Errorf("the checkout changed:\n%s", st)
	}
	// A crashed process's scratch files are removed by the next run.
	dead := filepath.Join(r.Root, ".git", "kubectl-gitops", "p999999999-write-1")
	write(t, r.Root, ".git/kubectl-gitops/p999999999-write-1", "x")
	p, err = r.NewPublisher(ctx, PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Publish(ctx, Change{Files: map[string][]byte{"a.yaml": []byte("a: 3\n")}, Message: "three"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dead); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s is left", dead)
	}
	if st := git(t, r.Root, "status", "--porcelain", "--untracked-files=all"); st != "" {
		t.Errorf("after a commit on main:\n%s", st)
	}
}

// A change that creates a file (override --in-patch's new patch): Publish
// commits it with the edited one, and the undo (a push that gives up, a
// signal) removes it and its index entry, leaving the checkout as before.
func TestPublishCreatesAndUndoesANewFile(t *testing.T) {
	_, repos := remoteAndClones(t, 1)
	r := repos[0]
	ctx := context.Background()
	p, err := r.NewPublisher(ctx, PublishOptions{})
	if err != nil {
		t.Fatal(err)
	}
	head := git(t, r.Root, "rev-parse", "HEAD")
	rp, err := r.restorePoint(ctx, []string{"a.yaml", "env/new.yaml"}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Publish(ctx, Change{Files: map[string][]byte{"a.yaml": []byte("a: 2\n"), "env/new.yaml": []byte("b: 1\n")}, Message: "new"})
	if err != nil {
		t.Fatal(err)
	}
	if got := git(t, r.Root, "show", "--name-only", "--format=", res.Commit); got != "a.yaml\nenv/new.yaml" {
		t.Errorf("the commit holds %q", got)
	}
	if st := git(t, r.Root, "status", "--porcelain", "--untracked-files=all"); st != "" {
		t.Errorf("after the commit:\n%s", st)
	}
	if err := rp.restore(ctx); err != nil {
		t.Fatal(err)
	}
	if got := git(t, r.Root, "rev-parse", "HEAD"); got != head {
		t.Errorf("HEAD %s, want %s back", got, head)
	}
	if _, err := os.Stat(filepath.Join(r.Root, "env", "new.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the created file is left: %v", err)
	}
	if st := git(t, r.Root, "status", "--porcelain", "--untracked-files=all"); st != "" {
		t.Errorf("after the undo:\n%s", st)
	}
}
