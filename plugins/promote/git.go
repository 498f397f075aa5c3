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
	out, err := r.Git(ctx, append([]string{"status", "--porcelain", "--"}, files...)...)
	if err != nil {
		return err
	}
	if s := strings.TrimSpace(out); s != "" {
		return exitcode.Errorf(exitcode.Conflict, "files promote must edit have uncommitted changes:\n%s\ncommit or stash them first", s)
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

// upstream returns the remote and branch to push to.
func (o *Options) upstream(ctx context.Context, r *gitrepo.Repo) (remote, branch string, err error) {
	cur, err := r.Git(ctx, "symbolic-ref", "--short", "HEAD")
	if err != nil {
		return "", "", exitcode.Errorf(exitcode.Conflict, "HEAD is detached: check out the branch to promote on before --push")
	}
	branch = strings.TrimSpace(cur)
	remote = o.Remote
	if remote == "" {
		if out, err := r.Git(ctx, "config", "branch."+branch+".remote"); err == nil {
			remote = strings.TrimSpace(out)
		}
	}
	if remote == "" {
		remote = "origin"
	}
	if out, err := r.Git(ctx, "config", "branch."+branch+".merge"); err == nil && strings.TrimSpace(out) != "" {
		branch = strings.TrimPrefix(strings.TrimSpace(out), "refs/heads/")
	}
	return remote, branch, nil
}

// push pushes HEAD to its upstream, fetching and rebasing when the remote
// moved, a bounded number of times.
func (o *Options) push(ctx context.Context, r *gitrepo.Repo) error {
	remote, branch, err := o.upstream(ctx, r)
	if err != nil {
		return err
	}
	var last error
	for attempt := 1; attempt <= pushAttempts; attempt++ {
		_, err := r.Git(ctx, "push", "-q", remote, "HEAD:refs/heads/"+branch)
		if err == nil {
			fmt.Fprintf(o.Out, "Pushed to %s/%s.\n", remote, branch)
			return nil
		}
		last = err
		if !rejected(err) {
			return fmt.Errorf("pushing to %s: %w (the commit is made locally; push it by hand)", remote, err)
		}
		if _, err := r.Git(ctx, "fetch", "-q", remote, branch); err != nil {
			return fmt.Errorf("fetching %s/%s after a rejected push: %w", remote, branch, err)
		}
		if _, err := r.Git(ctx, "rebase", "-q", "FETCH_HEAD"); err != nil {
			_, _ = r.Git(ctx, "rebase", "--abort")
			return exitcode.Errorf(exitcode.Conflict, "%s/%s changed the same lines since you pulled: %v; the promotion commit is still local: pull, resolve and push by hand", remote, branch, err)
		}
		fmt.Fprintf(o.ErrOut, "%s/%s moved; rebased the promotion on it (attempt %d of %d).\n", remote, branch, attempt, pushAttempts)
	}
	return exitcode.Errorf(exitcode.Conflict, "push to %s/%s still rejected after %d attempts: %v; the commit is local, push it by hand", remote, branch, pushAttempts, last)
}

func rejected(err error) bool {
	var ge *gitrepo.Error
	if !errors.As(err, &ge) {
		return false
	}
	s := ge.Stderr
	return strings.Contains(s, "[rejected]") || strings.Contains(s, "non-fast-forward") || strings.Contains(s, "fetch first") || strings.Contains(s, "cannot lock ref")
}

// startBranch creates branch name at HEAD and checks it out; it returns the
// branch to come back to.
func startBranch(ctx context.Context, r *gitrepo.Repo, name string) (string, error) {
	cur, err := r.Git(ctx, "symbolic-ref", "--short", "HEAD")
	if err != nil {
		return "", exitcode.Errorf(exitcode.Conflict, "HEAD is detached: check out the branch the promotion should start from")
	}
	if _, err := r.Git(ctx, "rev-parse", "--verify", "--quiet", "refs/heads/"+name); err == nil {
		return "", exitcode.Errorf(exitcode.Conflict, "branch %s already exists: pick another --branch name or delete it", name)
	}
	if _, err := r.Git(ctx, "checkout", "-q", "-b", name); err != nil {
		return "", fmt.Errorf("creating branch %s: %w", name, err)
	}
	return strings.TrimSpace(cur), nil
}

// pushBranch pushes the promotion branch, switches back to where the user
// was, and prints where to open the pull or merge request.
func (o *Options) pushBranch(ctx context.Context, r *gitrepo.Repo, orig string) error {
	remote := o.Remote
	if remote == "" {
		if out, err := r.Git(ctx, "config", "branch."+orig+".remote"); err == nil {
			remote = strings.TrimSpace(out)
		}
	}
	if remote == "" {
		remote = "origin"
	}
	base := orig
	if out, err := r.Git(ctx, "config", "branch."+orig+".merge"); err == nil && strings.TrimSpace(out) != "" {
		base = strings.TrimPrefix(strings.TrimSpace(out), "refs/heads/")
	}
	_, pushErr := r.Git(ctx, "push", "-q", "-u", remote, o.Branch)
	if _, err := r.Git(ctx, "checkout", "-q", orig); err != nil {
		return fmt.Errorf("switching back to %s: %w", orig, err)
	}
	if pushErr != nil {
		return fmt.Errorf("pushing branch %s to %s: %w (the branch is committed locally; push it by hand)", o.Branch, remote, pushErr)
	}
	fmt.Fprintf(o.Out, "Pushed branch %s to %s; %s is checked out again.\n", o.Branch, remote, orig)
	remoteURL, _ := r.Git(ctx, "remote", "get-url", remote)
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
