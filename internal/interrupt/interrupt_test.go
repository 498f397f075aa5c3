package interrupt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	clocktesting "k8s.io/utils/clock/testing"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// exits records the codes Handler.Exit was called with.
type exits struct {
	mu    sync.Mutex
	codes []int
	ch    chan int
}

func newExits() *exits { return &exits{ch: make(chan int, 4)} }

func (e *exits) exit(code int) {
	e.mu.Lock()
	e.codes = append(e.codes, code)
	e.mu.Unlock()
	e.ch <- code
}

func (e *exits) wait(t *testing.T) int {
	t.Helper()
	select {
	case c := <-e.ch:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("Exit was not called")
		return 0
	}
}

func TestFirstSignalCancelsSecondExits(t *testing.T) {
	ex := newExits()
	var out bytes.Buffer
	ctx, stop := Notify(context.Background(), Handler{Exit: ex.exit, ErrOut: &out})
	defer stop()
	syscall.Kill(syscall.Getpid(), syscall.SIGINT)
	<-ctx.Done()
	sig := Cause(ctx)
	if sig == nil || sig.ExitCode() != 130 || !strings.Contains(sig.Error(), "SIGINT") {
		t.Fatalf("cause = %v", sig)
	}
	var s *Signal
	if !errors.As(Err(ctx), &s) {
		t.Fatalf("Err(ctx) = %v, want the *Signal", Err(ctx))
	}
	// No grace period: the first signal alone never exits.
	select {
	case c := <-ex.ch:
		t.Fatalf("Exit(%d) after the first signal", c)
	case <-time.After(100 * time.Millisecond):
	}
	syscall.Kill(syscall.Getpid(), syscall.SIGTERM)
	if c := ex.wait(t); c != 143 {
		t.Fatalf("second signal: Exit(%d), want 143 at once", c)
	}
	if strings.Count(out.String(), "\n") != 1 {
		t.Errorf("message: %q, want one line", out.String())
	}
}

func TestGraceWaitsForHolds(t *testing.T) {
	ex := newExits()
	clk := clocktesting.NewFakeClock(time.Now())
	ctx, stop := Notify(context.Background(), Handler{Exit: ex.exit, Grace: time.Second, Clock: clk, ErrOut: &bytes.Buffer{}})
	defer stop()
	release := Hold(ctx)
	syscall.Kill(syscall.Getpid(), syscall.SIGTERM)
	<-ctx.Done()
	for !clk.HasWaiters() { // the grace timer is armed
		time.Sleep(time.Millisecond)
	}
	clk.Step(time.Second) // the grace period is over
	select {
	case c := <-ex.ch:
		t.Fatalf("Exit(%d) while a Hold was held", c)
	case <-time.After(200 * time.Millisecond): // no exit while held
	}
	release()
	if c := ex.wait(t); c != 143 {
		t.Fatalf("Exit(%d), want 143", c)
	}
}

func TestReportOnce(t *testing.T) {
	ex := newExits()
	var out bytes.Buffer
	ctx, stop := Notify(context.Background(), Handler{Exit: ex.exit, ErrOut: &out})
	defer stop()
	Report(ctx, &out) // no signal yet: nothing
	syscall.Kill(syscall.Getpid(), syscall.SIGINT)
	<-ctx.Done()
	Report(ctx, &out)
	Report(ctx, &out)
	if got := out.String(); got != fmt.Sprintf("%s: stopped; nothing was written after it, and what had been started was put back\n", Cause(ctx)) {
		t.Errorf("got %q", got)
	}
}
