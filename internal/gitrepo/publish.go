package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/kubectl-gitops/kubectl-gitops/internal/interrupt"
)

// The publish path refuses with these errors (internal/exitcode turns them
// into exit codes); each is wrapped with what to do next.
var (
	// ErrBadBranchName: --branch is not a name `git check-ref-format
	// --branch` accepts.
	ErrBadBranchName = errors.New("not a valid branch name")
	// ErrBranchExists: --branch names a branch that exists already.
	ErrBranchExists = errors.New("branch already exists")
	// ErrNoRemote: there is no remote to push to.
	ErrNoRemote = errors.New("no remote to push to")
	// ErrDetached: HEAD is detached and there is no branch to push.
	ErrDetached = errors.New("HEAD is detached")
	// ErrUnpushed: the branch has commits its remote has not, which a push
	// would publish along with the change.
	ErrUnpushed = errors.New("commits not pushed yet")
	// ErrDirty: a file to be edited has uncommitted changes.
	ErrDirty = errors.New("uncommitted changes")
	// ErrReadOnly: a file to be edited is read-only.
	ErrReadOnly = errors.New("read-only")
)

// Change is one edit to publish: the new content of files (repo-relative,
// forward slashes; they exist already) and the commit that records it.
type Change struct {
	Files    map[string][]byte
	Message  string
	Trailers []string
}

// Paths are the changed files, sorted.
func (c Change) Paths() []string {
	out := make([]string, 0, len(c.Files))
	for f := range c.Files {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// PublishOptions say how far a change goes: written only, committed on the
// current branch, pushed, or committed on a new branch that is pushed.
type PublishOptions struct {
	// Branch, when set, is a new branch created at HEAD for the commit;
	// it is pushed (Push is implied) and the checkout switches back to
	// where it was.
	Branch string
	// Push pushes the commit to the current branch's upstream.
	Push bool
	// Remote overrides the remote to push to: default the current branch's
	// upstream remote, else origin.
	Remote string
	// NoCommit writes the files and stops.
	NoCommit bool
	// AllowDirty edits and commits files that have uncommitted changes
	// (the changes are committed too).
	AllowDirty bool
	// Reapply computes the change again on top of what the remote has, after
	// a push was rejected because the remote moved on: the intent is
	// replayed, not the text. A Change without Files means the remote has
	// it already. Required when pushing.
	Reapply func(ctx context.Context) (Change, error)
	// Attempts, when set, bounds the pushes; PushTimeout (0: a minute)
	// bounds the retries in time.
	Attempts    int
	PushTimeout time.Duration
	// NoPush, with Branch, commits on the branch and switches back without
	// pushing: the caller pushes it (internal/forge does, for --pr).
	NoPush bool
	// ReplaceBranch lets Branch exist already: it is created again at HEAD
	// (`git switch -C`). The caller has checked that nothing of anyone's is
	// lost (internal/forge checks that the branch holds only
	// kubectl-gitops commits).
	ReplaceBranch bool
}

// pushes reports whether the options push anything.
func (o PublishOptions) pushes() bool { return (o.Push || o.Branch != "") && !o.NoPush }

// Publisher publishes one change. NewPublisher runs every check that does
// not depend on the files, CheckFiles those that do; a dry run stops after
// them, so a dry run that passes predicts the real one.
type Publisher struct {
	repo *Repo
	opts PublishOptions
	// Remote and RemoteBranch are where the push goes ("" without one).
	Remote, RemoteBranch string
	// orig is the branch (or, detached, the commit) to come back to after
	// committing on opts.Branch.
	orig     string
	detached bool
}

// NewPublisher checks, before anything is written, that the change can go
// where opts say: a valid, new --branch name; a remote; a branch to push
// and no commits of the user's that the push would carry along unasked.
func (r *Repo) NewPublisher(ctx context.Context, opts PublishOptions) (*Publisher, error) {
	p := &Publisher{repo: r, opts: opts}
	if !opts.pushes() && opts.Branch == "" {
		return p, nil
	}
	branch, err := r.CurrentBranch(ctx)
	if err != nil {
		return nil, err
	}
	if opts.Branch != "" {
		if _, err := r.Git(ctx, "check-ref-format", "--branch", opts.Branch); err != nil || strings.HasPrefix(opts.Branch, "-") {
			return nil, fmt.Errorf("--branch %q: %w", opts.Branch, ErrBadBranchName)
		}
		if _, err := r.Git(ctx, "rev-parse", "--verify", "--quiet", "refs/heads/"+opts.Branch); err == nil && !opts.ReplaceBranch {
			return nil, fmt.Errorf("%w: %s; pick another --branch name, or delete it with `git branch -D %s`", ErrBranchExists, opts.Branch, opts.Branch)
		}
		p.orig, p.detached = branch, branch == ""
		if p.detached {
			if p.orig, err = r.Head(ctx); err != nil {
				return nil, err
			}
		}
		remote := opts.Remote
		if remote == "" {
			remote = "origin"
			if branch != "" {
				if rm, _, err := r.Upstream(ctx, branch); err == nil {
					remote = rm
				}
			}
		}
		if err := r.checkRemote(ctx, remote); err != nil {
			return nil, err
		}
		p.Remote, p.RemoteBranch = remote, opts.Branch
		return p, nil
	}
	if branch == "" {
		return nil, fmt.Errorf("%w: check out the branch to push to, or use --branch NAME", ErrDetached)
	}
	remote, rb, err := r.Upstream(ctx, branch)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoRemote, err)
	}
	if opts.Remote != "" {
		remote = opts.Remote
		if err := r.checkRemote(ctx, remote); err != nil {
			return nil, err
		}
	}
	if n, err := r.Ahead(ctx, remote, rb); err == nil && n > 0 {
		return nil, fmt.Errorf("%w: branch %s has %d commit(s) not on %s/%s, which the push would publish too: push them first, or use --branch", ErrUnpushed, branch, n, remote, rb)
	}
	p.Remote, p.RemoteBranch = remote, rb
	return p, nil
}

