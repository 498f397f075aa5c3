// Package interrupt turns SIGINT and SIGTERM into the cancellation of a
// context whose cause says which signal it was, so that every command stops
// where it is, puts back what it had started, and exits 130 (SIGINT) or 143
// (SIGTERM). A second signal does not wait for that: it exits at once.
package interrupt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"k8s.io/utils/clock"
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

// Handler says what happens on signals; main fills it in.
type Handler struct {
	// Exit ends the process (os.Exit).
	Exit func(code int)
	// Grace is how long after the first signal the command has to return
	// on its own; then, once no Hold is held, the process exits anyway. This
	// bounds work that cannot look at the context (a YAML parse). 0: never.
	Grace time.Duration
	// ErrOut gets the one-line message.
	ErrOut io.Writer
	// Clock measures Grace (nil: the real clock).
	Clock clock.Clock
}

// state is what Notify's context carries.
type state struct {
	h      Handler
	holds  sync.WaitGroup
	mu     sync.Mutex
	report sync.Once
}

type stateKey struct{}

// Notify returns a context cancelled, with a *Signal cause, by the first
// SIGINT or SIGTERM. A second signal exits at once: whoever presses Ctrl-C
// twice does not want to wait for the clean-up. After h.Grace, a command
// still running is ended too, unless it holds a Hold (it is putting things
// back). stop releases the signals.
func Notify(parent context.Context, h Handler) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	st := &state{h: h}
	ctx = context.WithValue(ctx, stateKey{}, st)
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
					Report(ctx, h.ErrOut)
					h.Exit(s.ExitCode())
					return
				}
				first = s
				cancel(s)
				if h.Grace > 0 {
					clk := h.Clock
					if clk == nil {
						clk = clock.RealClock{}
					}
					go func() {
						<-clk.After(h.Grace)
						st.mu.Lock() // no new Hold from here on
						st.holds.Wait()
						Report(ctx, h.ErrOut)
						h.Exit(s.ExitCode())
					}()
				}
			}
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}

// Hold keeps the process alive past the grace period until release is
// called: for the short steps that must not be cut in half (writing a
// file, a git commit, putting the checkout back). Without Notify's context
// it does nothing.
func Hold(ctx context.Context) (release func()) {
	st, ok := ctx.Value(stateKey{}).(*state)
	if !ok {
		return func() {}
	}
	st.mu.Lock()
	st.holds.Add(1)
	st.mu.Unlock()
	var once sync.Once
	return func() { once.Do(st.holds.Done) }
}

// Report writes, once per process, the one line that says a signal
// stopped the command.
func Report(ctx context.Context, w io.Writer) {
	sig := Cause(ctx)
	if sig == nil || w == nil {
		return
	}
	write := func() {
		fmt.Fprintf(w, "%s: stopped; nothing was written after it, and what had been started was put back\n", sig)
	}
	if st, ok := ctx.Value(stateKey{}).(*state); ok {
		st.report.Do(write)
		return
	}
	write()
}

// Err is ctx's error with its cause: the *Signal when a signal cancelled
// it (errors.As finds it), else ctx.Err().
func Err(ctx context.Context) error {
	if s := Cause(ctx); s != nil {
		return s
	}
	return ctx.Err()
}
