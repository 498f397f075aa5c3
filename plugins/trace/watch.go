package trace

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/utils/clock"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxstatus"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
)

// watchLoop re-computes the trace on every watch event on the objects
// involved, until deployed, failed, --timeout or Ctrl-C. Nothing polls: each
// re-computation is triggered by an event from the API server.
func (o *runner) watchLoop(parent context.Context, snap *snapshot) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	timeout := o.timeoutChan()
	trigger := make(chan time.Time, 1)
	ws := newWatchSet(o.scope.dyn, trigger)
	defer ws.wait()
	defer cancel()

	var eventAt time.Time
	fromCaches := false
	for {
		ws.ensure(ctx, snap.fetched)
		if o.Watch {
			if err := o.print(snap.report, true); err != nil {
				return err
			}
			if o.hooks.onRedraw != nil && !eventAt.IsZero() {
				o.hooks.onRedraw(eventAt)
			}
		}
		if finished(snap.report) {
			if !fromCaches {
				return o.final(snap.report, nil)
			}
			// The watches' caches are each up to date, not with each other (a
			// Kustomization's status may arrive before the HelmRelease it
			// applied): confirm the verdict with one read in causal order.
			fresh, err := o.compute(ctx, o.scope, nil, false)
			if err != nil {
				return err
			}
			if finished(fresh.report) {
				return o.final(fresh.report, nil)
			}
			snap, fromCaches = fresh, false
		}
		select {
		case <-parent.Done():
			return o.final(snap.report, exitcode.Errorf(exitcode.Pending, "interrupted; commit %s is not deployed yet (%s)", gitrepo.Short(snap.report.Revision.SHA), snap.report.State))
		case <-timeout:
			return o.final(snap.report, exitcode.Errorf(exitcode.Pending, "timed out after %s; commit %s is not deployed yet (%s)", o.Timeout, gitrepo.Short(snap.report.Revision.SHA), snap.report.State))
		case eventAt = <-trigger:
		}
		next, err := o.compute(ctx, o.scope, ws.list, false)
		if err != nil {
			if errors.Is(ctx.Err(), context.Canceled) {
				continue
			}
			return err
		}
		if len(next.report.Releases) == 0 {
			if len(snap.report.Releases) > 0 {
				_ = o.print(next.report, o.Watch)
				return exitcode.Errorf(exitcode.NotFound, "the HelmReleases traced are gone (deleted while watching)")
			}
			if err := o.notFound(o.scope, next); err != nil && !o.mayAppear(o.scope, next) {
				_ = o.print(next.report, o.Watch)
				return err
			}
		}
		snap, fromCaches = next, true
	}
}

// final prints the last report for --wait (the --watch view is already on
// screen) and returns the exit status.
func (o *runner) final(r *fluxstatus.Report, err error) error {
	return o.finish(func() error { return o.print(r, false) }, err, func() error { return resultError(r) })
}

// finish is the end of --wait and --watch: print the last report (the
// --watch view is already on screen), then err, else the report's verdict.
func (o *runner) finish(print func() error, err error, verdict func() error) error {
	if !o.Watch {
		if perr := print(); perr != nil {
			return perr
		}
	}
	if err != nil {
		return err
	}
	return verdict()
}

func finished(r *fluxstatus.Report) bool {
	return r.Deployed || r.State == fluxstatus.Failed
}

// timeoutChan fires after --timeout on the factory's clock when it can
// make timers (a fake clock in tests), else on the real one.
func (o *runner) timeoutChan() <-chan time.Time {
	if c, ok := o.factory.Clock().(clock.WithTicker); ok {
		return c.NewTimer(o.Timeout).C()
	}
	return time.NewTimer(o.Timeout).C
}

// watchSet runs one watch per fetch target and signals trigger on any
// event. Each watch also keeps a cache of its target's objects, so the
// re-computation an event triggers reads them from memory: a redraw costs
// no API request, and its delay is the watch's plus the computation's.
type watchSet struct {
	dyn     dynamic.Interface
	trigger chan time.Time
	mu      sync.Mutex
	running map[string]*objectCache // by target key
	wg      sync.WaitGroup
}

