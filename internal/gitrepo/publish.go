package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/interrupt"
	"github.com/kubectl-gitops/kubectl-gitops/internal/sops"
)

// The publish path refuses with these errors, each carrying its exit code
// (a flag to fix: 2; a state to decide about: 6) and wrapped with what to
// do next.
var (
	// ErrBadBranchName: --branch is not a name `git check-ref-format
	// --branch` accepts.
	ErrBadBranchName = exitcode.New(exitcode.Usage, "not a valid branch name")
	// ErrBranchExists: --branch names a branch that exists already.
	ErrBranchExists = exitcode.New(exitcode.Conflict, "branch already exists")
	// ErrNoRemote: there is no remote to push to.
	ErrNoRemote = exitcode.New(exitcode.Usage, "no remote to push to")
	// ErrDetached: HEAD is detached and there is no branch to push.
	ErrDetached = exitcode.New(exitcode.Conflict, "HEAD is detached")
	// ErrUnpushed: the branch has commits its remote has not, which a push
	// would publish along with the change.
	ErrUnpushed = exitcode.New(exitcode.Conflict, "commits not pushed yet")
	// ErrDirty: a file to be edited has uncommitted changes.
	ErrDirty = exitcode.New(exitcode.Conflict, "uncommitted changes")
	// ErrReadOnly: a file to be edited is read-only.
	ErrReadOnly = exitcode.New(exitcode.Conflict, "read-only")
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
	// it is pushed (Push is implied); the checkout stays where it was.
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
	// NoPush, with Branch, commits on the branch without
	// pushing: the caller pushes it (internal/forge does, for --pr).
	NoPush bool
	// ReplaceBranch lets Branch exist already: it is created again at HEAD
	// (`git switch -C`). The caller has checked that nothing of anyone's is
	// lost (internal/forge checks that the branch holds only
	// kubectl-gitops commits).
	ReplaceBranch bool
	// AllowEncrypted lets CheckFiles pass SOPS-encrypted files: the caller
	// writes them with `sops set`, which keeps the MAC valid.
	AllowEncrypted bool
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
	// scratch is kubectl-gitops's directory under .git; work is the work
	// tree the change is written and committed in (the checkout, or with
	// opts.Branch a linked work tree under scratch).
	scratch string
	work    *Repo
}

