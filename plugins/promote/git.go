package promote

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/envs"
	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
)

// pushAttempts bounds the fetch-rebase-push loop: a busy repository may
// move between our fetch and push, but not forever.
const pushAttempts = 4

// checkClean refuses to edit files with uncommitted changes: the commit
// would carry someone's unfinished work along with the promotion.
func checkClean(ctx context.Context, r *gitrepo.Repo, files []string) error {
	var dirty []string
	for _, f := range files {
		d, err := r.Dirty(ctx, f)
		if err != nil {
			return err
		}
		if d {
			dirty = append(dirty, f)
		}
	}
	if len(dirty) > 0 {
		return exitcode.Errorf(exitcode.Conflict, "%s: uncommitted changes in the files promote must edit; commit or stash them first, then promote again",
			strings.Join(dirty, ", "))
	}
	return nil
}

// sourceCommit is the last commit that touched the source environment: the
// state being promoted.
func sourceCommit(ctx context.Context, r *gitrepo.Repo, env *envs.Environment) (string, error) {
	args := append([]string{"log", "-1", "--format=%H", "--"}, env.Paths...)
	out, err := r.Git(ctx, append(args, env.Bases...)...)
	if err != nil {
		return "", err
	}
	if s := strings.TrimSpace(out); s != "" {
		return s, nil
	}
	out, err = r.Git(ctx, "rev-parse", "HEAD")
	return strings.TrimSpace(out), err
}

// commit commits exactly files (whatever else is staged stays staged) and
// returns the new commit.
func commit(ctx context.Context, r *gitrepo.Repo, files []string, msg string, trailers []string) (string, error) {
	args := []string{"commit", "-q", "-m", msg}
	for _, t := range trailers {
		args = append(args, "--trailer", t)
	}
	args = append(args, "--")
	if _, err := r.Git(ctx, append(args, files...)...); err != nil {
		return "", fmt.Errorf("committing the promotion: %w (the files are written; commit them by hand or `git checkout -- %s` to undo)", err, strings.Join(files, " "))
	}
	out, err := r.Git(ctx, "rev-parse", "HEAD")
	return strings.TrimSpace(out), err
}

// push pushes HEAD to its upstream with override's fetch-rebase-retry.
func (o *Options) push(ctx context.Context, r *gitrepo.Repo) error {
	branch, err := r.CurrentBranch(ctx)
	if err != nil {
		return err
	}
	if branch == "" {
		return exitcode.Errorf(exitcode.Conflict, "HEAD is detached: the promotion is committed at HEAD but there is no branch to push; check out a branch and cherry-pick it")
	}
	remote, remoteBranch, err := r.Upstream(ctx, branch)
	if err != nil {
		return err
	}
	if o.Remote != "" {
		remote = o.Remote
	}
	res, err := r.Push(ctx, gitrepo.PushOptions{Remote: remote, RemoteBranch: remoteBranch, Attempts: pushAttempts})
	if err != nil {
		if errors.Is(err, gitrepo.ErrRebaseConflict) || errors.Is(err, gitrepo.ErrPushRejected) {
			return exitcode.Wrap(exitcode.Conflict, err)
		}
		return err
	}
	if res.Rebased {
		fmt.Fprintf(o.ErrOut, "%s/%s had moved on; rebased the promotion on top (%d attempts).\n", remote, remoteBranch, res.Attempts)
	}
	fmt.Fprintf(o.Out, "Pushed %s to %s/%s.\n", shortRef(res.Head), remote, remoteBranch)
	return nil
}

// startBranch creates branch name at HEAD and checks it out; it returns the
// branch to come back to. replace recreates a branch that exists (--pr's
// own branch from an earlier run).
func startBranch(ctx context.Context, r *gitrepo.Repo, name string, replace bool) (string, error) {
	cur, err := r.Git(ctx, "symbolic-ref", "--short", "HEAD")
	if err != nil {
		return "", exitcode.Errorf(exitcode.Conflict, "HEAD is detached: check out the branch the promotion should start from")
	}
	if _, err := r.Git(ctx, "rev-parse", "--verify", "--quiet", "refs/heads/"+name); err == nil && !replace {
		return "", exitcode.Errorf(exitcode.Conflict, "branch %s already exists: pick another --branch name or delete it", name)
	}
	create := "-b"
	if replace {
		create = "-B"
	}
	if _, err := r.Git(ctx, "checkout", "-q", create, name); err != nil {
		return "", fmt.Errorf("creating branch %s: %w", name, err)
	}
	return strings.TrimSpace(cur), nil
}

