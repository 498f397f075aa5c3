package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"k8s.io/utils/clock"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/interrupt"
)

// ErrPushRejected is returned when the remote kept refusing the push.
var ErrPushRejected = exitcode.New(exitcode.Conflict, "push rejected")

// ErrRebaseConflict is returned when the local commit does not apply on
// top of what was pushed meanwhile.
var ErrRebaseConflict = exitcode.New(exitcode.Conflict, "rebase conflict")

// DefaultPushTimeout bounds how long Push keeps retrying a push the remote
// rejects because others pushed first (--push-timeout).
const DefaultPushTimeout = time.Minute

// The pause before retry n is drawn at random from [0, min(backoffMax,
// backoffBase*2^(n-1))) ("full jitter"): processes that collided once do
// not collide again in lockstep, and the pauses stay short while the
// remote is quiet.
const (
	backoffBase = 50 * time.Millisecond
	backoffMax  = 2 * time.Second
)

// PushOptions configure Push.
type PushOptions struct {
	Remote, RemoteBranch string
	// Timeout bounds the retries: no retry starts after it (0 means
	// DefaultPushTimeout). Each retry fetches, rebuilds the change on the
	// fresh remote head (Redo) and pushes again.
	Timeout time.Duration
	// Attempts, when set, also bounds the pushes (0: only Timeout does).
	Attempts int
	// Clock sleeps between retries and measures Timeout (nil: the real
	// clock). Jitter, when set, returns a number in [0, 1) (nil: random).
	Clock  clock.Clock
	Jitter func() float64
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
	// a rejection is final.
	Redo func(ctx context.Context) (committed bool, err error)
	// Undo, when set, is called when Push gives up on a moved remote (time
	// or attempts ran out, the redo failed, or ctx was cancelled before the
	// push landed): it puts the checkout back as it was before the change
	// (Publisher does). Without it the local commit is kept, and the error
	// says how to push it by hand.
	Undo func(ctx context.Context) error
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
	// Undone is true when Push gave up and Undo put the checkout back.
	Undone bool
}

