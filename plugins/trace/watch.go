package trace

import (
	"context"
	"errors"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/utils/clock"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxstatus"
)

// watchLoop re-computes the trace on every watch event on the objects
// involved, until deployed, failed, --timeout or Ctrl-C. Nothing polls: each
// re-computation is triggered by an event from the API server.
func (o *Options) watchLoop(parent context.Context, snap *snapshot) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	timeout := o.timeoutChan()
	trigger := make(chan time.Time, 1)
	ws := &watchSet{dyn: o.dyn, trigger: trigger, running: map[string]bool{}}
	defer ws.wait()
	defer cancel()

	var eventAt time.Time
	for {
		ws.ensure(ctx, snap.fetched)
		if o.Watch {
			if err := o.print(snap.report, true); err != nil {
				return err
			}
			if o.onRedraw != nil && !eventAt.IsZero() {
				o.onRedraw(eventAt)
			}
		}
		if finished(snap.report) {
			return o.final(snap.report, nil)
		}
		select {
		case <-parent.Done():
			return o.final(snap.report, exitcode.Errorf(exitcode.Pending, "interrupted; commit %s is not deployed yet (%s)", short(snap.report.Revision.SHA), snap.report.State))
		case <-timeout:
			return o.final(snap.report, exitcode.Errorf(exitcode.Pending, "timed out after %s; commit %s is not deployed yet (%s)", o.Timeout, short(snap.report.Revision.SHA), snap.report.State))
		case eventAt = <-trigger:
		}
		next, err := o.compute(ctx)
		if err != nil {
			if errors.Is(ctx.Err(), context.Canceled) {
				continue
			}
			return err
		}
		if len(next.report.Releases) == 0 {
			_ = o.print(next.report, o.Watch)
			return exitcode.Errorf(exitcode.NotFound, "the HelmReleases traced are gone (deleted while watching)")
		}
		snap = next
	}
}

// final prints the last report for --wait (the --watch view is already on
// screen) and returns the exit status.
func (o *Options) final(r *fluxstatus.Report, err error) error {
	if !o.Watch {
		if perr := o.print(r, false); perr != nil {
			return perr
		}
	}
	if err != nil {
		return err
	}
	return resultError(r)
}

func finished(r *fluxstatus.Report) bool {
	return r.Deployed || r.State == fluxstatus.Failed
}

// timeoutChan fires after --timeout on the factory's clock when it can
// make timers (a fake clock in tests), else on the real one.
func (o *Options) timeoutChan() <-chan time.Time {
	if c, ok := o.factory.Clock().(clock.WithTicker); ok {
		return c.NewTimer(o.Timeout).C()
	}
	return time.NewTimer(o.Timeout).C
}

// watchSet runs one watch per fetch target and signals trigger on any event.
type watchSet struct {
	dyn     dynamic.Interface
	trigger chan time.Time
	mu      sync.Mutex
	running map[string]bool
	wg      sync.WaitGroup
}

func (w *watchSet) wait() { w.wg.Wait() }

// ensure starts watches for targets not watched yet (an upgrade can bring
// new workloads and namespaces into the trace).
func (w *watchSet) ensure(ctx context.Context, f *fluxstatus.Fetched) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, t := range f.Targets {
		if t.GVR == fluxstatus.EventGVR || w.running[t.Key()] {
			continue
		}
		if _, listed := f.ResourceVersions[t.Key()]; !listed {
			continue // forbidden or not served
		}
		w.running[t.Key()] = true
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			w.run(ctx, t, f.ResourceVersions[t.Key()])
			if ctx.Err() != nil {
				return
			}
			// The watch ended (expired resourceVersion, an error event):
			// forget it and re-compute; the next ensure restarts it from the
			// fresh list's resourceVersion, so no change is lost.
			w.mu.Lock()
			delete(w.running, t.Key())
			w.mu.Unlock()
			w.notify()
		}()
	}
}

func (w *watchSet) resource(t fluxstatus.Target) dynamic.ResourceInterface {
	if t.Namespace != "" {
		return w.dyn.Resource(t.GVR).Namespace(t.Namespace)
	}
	return w.dyn.Resource(t.GVR)
}

// watcher adapts a dynamic resource to the RetryWatcher's interface.
type watcher struct {
	ri dynamic.ResourceInterface
	t  fluxstatus.Target
}

func (lw *watcher) WatchWithContext(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	opts.LabelSelector, opts.FieldSelector = lw.t.LabelSelector, lw.t.FieldSelector
	return lw.ri.Watch(ctx, opts)
}

func (w *watchSet) run(ctx context.Context, t fluxstatus.Target, rv string) {
	lw := &watcher{ri: w.resource(t), t: t}
	var wi watch.Interface
	if rv != "" && rv != "0" {
		// Resumes from the list's resourceVersion and survives dropped
		// connections, so no change between list and watch is missed.
		if rw, err := watchtools.NewRetryWatcherWithContext(ctx, rv, lw); err == nil {
			wi = rw
		}
	}
	if wi == nil {
		var err error
		if wi, err = lw.WatchWithContext(ctx, metav1.ListOptions{ResourceVersion: rv}); err != nil {
			return
		}
	}
	defer wi.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-wi.ResultChan():
			if !ok {
				return
			}
			if ev.Type == watch.Bookmark {
				continue
			}
			w.notify()
			if ev.Type == watch.Error {
				return
			}
		}
	}
}

func (w *watchSet) notify() {
	select {
	case w.trigger <- time.Now():
	default: // a re-computation is already due; it will see this change too
	}
}