// pushBranch pushes the promotion branch, switches back to where the user
// was, and prints where to open the pull or merge request.
func (o *Options) pushBranch(ctx context.Context, r *gitrepo.Repo, orig string) error {
	remote, base, err := r.Upstream(ctx, orig)
	if err != nil {
		_, _ = r.Git(ctx, "checkout", "-q", orig)
		return fmt.Errorf("%w; the promotion is committed on branch %s, push it by hand", err, o.Branch)
	}
	if o.Remote != "" {
		remote = o.Remote
	}
	_, pushErr := r.Push(ctx, gitrepo.PushOptions{Remote: remote, RemoteBranch: o.Branch, Attempts: 1, SetUpstream: true})
	if _, err := r.Git(ctx, "checkout", "-q", orig); err != nil {
		return fmt.Errorf("switching back to %s: %w", orig, err)
	}
	if pushErr != nil {
		return fmt.Errorf("pushing branch %s to %s: %w (the branch is committed locally; push it by hand)", o.Branch, remote, pushErr)
	}
	fmt.Fprintf(o.Out, "Pushed branch %s to %s; %s is checked out again.\n", o.Branch, remote, orig)
	// The URL as configured, not as insteadOf rewrites it: the forge's
	// address is what the user wrote.
	remoteURL, _ := r.Git(ctx, "config", "--get", "remote."+remote+".url")
	if u := requestURL(strings.TrimSpace(remoteURL), base, o.Branch); u != "" {
		fmt.Fprintf(o.Out, "Open a pull/merge request: %s\n", u)
	} else {
		fmt.Fprintf(o.Out, "Open a pull/merge request from %s into %s (remote %s is not a known web forge).\n", o.Branch, base, remote)
	}
	return nil
}

// requestURL is the page that opens a pull request (GitHub, Gitea,
// Forgejo) or merge request (GitLab) from head into base; "" for a remote
// that is not on a web forge (a path, a file:// URL).
func requestURL(remote, base, head string) string {
	host, repoPath := parseRemote(remote)
	if host == "" || repoPath == "" {
		return ""
	}
	web := "https://" + host + "/" + repoPath
	switch {
	case strings.Contains(host, "gitlab"):
		return fmt.Sprintf("%s/-/merge_requests/new?merge_request%%5Bsource_branch%%5D=%s&merge_request%%5Btarget_branch%%5D=%s",
			web, url.QueryEscape(head), url.QueryEscape(base))
	case strings.Contains(host, "github"):
		return fmt.Sprintf("%s/compare/%s...%s?expand=1", web, escapeRef(base), escapeRef(head))
	}
	// Gitea, Forgejo and Codeberg use GitHub's compare form without expand.
	return fmt.Sprintf("%s/compare/%s...%s", web, escapeRef(base), escapeRef(head))
}

func escapeRef(s string) string {
	parts := strings.Split(s, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// parseRemote splits https://host/owner/repo.git, ssh://git@host:22/o/r.git
// and git@host:o/r.git into host and owner/repo.
func parseRemote(remote string) (host, repoPath string) {
	if remote == "" {
		return "", ""
	}
	if !strings.Contains(remote, "://") {
		// scp-like syntax: [user@]host:path. A local path has no colon
		// before its first slash.
		i := strings.Index(remote, ":")
		if i <= 0 || strings.Contains(remote[:i], "/") {
			return "", ""
		}
		host = remote[:i]
		if j := strings.LastIndex(host, "@"); j >= 0 {
			host = host[j+1:]
		}
		return host, cleanRepoPath(remote[i+1:])
	}
	u, err := url.Parse(remote)
	if err != nil || u.Scheme == "file" || u.Host == "" {
		return "", ""
	}
	return u.Hostname(), cleanRepoPath(u.Path)
}

func cleanRepoPath(p string) string {
	p = strings.Trim(p, "/")
	p = strings.TrimSuffix(p, ".git")
	if !strings.Contains(p, "/") {
		return ""
	}
	return p
}
