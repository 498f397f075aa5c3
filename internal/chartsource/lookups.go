package chartsource

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// DefaultTimeout bounds one chart look-up (a git fetch, a chart
// repository's index or package, an OCI tag list or pull) when the
// Resolver's Lookups say nothing else.
const DefaultTimeout = 30 * time.Second

// Lookups remembers the outcome of every look-up of a chart source for
// the life of a run, failures included: a diff over a hundred releases of
// one source asks the source once, and an unreachable one costs one
// timeout, not a hundred. Resolvers of the two sides of a diff share one.
// The zero value is not usable; use NewLookups.
type Lookups struct {
	timeout time.Duration
	mu      sync.Mutex
	calls   map[string]*lookup
	// Requests counts the look-ups made (not the ones answered from memory).
	requests int
}

type lookup struct {
	done chan struct{}
	val  any
	err  error
}

// NewLookups returns an empty memory whose look-ups each get at most
// timeout (DefaultTimeout when 0).
func NewLookups(timeout time.Duration) *Lookups {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Lookups{timeout: timeout, calls: map[string]*lookup{}}
}

// Timeout is the bound on each look-up.
func (l *Lookups) Timeout() time.Duration { return l.timeout }

// Requests is how many look-ups were made, for tests and benchmarks.
func (l *Lookups) Requests() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.requests
}

// do runs f once per key, under the timeout, and hands every caller of
// that key its result. Concurrent callers of one key wait for the first.
func (l *Lookups) do(ctx context.Context, key string, f func(ctx context.Context) (any, error)) (any, error) {
	l.mu.Lock()
	if c, ok := l.calls[key]; ok {
		l.mu.Unlock()
		select {
		case <-c.done:
			return c.val, c.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	c := &lookup{done: make(chan struct{})}
	l.calls[key] = c
	l.requests++
	l.mu.Unlock()
	lctx, cancel := context.WithTimeout(ctx, l.timeout)
	c.val, c.err = f(lctx)
	if c.err != nil && lctx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
		c.err = fmt.Errorf("no answer within %s (--chart-timeout): %w", l.timeout, c.err)
	}
	cancel()
	if ctx.Err() != nil {
		// The caller gave up: that says nothing about the source.
		l.mu.Lock()
		delete(l.calls, key)
		l.mu.Unlock()
	}
	close(c.done)
	return c.val, c.err
}

func (r *Resolver) lookups() *Lookups {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Lookups == nil {
		r.Lookups = NewLookups(0)
	}
	return r.Lookups
}
