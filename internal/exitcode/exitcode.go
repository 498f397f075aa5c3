// Package exitcode defines the process exit codes of kubectl-gitops and the
// error type that carries one from deep inside a command up to main.
//
// The codes are part of the public contract (README "Exit codes"): CI
// pipelines branch on them, so never renumber an existing code.
package exitcode

import (
	"errors"
	"fmt"

	"github.com/kubectl-gitops/kubectl-gitops/internal/envs"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/helmvalues"
	"github.com/kubectl-gitops/kubectl-gitops/internal/interrupt"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/readlimit"
	"github.com/kubectl-gitops/kubectl-gitops/internal/sops"
	"github.com/kubectl-gitops/kubectl-gitops/internal/yamledit"
)

// Code is a process exit status.
type Code int

const (
	// OK: the command did what was asked (for trace: deployed everywhere).
	OK Code = 0
	// Error: an unexpected failure (I/O, API server, git).
	Error Code = 1
	// Usage: bad flags or arguments; nothing was changed.
	Usage Code = 2
	// NotFound: the HelmRelease, revision, environment or Flux object does not exist.
	NotFound Code = 3
	// Failed: the thing inspected has failed (a HelmRelease upgrade failed,
	// promote --require-deployed refused because the source is not healthy).
	Failed Code = 4
	// Pending: still in progress when the timeout ran out.
	Pending Code = 5
	// Conflict: ambiguous match, dirty file, push rejected for good; the user
	// must decide something before retrying.
	Conflict Code = 6
	// Changed: diff found rendered changes, all valid (CI can tell "no
	// change" from "change" without parsing output).
	Changed Code = 7
	// Interrupted: SIGINT (Ctrl-C) stopped the command, 128+2 as shells
	// report it; what it had started was put back.
	Interrupted Code = 130
	// Terminated: SIGTERM stopped the command, 128+15.
	Terminated Code = 143
)

// codedError attaches an exit code to an error without changing its message.
type codedError struct {
	code Code
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

// Wrap returns err carrying code. A nil err stays nil.
func Wrap(code Code, err error) error {
	if err == nil {
		return nil
	}
	return &codedError{code: code, err: err}
}

// Errorf is fmt.Errorf with an exit code attached.
func Errorf(code Code, format string, args ...any) error {
	return Wrap(code, fmt.Errorf(format, args...))
}

// From returns the exit code of err: OK for nil; the code attached with Wrap
// or Errorf (the outermost one); else the code of the shared core's error
// kinds (see classes); else Error.
func From(err error) Code {
	if err == nil {
		return OK
	}
	// A signal outranks whatever the interrupted work reported.
	var sig *interrupt.Signal
	if errors.As(err, &sig) {
		return Code(sig.ExitCode())
	}
	var ce *codedError
	if errors.As(err, &ce) {
		return ce.code
	}
	for _, c := range classes {
		if c.is(err) {
			return c.code
		}
	}
	return Error
}

// class maps one kind of error of the shared core to its exit code. This
// table is the one place where the core's errors become exit codes, so the
// three commands agree on them.
type class struct {
	is   func(error) bool
	code Code
}

func sentinel(target error) func(error) bool {
	return func(err error) bool { return errors.Is(err, target) }
}

// kind matches errors of type *T anywhere in the chain.
func kind[T error]() func(error) bool {
	return func(err error) bool {
		var t T
		return errors.As(err, &t)
	}
}

// notFound is a lookup that found nothing; when files that mention the
// name do not parse, the answer is unknown, not "not found".
func notFound(err error) bool {
	var nf *manifest.NotFoundError
	return errors.As(err, &nf) && len(nf.Malformed) == 0
}

var classes = []class{
	// --repo (or the current directory) is not a checkout: fix the flag.
	// The same code for every command.
	{sentinel(gitrepo.ErrNotRepo), Usage},
	{kind[*envs.ConfigError](), Usage},
	{kind[*helmvalues.UsageError](), Usage},
	// Input that is too big, or not a file: fix the argument (or raise
	// --max-input-size).
	{kind[*readlimit.TooLargeError](), Usage},
	{kind[*readlimit.NotRegularError](), Usage},
	{notFound, NotFound},
	{sentinel(envs.ErrUnknownEnvironment), NotFound},
	{kind[*manifest.AmbiguousError](), Conflict},
	{kind[*helmvalues.ConflictError](), Conflict},
	{kind[*yamledit.PathError](), Conflict},
	{sentinel(gitrepo.ErrBadBranchName), Usage},
	{sentinel(gitrepo.ErrNoRemote), Usage},
	// The checkout's state needs a decision before retrying.
	{sentinel(gitrepo.ErrBranchExists), Conflict},
	{sentinel(gitrepo.ErrDetached), Conflict},
	{sentinel(gitrepo.ErrUnpushed), Conflict},
	{sentinel(gitrepo.ErrDirty), Conflict},
	{sentinel(gitrepo.ErrReadOnly), Conflict},
	{sentinel(gitrepo.ErrPushRejected), Conflict},
	{sentinel(gitrepo.ErrRebaseConflict), Conflict},
	{sentinel(gitrepo.ErrOperationInProgress), Conflict},
	{sentinel(gitrepo.ErrIndexLocked), Conflict},
	{sentinel(gitrepo.ErrUnmerged), Conflict},
	// An encrypted file is changed with sops, not as text.
	{sentinel(sops.ErrEncrypted), Conflict},
}