func (r *Repo) checkRemote(ctx context.Context, remote string) error {
	if _, err := r.Git(ctx, "remote", "get-url", remote); err != nil {
		return fmt.Errorf("%w: there is no remote %q; add one with `git remote add %s URL`", ErrNoRemote, remote, remote)
	}
	return nil
}

// Target is "remote/branch", where the push goes ("" without a push).
func (p *Publisher) Target() string {
	if p.Remote == "" {
		return ""
	}
	return p.Remote + "/" + p.RemoteBranch
}

// CheckFiles refuses files that are read-only, or (when the change is to be
// committed, without AllowDirty) have uncommitted changes: the commit would
// carry someone's unfinished work along.
func (p *Publisher) CheckFiles(ctx context.Context, files []string) error {
	var dirty []string
	for _, f := range files {
		st, err := os.Stat(filepath.Join(p.repo.Root, filepath.FromSlash(f)))
		if err != nil {
			return err
		}
		// Checked on the mode bits, not by trying: root can write anything,
		// and the rename of the atomic write would replace a read-only file.
		if st.Mode().Perm()&0o200 == 0 {
			return fmt.Errorf("%s is %w (mode %04o); make it writable (chmod u+w) if it is meant to be edited", f, ErrReadOnly, st.Mode().Perm())
		}
		if p.opts.NoCommit || p.opts.AllowDirty {
			continue
		}
		d, err := p.repo.Dirty(ctx, f)
		if err != nil {
			return err
		}
		if d {
			dirty = append(dirty, f)
		}
	}
	if len(dirty) > 0 {
		return fmt.Errorf("%s: %w; commit or stash them first, or pass --allow-dirty to commit them along with the change", strings.Join(dirty, ", "), ErrDirty)
	}
	return nil
}

// Published says how far a change went.
type Published struct {
	Written bool
	// Commit is the commit made, or after a push the commit pushed.
	Commit string
	// Branch is the new branch the commit is on ("" for the current one).
	Branch string
	Pushed bool
	// Target is "remote/branch" of the push.
	Target string
	// Rebased is true when the change was applied again on top of commits
	// pushed meanwhile, Attempts how many pushes it took.
	Rebased  bool
	Attempts int
	// AlreadyThere: after a rejection, the remote turned out to hold the
	// change already; nothing was pushed.
	AlreadyThere bool
	// RequestURL opens a pull or merge request for a pushed Branch on a
	// known web forge ("" otherwise); Base is the branch it would merge into.
	RequestURL, Base string
}

