package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Dirty reports whether path (relative to the root) has uncommitted changes,
// staged or not, compared with HEAD.
func (r *Repo) Dirty(ctx context.Context, path string) (bool, error) {
	out, err := r.Git(ctx, "status", "--porcelain", "--untracked-files=no", "--", path)
	if err != nil {
		return false, err
	}
	return strings.TrimSpace(out) != "", nil
}

// Head returns the commit HEAD points at.
func (r *Repo) Head(ctx context.Context) (string, error) {
	out, err := r.Git(ctx, "rev-parse", "HEAD")
	return strings.TrimSpace(out), err
}

// CurrentBranch returns the checked-out branch, or "" when HEAD is detached.
func (r *Repo) CurrentBranch(ctx context.Context) (string, error) {
	out, err := r.Git(ctx, "symbolic-ref", "--quiet", "--short", "HEAD")
	if err != nil {
		var ge *Error
		if errors.As(err, &ge) && ge.Stderr == "" {
			return "", nil
		}
		return "", err
	}
	return strings.TrimSpace(out), nil
}

// CommitFile is CommitFiles for one file.
func (r *Repo) CommitFile(ctx context.Context, path, message string, trailers ...string) (string, error) {
	return r.CommitFiles(ctx, []string{path}, message, trailers...)
}

// Upstream returns the remote and the branch on it that branch pushes to:
// its configured upstream, else origin and the same name.
func (r *Repo) Upstream(ctx context.Context, branch string) (remote, remoteBranch string, err error) {
	remote = "origin"
	remoteBranch = branch
	if out, err := r.Git(ctx, "config", "--get", "branch."+branch+".remote"); err == nil && strings.TrimSpace(out) != "" && strings.TrimSpace(out) != "." {
		remote = strings.TrimSpace(out)
		if out, err := r.Git(ctx, "config", "--get", "branch."+branch+".merge"); err == nil {
			remoteBranch = strings.TrimPrefix(strings.TrimSpace(out), "refs/heads/")
		}
	}
	if _, err := r.Git(ctx, "remote", "get-url", remote); err != nil {
		return "", "", fmt.Errorf("branch %s has no upstream and there is no remote %q: %w (add one with `git remote add origin URL`)", branch, remote, err)
	}
	return remote, remoteBranch, nil
}

// Ahead counts the commits on HEAD that remote/remoteBranch (as last
// fetched) does not have. A remote branch that does not exist yet counts
// as everything being ahead, reported as -1.
func (r *Repo) Ahead(ctx context.Context, remote, remoteBranch string) (int, error) {
	ref := "refs/remotes/" + remote + "/" + remoteBranch
	if _, err := r.Git(ctx, "rev-parse", "--verify", "--quiet", ref); err != nil {
		return -1, nil
	}
	out, err := r.Git(ctx, "rev-list", "--count", ref+"..HEAD")
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(out))
}

// ErrPushRejected is returned when the remote kept refusing the push.
var ErrPushRejected = errors.New("push rejected")

// ErrRebaseConflict is returned when the local commit does not apply on
// top of what was pushed meanwhile.
var ErrRebaseConflict = errors.New("rebase conflict")

// PushOptions configure Push.
type PushOptions struct {
	Remote, RemoteBranch string
	// Attempts bounds push tries; 0 means 5.
	Attempts int
	// SetUpstream records remote/RemoteBranch as the branch's upstream
	// (for a new branch).
	SetUpstream bool
	// Redo, when set, rebuilds the local commit on top of what the remote
	// has after a rejection: Push moves the branch to the fetched remote
	// branch (`git reset --keep`, so uncommitted changes elsewhere stay and
	// nothing is overwritten) and calls Redo, which edits and commits again.
	// It reports committed=false when the change is already on the remote.
	// This replays the intent (set image.tag) instead of the text, so
	// edits to neighbouring lines of one file never conflict. Without Redo,
	// Push rebases with `git rebase --autostash`.
	Redo func(ctx context.Context) (committed bool, err error)
}

// PushResult says how a push went.
type PushResult struct {
	// Attempts is how many pushes it took.
	Attempts int
	// Rebased is true when the local commit was rebuilt on top of commits
	// pushed meanwhile; Head is the commit finally pushed.
	Rebased bool
	Head    string
	// AlreadyThere is true when, after a rejection, the remote turned out to
	// hold the change already: nothing was pushed.
	AlreadyThere bool
}

