// Package interrupt turns SIGINT and SIGTERM into the cancellation of a
// context whose cause says which signal it was, so that every command stops
// where it is, puts back what it had started, and exits 130 (SIGINT) or 143
// (SIGTERM). A second signal does not wait for that: it exits at once.
package interrupt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// Signal is the cause of a context cancelled by a signal.
type Signal struct {
	Sig os.Signal
}

func (s *Signal) Error() string {
	return fmt.Sprintf("interrupted by %s", Name(s.Sig))
}

// ExitCode is the shell's convention for a process ended by a signal:
// 128 + the signal number (130 for SIGINT, 143 for SIGTERM).
func (s *Signal) ExitCode() int {
	if n, ok := s.Sig.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return 130
}

// Name is SIGINT or SIGTERM (or the signal's own name).
func Name(sig os.Signal) string {
	switch sig {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return sig.String()
}

// Cause returns the signal that cancelled ctx, or nil.
func Cause(ctx context.Context) *Signal {
	var s *Signal
	if errors.As(context.Cause(ctx), &s) {
		return s
	}
	return nil
}

// Is reports whether err is, or ctx was cancelled by, a signal.
func Is(ctx context.Context, err error) bool {
	var s *Signal
	return errors.As(err, &s) || Cause(ctx) != nil
}

// Notify returns a context cancelled, with a *Signal cause, by the first
// SIGINT or SIGTERM. A second signal calls exit(code) at once (main passes
// os.Exit): whoever presses Ctrl-C twice does not want to wait for the
// clean-up. stop releases the signals.
func Notify(parent context.Context, exit func(code int)) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		var first *Signal
		for {
			select {
			case <-done:
				return
			case sig := <-ch:
				s := &Signal{Sig: sig}
				if first != nil {
					exit(s.ExitCode())
					return
				}
				first = s
				cancel(s)
			}
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}

// Err is ctx's error with its cause: the *Signal when a signal cancelled
// it (errors.As finds it), else ctx.Err().
func Err(ctx context.Context) error {
	if s := Cause(ctx); s != nil {
		return s
	}
	return ctx.Err()
}