func newWatchSet(dyn dynamic.Interface, trigger chan time.Time) *watchSet {
	return &watchSet{dyn: dyn, trigger: trigger, running: map[string]*objectCache{}}
}

func (w *watchSet) wait() { w.wg.Wait() }

// list answers from the target's cache when it is watched, else from the
// API server.
func (w *watchSet) list(ctx context.Context, dyn dynamic.Interface, t fluxstatus.Target) (*unstructured.UnstructuredList, error) {
	w.mu.Lock()
	c := w.running[t.Key()]
	w.mu.Unlock()
	if c == nil {
		return fluxstatus.ListFromAPI(ctx, dyn, t)
	}
	return c.list(), nil
}

// ensure starts watches for targets not watched yet (an upgrade can bring
// new workloads and namespaces into the trace), each cache seeded with
// the list the watch resumes from.
func (w *watchSet) ensure(ctx context.Context, f *fluxstatus.Fetched) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, t := range f.Targets {
		key := t.Key()
		if w.running[key] != nil {
			continue
		}
		ul, listed := f.Lists[key]
		if !listed {
			continue // forbidden or not served
		}
		c := newObjectCache(ul)
		w.running[key] = c
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			w.run(ctx, t, c)
			if ctx.Err() != nil {
				return
			}
			// The watch ended (expired resourceVersion, an error event):
			// forget it and its cache and re-compute; that lists the target
			// from the API server and the next ensure restarts the watch
			// from the fresh list's resourceVersion, so no change is lost.
			w.mu.Lock()
			delete(w.running, key)
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

func (w *watchSet) run(ctx context.Context, t fluxstatus.Target, c *objectCache) {
	rv := c.resourceVersion
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
			if ev.Type == watch.Error {
				w.notify()
				return
			}
			if !c.apply(ev) {
				continue
			}
			// Events are cached but do not redraw by themselves: a Flux event
			// comes with a status change of its object, which does.
			if t.GVR != fluxstatus.EventGVR {
				w.notify()
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

// objectCache is one target's objects as its watch last saw them. Kinds
// are not kept: Fetch sets each listed object's kind from its target.
type objectCache struct {
	mu              sync.Mutex
	resourceVersion string
	objects         map[string]*unstructured.Unstructured // by namespace/name
}

func newObjectCache(ul *unstructured.UnstructuredList) *objectCache {
	c := &objectCache{resourceVersion: ul.GetResourceVersion(), objects: map[string]*unstructured.Unstructured{}}
	for i := range ul.Items {
		u := ul.Items[i].DeepCopy()
		c.objects[u.GetNamespace()+"/"+u.GetName()] = u
	}
	return c
}

// apply records a watch event; it reports whether the objects changed
// (bookmarks only move the resourceVersion).
func (c *objectCache) apply(ev watch.Event) bool {
	u, ok := ev.Object.(*unstructured.Unstructured)
	if !ok {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.resourceVersion = u.GetResourceVersion()
	key := u.GetNamespace() + "/" + u.GetName()
	switch ev.Type {
	case watch.Added, watch.Modified:
		u = u.DeepCopy()
		u.SetManagedFields(nil) // as Fetch drops them from lists: they are most of an object's size
		c.objects[key] = u
	case watch.Deleted:
		delete(c.objects, key)
	default:
		return false
	}
	return true
}

// list returns copies of the objects in namespace/name order, as the API
// server lists them.
func (c *objectCache) list() *unstructured.UnstructuredList {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := make([]string, 0, len(c.objects))
	for k := range c.objects {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	ul := &unstructured.UnstructuredList{Items: make([]unstructured.Unstructured, 0, len(keys))}
	ul.SetResourceVersion(c.resourceVersion)
	for _, k := range keys {
		ul.Items = append(ul.Items, *c.objects[k].DeepCopy())
	}
	return ul
}