// Publish writes c (atomically), commits it, and pushes it, as far as the
// options say. With a Branch, the checkout switches back to where it was
// afterwards, whether the push worked or not.
func (p *Publisher) Publish(ctx context.Context, c Change) (res Published, err error) {
	// Publish answers a signal by putting the checkout back; it is not cut
	// off half way (see interrupt.Hold).
	defer interrupt.Hold(ctx)()
	r := p.repo
	files := c.Paths()
	if p.opts.Branch != "" {
		create := "-c"
		if p.opts.ReplaceBranch {
			create = "-C"
		}
		if _, err := r.Git(ctx, "switch", "--quiet", create, p.opts.Branch); err != nil {
			return res, fmt.Errorf("creating branch %s: %w", p.opts.Branch, err)
		}
		res.Branch = p.opts.Branch
		defer func() {
			if serr := p.switchBack(ctx); serr != nil && err == nil {
				err = serr
			}
			if interrupt.Is(ctx, err) && !res.Pushed {
				p.dropBranch(ctx)
			}
		}()
	}
	// What to put back if a signal stops the change half way (on a new
	// branch, switching back and dropping it does that).
	var rp *restorePoint
	if p.opts.Branch == "" {
		if rp, err = r.restorePoint(ctx, files); err != nil {
			return res, err
		}
	}
	if ctx.Err() != nil {
		return res, interrupt.Err(ctx)
	}
	if err := p.write(c); err != nil {
		return res, err
	}
	if ctx.Err() != nil {
		return res, stoppedAt(ctx, rp)
	}
	res.Written = true
	if p.opts.NoCommit {
		return res, nil
	}
	if res.Commit, err = r.CommitFiles(ctx, files, c.Message, c.Trailers...); err != nil || ctx.Err() != nil {
		if ctx.Err() != nil {
			res.Written, res.Commit = false, ""
			return res, stoppedAt(ctx, rp)
		}
		return res, fmt.Errorf("%w; the edited files are written but not committed: commit them by hand, or `git checkout -- %s` to undo", err, strings.Join(files, " "))
	}
	if !p.opts.pushes() {
		return res, nil
	}
	if p.opts.Reapply == nil {
		return res, errors.New("gitrepo: Publish pushes without a Reapply")
	}
	redo := func(ctx context.Context) (bool, error) {
		again, err := p.opts.Reapply(ctx)
		if err != nil {
			return false, err
		}
		if len(again.Files) == 0 {
			return false, nil
		}
		if err := p.write(again); err != nil {
			return false, err
		}
		if res.Commit, err = r.CommitFiles(ctx, again.Paths(), again.Message, again.Trailers...); err != nil {
			return false, err
		}
		return true, nil
	}
	po := PushOptions{Remote: p.Remote, RemoteBranch: p.RemoteBranch, Attempts: p.opts.Attempts, Timeout: p.opts.PushTimeout, SetUpstream: p.opts.Branch != "", Redo: redo}
	if rp != nil {
		// Giving up leaves the checkout as it was: a local commit left
		// behind would make the next --push refuse (ErrUnpushed).
		po.Undo = rp.restore
	}
	pr, err := r.Push(ctx, po)
	res.Attempts, res.Rebased = pr.Attempts, pr.Rebased
	if pr.Undone {
		res.Written, res.Commit = false, ""
	}
	if err != nil {
		if p.opts.Branch != "" {
			err = fmt.Errorf("%w (the change is committed on branch %s)", err, p.opts.Branch)
		}
		return res, err
	}
	res.Pushed, res.AlreadyThere = !pr.AlreadyThere, pr.AlreadyThere
	res.Target = p.Target()
	res.Commit = pr.Head
	if p.opts.Branch != "" {
		res.Base = p.base(ctx)
		// The URL as configured, not as insteadOf rewrites it: the forge's
		// address is what the user wrote.
		url, _ := r.Git(ctx, "config", "--get", "remote."+p.Remote+".url")
		res.RequestURL = RequestURL(strings.TrimSpace(url), res.Base, p.opts.Branch)
	}
	return res, nil
}

// base is the branch a pull request from the new branch would merge into:
// the upstream branch of where the user was, else that branch's name.
func (p *Publisher) base(ctx context.Context) string {
	if p.detached {
		return ""
	}
	if _, rb, err := p.repo.Upstream(ctx, p.orig); err == nil {
		return rb
	}
	return p.orig
}

func (p *Publisher) switchBack(ctx context.Context) error {
	// Switching back is the undoing of the switch: a signal does not stop it.
	ctx, cancel := cleanupContext(ctx)
	defer cancel()
	args := []string{"switch", "--quiet", p.orig}
	if p.detached {
		args = []string{"switch", "--quiet", "--detach", p.orig}
	}
	if _, err := p.repo.Git(ctx, args...); err != nil {
		return fmt.Errorf("switching back to %s: %w", p.orig, err)
	}
	return nil
}

func (p *Publisher) write(c Change) error {
	for _, f := range c.Paths() {
		if err := WriteFileAtomic(filepath.Join(p.repo.Root, filepath.FromSlash(f)), c.Files[f]); err != nil {
			return err
		}
	}
	return nil
}

// CommitFiles commits exactly files (relative to the root) with message and
// trailers ("Key: value" lines), and returns the new commit. Like `git
// commit --only`, whatever else is staged or modified stays staged or
// modified and out of the commit. Author and committer come from the user's
// git config, hooks run as usual.
func (r *Repo) CommitFiles(ctx context.Context, files []string, message string, trailers ...string) (string, error) {
	msg := strings.TrimRight(message, "\n")
	if len(trailers) > 0 {
		msg += "\n\n" + strings.Join(trailers, "\n")
	}
	args := append([]string{"commit", "--quiet", "--only", "--file=-", "--"}, files...)
	if _, err := r.GitInput(ctx, []byte(msg+"\n"), args...); err != nil {
		return "", fmt.Errorf("committing %s: %w", strings.Join(files, ", "), err)
	}
	return r.Head(ctx)
}

// WriteFileAtomic replaces path with data through a temporary file in the
// same directory and a rename, keeping the file's mode: a crash leaves the
// old file or the new one, never half of each.
func WriteFileAtomic(path string, data []byte) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(st.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
