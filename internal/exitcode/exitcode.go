// Package exitcode defines the process exit codes of kubectl-gitops and the
// error type that carries one from deep inside a command up to main.
//
// The codes are part of the public contract (README "Exit codes"): CI
// pipelines branch on them, so never renumber an existing code.
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

// From returns the exit code carried by err: OK for nil, Error when err
// carries no code.
func From(err error) Code {
	if err == nil {
		return OK
	}
	var ce *codedError
	if errors.As(err, &ce) {
		return ce.code
	}
	return Error
}
