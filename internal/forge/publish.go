package forge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
)

// PublishOptions say where a request goes. The plugins fill them from
// --pr, --forge, --forge-url and the checkout.
type PublishOptions struct {
	Repo *gitrepo.Repo
	// Remote is the Git remote to push to ("" = the upstream remote of the
	// checked-out branch, else origin); Base the branch on it that the
	// request merges into ("" = the branch the checkout tracks).
	Remote, Base string
	// Branch is the head branch, the same name locally and on the remote.
	Branch string
	// Kind and URL are --forge and --forge-url ("" detects).
	Kind Kind
	URL  string
	// TokenEnv is --forge-token-env ("" reads the forge's usual variables).
	TokenEnv string
	// Getenv reads tokens and config locations (the factory's Getenv).
	Getenv func(string) string
	// HTTPClient is used for the API and for probing; nil is a plain one.
	HTTPClient *http.Client
	// Out receives what was pushed and opened (never the token).
	Out io.Writer
}

// apiTimeout bounds each API request of --pr.
const apiTimeout = time.Minute

// Publisher pushes one branch and opens or updates its request. Prepare
// makes one before anything is written, so a missing token, an
// unreachable forge or a branch that belongs to someone else stop the
// command while the checkout is as it was.
type Publisher struct {
	o     PublishOptions
	forge Forge
	token Token
	// remoteHead is the branch's commit on the remote when Prepare looked
	// ("" when it did not exist): the push replaces exactly that.
	remoteHead string
	// Start is the branch that was checked out when Prepare ran, the one
	// to come back to; Remote and Base are where the request goes.
	Start, Remote, Base string
	// LocalExists reports that the branch exists locally and holds only
	// kubectl-gitops commits on top of HEAD: the caller recreates it from
	// HEAD rather than refusing.
	LocalExists bool
}

// ownTrailers mark the commits kubectl-gitops makes (promote's and
// override's trailers): a branch holding only such commits may be rebuilt
// and force-pushed, anything else on it is someone's work.
var ownTrailers = []string{"\nPromoted-HelmRelease: ", "\nChanged-with: kubectl-gitops"}

func ours(message string) bool {
	m := "\n" + message
	for _, t := range ownTrailers {
		if strings.Contains(m, t) {
			return true
		}
	}
	return false
}

