// Package exitcode defines the process exit codes of kubectl-gitops and how
// an error carries one from deep inside a command up to main.
//
// The codes are part of the public contract (README "Exit codes"): CI
// pipelines branch on them, so never renumber an existing code.
//
// The errors own their codes: a domain error type (fluxmodel.NotFoundError,
// gitrepo.ErrDirty, envs.ConfigError, ...) has an ExitCode method, and From
// finds the outermost one in the chain. This package is a leaf: it imports
// no package of the project, so every package can give its errors a code.
// Wrap and Errorf are for errors that have no type of their own (a flag
// that does not go with another, a count of failed releases).
package exitcode

import (
	"errors"
	"fmt"
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
	// promote --require-deployed refused because the source is not healthy,
	// a change does not validate).
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

// Coder is an error that knows its exit code.
type Coder interface {
	error
	ExitCode() int
}

// Quiet is an error whose news the command has already printed (diff's
// report): main exits with its code without repeating it on stderr.
type Quiet interface {
	error
	Quiet() bool
}

// From returns the exit code of err: OK for nil; the code of the outermost
// error in the chain that has one (Coder); else Error. main calls it once.
func From(err error) Code {
	if err == nil {
		return OK
	}
	var c Coder
	if errors.As(err, &c) {
		return Code(c.ExitCode())
	}
	return Error
}

// IsQuiet reports whether err says it has been reported already.
func IsQuiet(err error) bool {
	var q Quiet
	return errors.As(err, &q) && q.Quiet()
}

// codedError attaches an exit code to an error without changing its message.
type codedError struct {
	code Code
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }
func (e *codedError) ExitCode() int { return int(e.code) }

// New returns a sentinel error with message msg and exit code code, for a
// package's Err... variables: errors.Is matches it, From finds its code.
func New(code Code, msg string) error {
	return &codedError{code: code, err: errors.New(msg)}
}

// Wrap returns err carrying code, for an error with no type of its own
// (the code wins over any code inside err). A nil err stays nil.
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