// NewPublisher checks, before anything is written, that the change can go
// where opts say: a checkout that is not in the middle of something
// (CheckState); a valid, new --branch name; a remote; a branch to push
// and no commits of the user's that the push would carry along unasked.
func (r *Repo) NewPublisher(ctx context.Context, opts PublishOptions) (*Publisher, error) {
	p := &Publisher{repo: r, opts: opts}
	if err := r.CheckState(ctx); err != nil {
		return nil, err
	}
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

// CheckFiles refuses files that are SOPS-encrypted (unless
// AllowEncrypted: the caller changes them with sops), read-only, or (when the change is to be
// committed, without AllowDirty) have uncommitted changes: the commit would
// carry someone's unfinished work along.
func (p *Publisher) CheckFiles(ctx context.Context, files []string) error {
	var dirty []string
	for _, f := range files {
		st, err := os.Stat(filepath.Join(p.repo.Root, filepath.FromSlash(f)))
		if errors.Is(err, fs.ErrNotExist) {
			continue // a file the change creates: nothing of it to lose
		}
		if err != nil {
			return err
		}
		// Checked on the mode bits, not by trying: root can write anything,
		// and the rename of the atomic write would replace a read-only file.
		if st.Mode().Perm()&0o200 == 0 {
			return fmt.Errorf("%s is %w (mode %04o); make it writable (chmod u+w) if it is meant to be edited", f, ErrReadOnly, st.Mode().Perm())
		}
		if !p.opts.AllowEncrypted {
			if enc, err := sops.FileEncrypted(filepath.Join(p.repo.Root, filepath.FromSlash(f))); err == nil && enc {
				return &sops.EncryptedError{File: f}
			}
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
// options say. With a Branch, the commit is made in a work tree of its own
// under .git (see branchTree): the checkout stays on the branch it was on,
// even when the process is killed half-way.
func (p *Publisher) Publish(ctx context.Context, c Change) (res Published, err error) {
	// Publish answers a signal by putting the checkout back; it is not cut
	// off half way (see interrupt.Hold).
	defer interrupt.Hold(ctx)()
	r := p.repo
	files := c.Paths()
	if p.scratch, err = r.scratchDir(ctx); err != nil {
		return res, err
	}
	r.cleanScratch(ctx, p.scratch)
	p.work = r
	if p.opts.Branch != "" {
		// Registered before the work tree's cleanup so that it runs after
		// it: a branch still checked out in a work tree cannot be deleted.
		defer func() {
			if interrupt.Is(ctx, err) && !res.Pushed {
				p.dropBranch(ctx)
			}
		}()
		wt, done, err := p.branchTree(ctx)
		if err != nil {
			return res, fmt.Errorf("creating branch %s: %w", p.opts.Branch, err)
		}
		defer done()
		p.work = wt
		res.Branch = p.opts.Branch
	}
	// What to put back if a signal stops the change half way (a new
	// branch lives in its own work tree: dropping it does that).
	var rp *restorePoint
	if p.opts.Branch == "" {
		if rp, err = r.restorePoint(ctx, files, p.scratch); err != nil {
			return res, err
		}
		defer rp.drop()
	}
	if ctx.Err() != nil {
		return res, interrupt.Err(ctx)
	}
	created := p.created(files)
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
	if res.Commit, err = p.work.commitFiles(ctx, files, created, c.Message, c.Trailers...); err != nil || ctx.Err() != nil {
		if ctx.Err() != nil {
			res.Written, res.Commit = false, ""
			return res, stoppedAt(ctx, rp)
		}
		if p.opts.Branch != "" {
			return res, fmt.Errorf("%w; branch %s was created at HEAD without the change: delete it with `git branch -D %s`", err, p.opts.Branch, p.opts.Branch)
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
		if p.opts.Branch != "" {
			// Reapply reads the checkout, which stays on the original
			// branch: it cannot recompute the change on top of someone
			// else's branch of the same name.
			return false, fmt.Errorf("%w: branch %s exists on %s already with other commits; pick another --branch", ErrPushRejected, p.opts.Branch, p.Remote)
		}
		again, err := p.opts.Reapply(ctx)
		if err != nil {
			return false, err
		}
		if len(again.Files) == 0 {
			return false, nil
		}
		created := p.created(again.Paths())
		if err := p.write(again); err != nil {
			return false, err
		}
		if res.Commit, err = p.work.commitFiles(ctx, again.Paths(), created, again.Message, again.Trailers...); err != nil {
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
	pr, err := p.work.Push(ctx, po)
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

func (p *Publisher) write(c Change) error {
	for _, f := range c.Paths() {
		rel := filepath.FromSlash(f)
		mode := os.FileMode(0o644)
		if st, err := os.Stat(filepath.Join(p.repo.Root, rel)); err == nil {
			mode = st.Mode().Perm()
		}
		if err := writeFileAtomic(filepath.Join(p.work.Root, rel), c.Files[f], mode, p.scratch); err != nil {
			return err
		}
	}
	return nil
}

// created lists the files that are not in the work tree yet.
func (p *Publisher) created(files []string) []string {
	var out []string
	for _, f := range files {
		if _, err := os.Lstat(filepath.Join(p.work.Root, filepath.FromSlash(f))); errors.Is(err, fs.ErrNotExist) {
			out = append(out, f)
		}
	}
	return out
}

// CommitFiles commits exactly files (relative to the root) with message and
// trailers ("Key: value" lines), and returns the new commit. Like `git
// commit --only`, whatever else is staged or modified stays staged or
// modified and out of the commit. Author and committer come from the user's
// git config, hooks run as usual.
func (r *Repo) CommitFiles(ctx context.Context, files []string, message string, trailers ...string) (string, error) {
	return r.commitFiles(ctx, files, nil, message, trailers...)
}

// commitFiles is CommitFiles where created are files the change creates:
// unknown to git, which `commit --only` refuses, so they get an
// intent-to-add entry first (known, nothing staged). Only for them: every
// extra git process that locks the index widens the window of concurrent
// pushes and of a kill.
func (r *Repo) commitFiles(ctx context.Context, files, created []string, message string, trailers ...string) (string, error) {
	msg := strings.TrimRight(message, "\n")
	if len(trailers) > 0 {
		msg += "\n\n" + strings.Join(trailers, "\n")
	}
	if len(created) > 0 {
		if _, err := r.Git(ctx, append([]string{"add", "--intent-to-add", "--"}, created...)...); err != nil {
			return "", fmt.Errorf("committing %s: %w", strings.Join(files, ", "), err)
		}
	}
	args := append([]string{"commit", "--quiet", "--only", "--file=-", "--"}, files...)
	if _, err := r.GitInput(ctx, []byte(msg+"\n"), args...); err != nil {
		return "", fmt.Errorf("committing %s: %w", strings.Join(files, ", "), err)
	}
	return r.Head(ctx)
}

// writeFileAtomic replaces path with data, with mode, through a temporary
// file in tmpDir (under .git, where a crash cannot leave it in the work
// tree) and a rename: a crash leaves the old file or the new one, never
// half of each. When tmpDir is on another file system than path, the
// temporary file goes next to path instead.
func writeFileAtomic(path string, data []byte, mode os.FileMode, tmpDir string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	err := writeVia(path, data, mode, tmpDir, scratchPrefix()+"write-*")
	if errors.Is(err, syscall.EXDEV) {
		err = writeVia(path, data, mode, filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	}
	return err
}

func writeVia(path string, data []byte, mode os.FileMode, dir, pattern string) error {
	tmp, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
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

// branchTree makes the work tree the commit on opts.Branch is made in: a
// linked work tree under .git, on the new branch at HEAD, with the index
// of HEAD and no files checked out (the change's files are written into
// it, so a large repository costs nothing). The user's checkout never
// leaves its branch; done removes the work tree, and a crash leaves it
// under .git for the next run to remove (cleanScratch).
func (p *Publisher) branchTree(ctx context.Context) (*Repo, func(), error) {
	r := p.repo
	dir, err := os.MkdirTemp(p.scratch, scratchPrefix()+"tree-*")
	if err != nil {
		return nil, nil, err
	}
	create := "-b"
	if p.opts.ReplaceBranch {
		create = "-B"
	}
	if _, err := r.Git(ctx, "worktree", "add", "--quiet", "--no-checkout", create, p.opts.Branch, dir, "HEAD"); err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	done := func() {
		// Not under ctx: an interrupted run still cleans up.
		bg := context.WithoutCancel(ctx)
		_, _ = r.Git(bg, "worktree", "remove", "--force", dir)
		_ = os.RemoveAll(dir)
		_, _ = r.Git(bg, "worktree", "prune")
	}
	wt := &Repo{Root: dir, Env: r.Env}
	if _, err := wt.Git(ctx, "read-tree", "HEAD"); err != nil {
		done()
		return nil, nil, err
	}
	return wt, done, nil
}