// Prepare finds the forge and the token, checks that the token can read
// the repository, and that the branch, locally and on the remote, is
// absent or holds only kubectl-gitops commits (else a Conflict error:
// rerunning cannot help until someone decides).
func Prepare(ctx context.Context, o PublishOptions) (*Publisher, error) {
	if o.Getenv == nil {
		return nil, errors.New("forge.Prepare: no Getenv")
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.HTTPClient == nil {
		// A forge that stops answering fails the command rather than hangs it.
		o.HTTPClient = &http.Client{Timeout: apiTimeout}
	}
	r := o.Repo
	start, err := r.CurrentBranch(ctx)
	if err != nil {
		return nil, err
	}
	if start == "" {
		return nil, exitcode.Wrap(exitcode.Conflict, ErrPRNeedsBranch)
	}
	if start == o.Branch {
		return nil, exitcode.Errorf(exitcode.Usage, "--pr: branch %s is checked out; check out the branch the request should merge into (main, say) and run again", start)
	}
	remote, base, err := r.Upstream(ctx, start)
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Usage, err)
	}
	if o.Remote == "" {
		o.Remote = remote
	}
	if o.Base == "" {
		o.Base = base
	}
	if o.Base == o.Branch {
		return nil, exitcode.Errorf(exitcode.Usage, "--pr: the branch %s is the one the request would merge into; pick another --branch", o.Branch)
	}
	if n, err := r.Ahead(ctx, o.Remote, o.Base); err == nil && n > 0 {
		return nil, exitcode.Errorf(exitcode.Conflict, "--pr: %s has %d commit(s) not on %s/%s, which the request would carry along: push them (or drop them) first", start, n, o.Remote, o.Base)
	}
	// The URL as configured, not as insteadOf rewrites it: the forge's
	// address is what the user wrote.
	remoteURL, err := r.Git(ctx, "config", "--get", "remote."+o.Remote+".url")
	if err != nil {
		return nil, exitcode.Errorf(exitcode.Usage, "no remote %q to push the branch to: add one with `git remote add %s URL`", o.Remote, o.Remote)
	}
	do := DetectOptions{Kind: o.Kind, URL: o.URL, TokenEnv: o.TokenEnv, HTTPClient: o.HTTPClient}
	repo, err := Detect(ctx, strings.TrimSpace(remoteURL), do)
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Usage, fmt.Errorf("--pr: %w", err))
	}
	tok, err := FindScopedToken(repo, do.TokenScope(strings.TrimSpace(remoteURL)), o.Getenv)
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Usage, fmt.Errorf("--pr: %w", err))
	}
	f, err := New(repo, tok.Value, o.HTTPClient)
	if err != nil {
		return nil, err
	}
	if err := f.Check(ctx); err != nil {
		return nil, fmt.Errorf("--pr (%s, %s): %w; nothing was changed", repo.WebURL, tok.Source, err)
	}
	p := &Publisher{o: o, forge: f, token: tok, Start: start, Remote: o.Remote, Base: o.Base}
	if err := p.checkBranches(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// Forge is the client Prepare made.
func (p *Publisher) Forge() Forge { return p.forge }

func (p *Publisher) checkBranches(ctx context.Context) error {
	r, b := p.o.Repo, p.o.Branch
	if out, err := r.Git(ctx, "rev-parse", "--verify", "--quiet", "refs/heads/"+b); err == nil && strings.TrimSpace(out) != "" {
		foreign, err := foreignCommits(ctx, r, "HEAD", "refs/heads/"+b)
		if err != nil {
			return err
		}
		if foreign != "" {
			return exitcode.Errorf(exitcode.Conflict, "local branch %s has commit %s that kubectl-gitops did not make; --pr would replace it: merge or delete the branch, or pick another --branch", b, foreign)
		}
		p.LocalExists = true
	}
	out, err := r.Git(ctx, "ls-remote", "--heads", p.o.Remote, "refs/heads/"+b)
	if err != nil {
		return fmt.Errorf("looking for branch %s on %s: %w", b, p.o.Remote, err)
	}
	sha, _, _ := strings.Cut(strings.TrimSpace(out), "\t")
	if sha == "" {
		return nil
	}
	tracking := "refs/remotes/" + p.o.Remote + "/"
	if _, err := r.Git(ctx, "fetch", "--quiet", p.o.Remote,
		"+refs/heads/"+b+":"+tracking+b, "+refs/heads/"+p.o.Base+":"+tracking+p.o.Base); err != nil {
		return fmt.Errorf("fetching %s and %s from %s: %w", b, p.o.Base, p.o.Remote, err)
	}
	foreign, err := foreignCommits(ctx, r, tracking+p.o.Base, sha)
	if err != nil {
		return err
	}
	if foreign != "" {
		return exitcode.Errorf(exitcode.Conflict, "branch %s exists on %s with commit %s that kubectl-gitops did not make; --pr would overwrite it: pick another --branch, or merge or delete that branch first", b, p.o.Remote, foreign)
	}
	p.remoteHead = sha
	return nil
}

// foreignCommits returns the first commit in base..head (short SHA and
// subject) that kubectl-gitops did not make, or "".
func foreignCommits(ctx context.Context, r *gitrepo.Repo, base, head string) (string, error) {
	out, err := r.Git(ctx, "log", "--format=%h %s%x1f%B%x1e", base+".."+head)
	if err != nil {
		return "", err
	}
	for _, rec := range strings.Split(out, "\x1e") {
		rec = strings.TrimLeft(rec, "\n")
		if rec == "" {
			continue
		}
		subject, body, _ := strings.Cut(rec, "\x1f")
		if !ours(body) {
			return subject, nil
		}
	}
	return "", nil
}

// sameChange reports whether commits a and b have the same tree and the
// same parents.
func (p *Publisher) sameChange(ctx context.Context, a, b string) bool {
	trees, err := p.o.Repo.Git(ctx, "rev-parse", a+"^{tree}", b+"^{tree}")
	if f := strings.Fields(trees); err != nil || len(f) != 2 || f[0] != f[1] {
		return false
	}
	ap, errA := p.o.Repo.Git(ctx, "rev-parse", a+"^@")
	bp, errB := p.o.Repo.Git(ctx, "rev-parse", b+"^@")
	return errA == nil && errB == nil && ap == bp
}

// Result is what Publish did.
type Result struct {
	PullRequest PullRequest
	// Created is false when an open request was updated.
	Created bool
	// Pushed is false when the remote already had the branch's commit.
	Pushed bool
}

// Publish pushes the local branch to the remote, replacing only the
// commit Prepare saw there, and opens or updates the request. When the
// forge refuses the request the branch stays pushed and the error says so.
func (p *Publisher) Publish(ctx context.Context, s Spec) (Result, error) {
	r, b, remote := p.o.Repo, p.o.Branch, p.o.Remote
	s.Head, s.Base = b, p.o.Base
	var res Result
	local, err := r.Git(ctx, "rev-parse", "--verify", "--quiet", "refs/heads/"+b)
	if err != nil {
		return res, fmt.Errorf("branch %s: %w", b, err)
	}
	local = strings.TrimSpace(local)
	if p.remoteHead != "" && local != p.remoteHead && p.sameChange(ctx, local, p.remoteHead) {
		// A rerun that computed the same change on the same base: keep the
		// commit the request already has rather than churn it.
		if _, err := r.Git(ctx, "update-ref", "refs/heads/"+b, p.remoteHead, local); err != nil {
			return res, err
		}
		local = p.remoteHead
	}
	if local != p.remoteHead {
		// --force-with-lease with the commit seen in Prepare: a push made
		// since by anyone else is never overwritten.
		if _, err := r.Git(ctx, "push", "--quiet", "--set-upstream", "--force-with-lease=refs/heads/"+b+":"+p.remoteHead,
			remote, "refs/heads/"+b+":refs/heads/"+b); err != nil {
			var ge *gitrepo.Error
			if errors.As(err, &ge) && (strings.Contains(ge.Stderr, "stale info") || strings.Contains(ge.Stderr, "rejected")) {
				return res, exitcode.Errorf(exitcode.Conflict, "branch %s changed on %s while this ran; it was not overwritten: look at it, then run again (the commit is on local branch %s)", b, remote, b)
			}
			return res, fmt.Errorf("pushing branch %s to %s: %w (the commit is on local branch %s; push it by hand)", b, remote, err, b)
		}
		res.Pushed = true
		verb := "Pushed"
		if p.remoteHead != "" {
			verb = "Pushed (replacing kubectl-gitops's previous commit " + shortSHA(p.remoteHead) + ")"
		}
		fmt.Fprintf(p.o.Out, "%s branch %s to %s.\n", verb, b, remote)
	} else {
		fmt.Fprintf(p.o.Out, "Branch %s on %s is up to date.\n", b, remote)
	}
	repo := p.forge.Repo()
	pr, created, err := p.forge.Ensure(ctx, s)
	if err != nil {
		return res, fmt.Errorf("branch %s is pushed to %s, but the %s was not opened or updated: %w; then run the same command again (it reuses the branch), or open it by hand at %s",
			b, remote, repo.Kind.Noun(), err, CompareURL(repo, p.o.Base, b))
	}
	res.PullRequest, res.Created = pr, created
	verb := "Updated"
	if created {
		verb = "Opened"
	}
	fmt.Fprintf(p.o.Out, "%s %s %s: %s\n", verb, repo.Kind.Noun(), repo.Kind.Ref(pr.Number), pr.URL)
	return res, nil
}

// Ref is how the forge writes a request's number: #12, or !12 on GitLab.
func (k Kind) Ref(n int64) string {
	if k == GitLab {
		return "!" + itoa(n)
	}
	return "#" + itoa(n)
}

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// CompareURL is the web page that opens a request from head into base by
// hand.
func CompareURL(repo Repo, base, head string) string {
	web := repo.WebURL + "/" + repo.FullName()
	if repo.Kind == GitLab {
		return fmt.Sprintf("%s/-/merge_requests/new?merge_request%%5Bsource_branch%%5D=%s&merge_request%%5Btarget_branch%%5D=%s", web, head, base)
	}
	return fmt.Sprintf("%s/compare/%s...%s", web, base, head)
}
