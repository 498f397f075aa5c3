// Package gitrepo runs the git operations the plugins share: finding the
// checkout, committing one file, pushing with rebase-and-retry, reading
// remotes and ancestry.
//
// It drives the real git binary rather than a Go reimplementation so that
// the user's own configuration (author, hooks, credentials helpers, signing,
// CRLF settings) applies exactly as it does at their prompt.
package gitrepo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
)

// Repo is a Git work tree on disk.
type Repo struct {
	// Root is the absolute path of the top of the work tree.
	Root string
	// Env is added to git's environment (tests pin author and dates here).
	Env []string

	// objects memoizes what git said about immutable objects named by a
	// full SHA (a file at a commit, whether a commit exists): a trace asks
	// the same questions of the same commits several times, and each git
	// process costs 5-30 ms.
	mu      sync.Mutex
	objects map[string]memoized
}

type memoized struct {
	out string
	ok  bool
}

// remember returns the memoized answer for key, or computes and keeps it.
// Errors other than "does not exist" are not kept.
func (r *Repo) remember(key string, compute func() (string, bool, error)) (string, bool, error) {
	r.mu.Lock()
	m, hit := r.objects[key]
	r.mu.Unlock()
	if hit {
		return m.out, m.ok, nil
	}
	out, ok, err := compute()
	if err != nil {
		return out, ok, err
	}
	r.mu.Lock()
	if r.objects == nil {
		r.objects = map[string]memoized{}
	}
	r.objects[key] = memoized{out, ok}
	r.mu.Unlock()
	return out, ok, nil
}

// isFullSHA reports whether s names an object by its full hash (SHA-1 or
// SHA-256), so what git says about it can never change.
func isFullSHA(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Open finds the work tree containing dir.
func Open(ctx context.Context, dir string) (*Repo, error) {
	r := &Repo{Root: dir}
	out, err := r.Git(ctx, "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, fmt.Errorf("%s: %w (use --repo to point at a checkout of your GitOps repo)", dir, ErrNotRepo)
	}
	r.Root = strings.TrimSpace(out)
	return r, nil
}

// Git runs git with args in the work tree and returns its standard output.
// The error includes git's standard error, which is what the user needs.
func (r *Repo) Git(ctx context.Context, args ...string) (string, error) {
	return r.GitInput(ctx, nil, args...)
}

// GitInput is Git with stdin.
func (r *Repo) GitInput(ctx context.Context, stdin []byte, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	// Cancelled, git and its helpers get SIGINT as from Ctrl-C, not
	// SIGKILL: git removes its lock files (index.lock, a ref's .lock) on
	// the way out (see Interruptible).
	Interruptible(cmd)
	cmd.Dir = r.Root
	cmd.Env = append(cmd.Environ(), r.Env...)
	// Never let git stop to ask for a password or an editor: a plugin run in
	// CI would hang forever.
	cmd.Env = append(cmd.Env, "GIT_TERMINAL_PROMPT=0", "GIT_EDITOR=true")
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState != nil && cmd.ProcessState.Success() && ctx.Err() == nil {
		// git succeeded, but a process it left behind holds the output
		// pipes: "Auto packing the repository in background" after a
		// commit, fetch or push detaches a git gc that inherits them. What
		// git wrote is all there is; WaitDelay only stopped the wait.
		err = nil
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		return stdout.String(), &Error{Args: args, Stderr: msg, Err: err}
	}
	return stdout.String(), nil
}

// Error is a failed git invocation.
type Error struct {
	Args   []string
	Stderr string
	Err    error
}

func (e *Error) Error() string {
	if e.Stderr == "" {
		return fmt.Sprintf("git %s: %v", strings.Join(e.Args, " "), e.Err)
	}
	return fmt.Sprintf("git %s: %s", strings.Join(e.Args, " "), e.Stderr)
}

func (e *Error) Unwrap() error { return e.Err }
