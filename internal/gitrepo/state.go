package gitrepo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
)

// The checkout's state refuses a write with these errors (exit code 6),
// each wrapped with what to do.
var (
	// ErrOperationInProgress: a merge, rebase, cherry-pick or revert is
	// stopped half-way; a commit now would land in the middle of it.
	ErrOperationInProgress = exitcode.New(exitcode.Conflict, "operation in progress")
	// ErrIndexLocked: .git/index.lock exists: another git runs, or one
	// crashed.
	ErrIndexLocked = exitcode.New(exitcode.Conflict, "the index is locked")
	// ErrUnmerged: the index holds unresolved conflicts.
	ErrUnmerged = exitcode.New(exitcode.Conflict, "unmerged paths")
)

// inProgress are the files git keeps while an operation is stopped, with
// how to finish or abandon it.
var inProgress = []struct{ path, what, fix string }{
	{"rebase-merge", "a rebase", "finish it with `git rebase --continue` or abandon it with `git rebase --abort`"},
	{"rebase-apply", "a rebase (or `git am`)", "finish it with `git rebase --continue` (`git am --continue`) or abandon it with `git rebase --abort` (`git am --abort`)"},
	{"MERGE_HEAD", "a merge", "finish it with `git commit` once the conflicts are resolved, or abandon it with `git merge --abort`"},
	{"CHERRY_PICK_HEAD", "a cherry-pick", "finish it with `git cherry-pick --continue` or abandon it with `git cherry-pick --abort`"},
	{"REVERT_HEAD", "a revert", "finish it with `git revert --continue` or abandon it with `git revert --abort`"},
}

// gitPath is `git rev-parse --git-path name`, absolute: where git keeps
// name for this work tree (linked work trees have their own).
func (r *Repo) gitPath(ctx context.Context, names ...string) ([]string, error) {
	args := []string{"rev-parse"}
	for _, n := range names {
		args = append(args, "--git-path", n)
	}
	out, err := r.Git(ctx, args...)
	if err != nil {
		return nil, err
	}
	paths := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(paths) != len(names) {
		return nil, fmt.Errorf("git rev-parse --git-path: %d answers for %d names", len(paths), len(names))
	}
	for i, p := range paths {
		if !filepath.IsAbs(p) {
			paths[i] = filepath.Join(r.Root, p)
		}
	}
	return paths, nil
}

// CheckState refuses a checkout that a write or a commit would damage or
// land in the wrong place: a merge, rebase, cherry-pick or revert in
// progress, a locked index, unmerged paths. Every error names the reason
// and the fix; nothing has been written.
func (r *Repo) CheckState(ctx context.Context) error {
	names := []string{"index.lock"}
	for _, op := range inProgress {
		names = append(names, op.path)
	}
	paths, err := r.gitPath(ctx, names...)
	if err != nil {
		return err
	}
	for i, op := range inProgress {
		if _, err := os.Lstat(paths[i+1]); err == nil {
			return fmt.Errorf("%w: the checkout is in the middle of %s; %s, then run again", ErrOperationInProgress, op.what, op.fix)
		}
	}
	if _, err := os.Lstat(paths[0]); err == nil {
		return fmt.Errorf("%w: %s exists: another git command is running in this checkout, or one crashed; wait for it, or if no git is running remove it, then run again", ErrIndexLocked, paths[0])
	}
	out, err := r.Git(ctx, "ls-files", "--unmerged", "-z")
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	var unmerged []string
	for _, rec := range strings.Split(out, "\x00") {
		if _, p, ok := strings.Cut(rec, "\t"); ok && !seen[p] {
			seen[p] = true
			unmerged = append(unmerged, p)
		}
	}
	if len(unmerged) > 0 {
		sort.Strings(unmerged)
		return fmt.Errorf("%w: %s; resolve the conflicts and `git add` the files (or `git checkout --ours/--theirs`), then run again", ErrUnmerged, strings.Join(unmerged, ", "))
	}
	return nil
}

// scratchDir is kubectl-gitops's own directory inside .git, for temporary
// files and work trees: nothing there shows up in the work tree, `git
// status` or a `git add -A`, whatever happens to the process.
func (r *Repo) scratchDir(ctx context.Context) (string, error) {
	out, err := r.Git(ctx, "rev-parse", "--git-common-dir")
	if err != nil {
		return "", err
	}
	dir := strings.TrimSpace(out)
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(r.Root, dir)
	}
	dir = filepath.Join(dir, "kubectl-gitops")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	return dir, nil
}

// scratchPrefix starts the names of this process's scratch files; a
// crashed process's are recognised by their pid (see cleanScratch).
func scratchPrefix() string { return "p" + strconv.Itoa(os.Getpid()) + "-" }

// cleanScratch removes what processes that no longer run left in the
// scratch directory (a work tree of an interrupted --branch, a temporary
// file of an interrupted write), so a crash costs nothing at the next run.
func (r *Repo) cleanScratch(ctx context.Context, dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	removedTree := false
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), "p")
		if !ok {
			continue
		}
		ps, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(ps)
		if err != nil || pid <= 0 || alive(pid) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if e.IsDir() {
			_, _ = r.Git(ctx, "worktree", "remove", "--force", p)
			removedTree = true
		}
		_ = os.RemoveAll(p)
	}
	if removedTree {
		_, _ = r.Git(ctx, "worktree", "prune")
	}
}