// Push pushes HEAD to opts.Remote/opts.RemoteBranch. When the remote has
// moved on (a non-fast-forward rejection) it fetches, rebuilds the local
// commit on top (see PushOptions.Redo) and tries again, up to
// opts.Attempts times: two people overriding different keys at the same
// time both land. When it fails for good the local commit is left where
// it was and the error says how to retry by hand.
func (r *Repo) Push(ctx context.Context, opts PushOptions) (PushResult, error) {
	attempts := opts.Attempts
	if attempts <= 0 {
		attempts = 5
	}
	var res PushResult
	target := "HEAD:refs/heads/" + opts.RemoteBranch
	retry := fmt.Sprintf("`git pull --rebase %s %s && git push %s %s`", opts.Remote, opts.RemoteBranch, opts.Remote, target)
	kept := func(format string, args ...any) error {
		head, _ := r.Head(ctx)
		return fmt.Errorf(format+"; your commit %s is kept locally, retry with %s", append(args, Short(head), retry)...)
	}
	var last error
	for res.Attempts < attempts {
		res.Attempts++
		args := []string{"push", "--quiet"}
		if opts.SetUpstream {
			args = append(args, "--set-upstream")
		}
		_, err := r.Git(ctx, append(args, opts.Remote, target)...)
		if err == nil {
			head, herr := r.Head(ctx)
			res.Head = head
			// Keep the remote-tracking ref in step, as a plain push does.
			_, _ = r.Git(ctx, "fetch", "--quiet", opts.Remote, opts.RemoteBranch)
			return res, herr
		}
		last = err
		if !rejected(err) {
			if ge := (*Error)(nil); errors.As(err, &ge) && strings.Contains(ge.Stderr, "rejected") {
				// Refused for good (a hook, branch protection): retrying
				// cannot help.
				return res, kept("%w by %s %s: %v", ErrPushRejected, opts.Remote, opts.RemoteBranch, err)
			}
			return res, kept("pushing to %s %s: %w", opts.Remote, opts.RemoteBranch, err)
		}
		if _, err := r.Git(ctx, "fetch", "--quiet", opts.Remote, opts.RemoteBranch); err != nil {
			return res, kept("fetching %s %s after a rejected push: %w", opts.Remote, opts.RemoteBranch, err)
		}
		if opts.Redo == nil {
			if _, err := r.Git(ctx, "rebase", "--autostash", "--quiet", "FETCH_HEAD"); err != nil {
				_, _ = r.Git(ctx, "rebase", "--abort")
				return res, kept("%w: the commit does not apply on top of what was pushed to %s %s meanwhile (%v)", ErrRebaseConflict, opts.Remote, opts.RemoteBranch, err)
			}
			res.Rebased = true
			continue
		}
		orig, err := r.Head(ctx)
		if err != nil {
			return res, err
		}
		if _, err := r.Git(ctx, "reset", "--quiet", "--keep", "FETCH_HEAD"); err != nil {
			return res, kept("%w: cannot move onto what was pushed to %s %s meanwhile without touching your uncommitted changes (%v)", ErrRebaseConflict, opts.Remote, opts.RemoteBranch, err)
		}
		committed, err := opts.Redo(ctx)
		if err != nil {
			// Put the branch back where it was, with the original commit.
			_, _ = r.Git(ctx, "reset", "--quiet", "--keep", orig)
			return res, kept("redoing the change on top of %s %s: %w", opts.Remote, opts.RemoteBranch, err)
		}
		res.Rebased = true
		if !committed {
			res.AlreadyThere = true
			res.Head, err = r.Head(ctx)
			return res, err
		}
	}
	return res, kept("%w %d times by %s %s (last: %v)", ErrPushRejected, res.Attempts, opts.Remote, opts.RemoteBranch, last)
}

// Short is the 12-character form of a commit hash that messages print.
func Short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// rejected reports whether a push failed because the remote branch moved
// (rather than, say, authentication or a hook refusing it).
func rejected(err error) bool {
	var ge *Error
	if !errors.As(err, &ge) {
		return false
	}
	s := ge.Stderr
	return strings.Contains(s, "non-fast-forward") || strings.Contains(s, "fetch first") ||
		strings.Contains(s, "[rejected]") || strings.Contains(s, "cannot lock ref")
}