// Push pushes HEAD to opts.Remote/opts.RemoteBranch. When the remote has
// moved on (a non-fast-forward rejection) it fetches, rebuilds the local
// commit on top (see PushOptions.Redo), waits a jittered, growing pause
// and tries again, until it lands or opts.Timeout runs out: any number of
// people overriding one file at the same time all land. When it gives up,
// Undo (if set) puts the checkout back as it was; otherwise the local
// commit is kept and the error says how to retry by hand. A cancelled ctx
// stops it between any two steps; a push that landed before that is
// reported as pushed.
func (r *Repo) Push(ctx context.Context, opts PushOptions) (PushResult, error) {
	clk := opts.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	jitter := opts.Jitter
	if jitter == nil {
		jitter = rand.Float64
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultPushTimeout
	}
	deadline := clk.Now().Add(timeout)
	var res PushResult
	target := "HEAD:refs/heads/" + opts.RemoteBranch
	retry := fmt.Sprintf("`git pull --rebase %s %s && git push %s %s`", opts.Remote, opts.RemoteBranch, opts.Remote, target)
	// The clean-up after giving up runs even though ctx may be cancelled:
	// it is what leaves the checkout as it was.
	cleanup := func() (context.Context, context.CancelFunc) { return cleanupContext(ctx) }
	kept := func(format string, args ...any) error {
		cctx, cancel := cleanup()
		defer cancel()
		head, _ := r.Head(cctx)
		return fmt.Errorf(format+"; your commit %s is kept locally, retry with %s", append(args, Short(head), retry)...)
	}
	// giveUp puts the checkout back (with Undo) or keeps the commit.
	giveUp := func(format string, args ...any) error {
		if opts.Undo == nil {
			return kept(format, args...)
		}
		cctx, cancel := cleanup()
		defer cancel()
		if err := opts.Undo(cctx); err != nil {
			return kept(format+" (putting the checkout back failed too: %v)", append(args, err)...)
		}
		res.Undone = true
		return fmt.Errorf(format+"; nothing was pushed and the checkout is as it was before: run the command again", args...)
	}
	// stopped answers a cancelled ctx: the signal's error, after Undo.
	stopped := func() error {
		if opts.Undo != nil {
			cctx, cancel := cleanup()
			defer cancel()
			if err := opts.Undo(cctx); err != nil {
				return fmt.Errorf("%w; putting the checkout back failed: %v", interrupt.Err(ctx), err)
			}
			res.Undone = true
		}
		return interrupt.Err(ctx)
	}
	var last error
	for {
		if ctx.Err() != nil {
			return res, stopped()
		}
		res.Attempts++
		args := []string{"push", "--quiet"}
		if opts.SetUpstream {
			args = append(args, "--set-upstream")
		}
		_, err := r.Git(ctx, append(args, opts.Remote, target)...)
		if err == nil || (ctx.Err() != nil && r.landed(opts.Remote, opts.RemoteBranch)) {
			cctx, cancel := cleanup()
			defer cancel()
			head, herr := r.Head(cctx)
			res.Head = head
			// Keep the remote-tracking ref in step, as a plain push does.
			_, _ = r.Git(cctx, "fetch", "--quiet", opts.Remote, opts.RemoteBranch)
			return res, herr
		}
		if ctx.Err() != nil {
			return res, stopped()
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
		if opts.Redo == nil {
			return res, kept("%w by %s %s: it has commits this branch lacks", ErrPushRejected, opts.Remote, opts.RemoteBranch)
		}
		if opts.Attempts > 0 && res.Attempts >= opts.Attempts {
			return res, giveUp("%w %d times by %s %s (last: %v)", ErrPushRejected, res.Attempts, opts.Remote, opts.RemoteBranch, last)
		}
		pause := time.Duration(jitter() * float64(min(backoffMax, backoffBase<<min(res.Attempts-1, 16))))
		if !clk.Now().Add(pause).Before(deadline) {
			return res, giveUp("%w %d times by %s %s within --push-timeout %s: others kept pushing first (last: %v)", ErrPushRejected, res.Attempts, opts.Remote, opts.RemoteBranch, timeout, last)
		}
		select {
		case <-ctx.Done():
			return res, stopped()
		case <-clk.After(pause):
		}
		if _, err := r.Git(ctx, "fetch", "--quiet", opts.Remote, opts.RemoteBranch); err != nil {
			if ctx.Err() != nil {
				return res, stopped()
			}
			return res, giveUp("fetching %s %s after a rejected push: %w", opts.Remote, opts.RemoteBranch, err)
		}
		orig, err := r.Head(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return res, stopped()
			}
			return res, err
		}
		if _, err := r.Git(ctx, "reset", "--quiet", "--keep", "FETCH_HEAD"); err != nil {
			if ctx.Err() != nil {
				return res, stopped()
			}
			return res, giveUp("%w: cannot move onto what was pushed to %s %s meanwhile without touching your uncommitted changes (%v)", ErrRebaseConflict, opts.Remote, opts.RemoteBranch, err)
		}
		committed, err := opts.Redo(ctx)
		if err != nil {
			if opts.Undo == nil {
				// Put the branch back where it was, with the original commit.
				cctx, cancel := cleanup()
				_, _ = r.Git(cctx, "reset", "--quiet", "--keep", orig)
				cancel()
			}
			if ctx.Err() != nil {
				return res, stopped()
			}
			return res, giveUp("redoing the change on top of %s %s: %w", opts.Remote, opts.RemoteBranch, err)
		}
		res.Rebased = true
		if !committed {
			res.AlreadyThere = true
			res.Head, err = r.Head(ctx)
			return res, err
		}
	}
}

// landed reports whether remote's branch is at HEAD: a push interrupted
// on our side may have finished on the remote's.
func (r *Repo) landed(remote, branch string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	head, err := r.Head(ctx)
	if err != nil {
		return false
	}
	out, err := r.Git(ctx, "ls-remote", remote, "refs/heads/"+branch)
	return err == nil && strings.HasPrefix(strings.TrimSpace(out), head)
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
