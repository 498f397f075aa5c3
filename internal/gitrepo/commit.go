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

// Short is the 12-character form of a commit hash that messages print.
func Short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
