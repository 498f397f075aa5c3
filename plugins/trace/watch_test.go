package trace

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
)

// watchedTargets is what a trace of the Revision fixture watches: every
// listed target, the 4 event lists included (their watches keep the caches
// a redraw reads, without redrawing by themselves).
const watchedTargets = 11

// awaitWatches blocks until n watches are registered with the fake.
func awaitWatches(t testing.TB, c *cluster, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		<-c.watches
	}
}

type result struct {
	out string
	err error
}

func startTrace(t *testing.T, c *cluster, clk *clocktesting.FakeClock, hook func(*hooks), args ...string) (<-chan result, context.CancelFunc) {
	return startTraceTB(t, c, clk, hook, args...)
}

func startTraceB(b *testing.B, c *cluster, hook func(*hooks), args ...string) (<-chan result, context.CancelFunc) {
	return startTraceTB(b, c, nil, hook, args...)
}

func startTraceTB(t testing.TB, c *cluster, clk *clocktesting.FakeClock, hook func(*hooks), args ...string) (<-chan result, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan result, 1)
	go func() {
		out, _, err := runCtx(ctx, t, c, clk, hook, args...)
		done <- result{out, err}
	}()
	return done, cancel
}

func finish(t *testing.T, done <-chan result) result {
	t.Helper()
	return <-done
}

// moveTo replaces the cluster's objects with the fixture's state, one by one,
// as the controllers would.
func moveTo(t *testing.T, c *cluster, objs []*unstructured.Unstructured) {
	for _, o := range objs {
		switch o.GetKind() {
		case "GitRepository", "HelmChart", "HelmRelease", "Deployment":
			c.set(t, o)
		}
	}
}

func TestWaitUntilDeployed(t *testing.T) {
	r := newAppRepo(t)
	// The cluster still runs P: C is not fetched yet.
	c := newCluster(t, fixtureObjects(t, "revision-deployed.yaml", r, "{{C", "{{P"))
	done, cancel := startTrace(t, c, nil, nil, r.C, "--repo", r.dir, "--wait")
	defer cancel()
	awaitWatches(t, c, watchedTargets)
	moveTo(t, c, fixtureObjects(t, "revision-deployed.yaml", r))
	res := finish(t, done)
	if res.err != nil || !strings.Contains(res.out, "DEPLOYED") {
		t.Fatalf("exit %d (%v)\n%s", exitcode.From(res.err), res.err, res.out)
	}
	if strings.Count(res.out, "Result:") != 1 {
		t.Errorf("--wait prints the result once:\n%s", res.out)
	}
}

func TestWaitFailed(t *testing.T) {
	r := newAppRepo(t)
	c := newCluster(t, fixtureObjects(t, "revision-deployed.yaml", r, "{{C", "{{P"))
	done, cancel := startTrace(t, c, nil, nil, r.C, "--repo", r.dir, "--wait", "-o", "json")
	defer cancel()
	awaitWatches(t, c, watchedTargets)
	objs := fixtureObjects(t, "revision-deployed.yaml", r)
	for _, o := range objs {
		if o.GetKind() != "HelmRelease" {
			continue
		}
		// The upgrade to C's chart failed for good; v3 (P) stays deployed.
		h, _, _ := unstructured.NestedSlice(o.Object, "status", "history")
		failed := h[0].(map[string]any)
		failed["status"], failed["version"] = "failed", int64(4)
		prev := h[1].(map[string]any)
		prev["status"], prev["version"] = "deployed", int64(3)
		_ = unstructured.SetNestedSlice(o.Object, h, "status", "history")
		msg := "Helm upgrade failed for release sample-app/sample-app with chart sample-app@0.1.2+" + r.C[:12] + ": resources.limits.memory: not-a-quantity"
		_ = unstructured.SetNestedSlice(o.Object, []any{
			map[string]any{"type": "Ready", "status": "False", "reason": "UpgradeFailed", "message": msg, "lastTransitionTime": "2026-11-25T18:01:00Z"},
			map[string]any{"type": "Released", "status": "False", "reason": "UpgradeFailed", "message": msg, "lastTransitionTime": "2026-11-25T18:01:00Z"},
			map[string]any{"type": "Stalled", "status": "True", "reason": "RetriesExceeded", "message": "Failed to upgrade after 1 attempt(s)", "lastTransitionTime": "2026-11-25T18:01:00Z"},
		}, "status", "conditions")
	}
	moveTo(t, c, objs)
	res := finish(t, done)
	if code := exitcode.From(res.err); code != exitcode.Failed || !strings.Contains(res.out, `"code": "ReleaseFailed"`) {
		t.Fatalf("exit %d (%v), want Failed\n%s", code, res.err, res.out)
	}
}

func TestWaitTimeout(t *testing.T) {
	r := newAppRepo(t)
	c := newCluster(t, fixtureObjects(t, "revision-deployed.yaml", r, "{{C", "{{P"))
	clk := clocktesting.NewFakeClock(testNow)
	done, cancel := startTrace(t, c, clk, nil, r.C, "--repo", r.dir, "--wait", "--timeout", "2m")
	defer cancel()
	awaitWatches(t, c, watchedTargets)
	clk.Step(2 * time.Minute)
	res := finish(t, done)
	if code := exitcode.From(res.err); code != exitcode.Pending || !strings.Contains(res.err.Error(), "timed out after 2m0s") {
		t.Fatalf("exit %d (%v), want Pending", code, res.err)
	}
	if !strings.Contains(res.out, "NotFetchedYet") {
		t.Errorf("the final report says why:\n%s", res.out)
	}
}

func TestWatchInterrupted(t *testing.T) {
	r := newAppRepo(t)
	c := newCluster(t, fixtureObjects(t, "revision-deployed.yaml", r, "{{C", "{{P"))
	done, cancel := startTrace(t, c, nil, nil, r.C, "--repo", r.dir, "--watch")
	awaitWatches(t, c, watchedTargets)
	cancel() // Ctrl-C
	res := finish(t, done)
	if code := exitcode.From(res.err); code != exitcode.Pending || !strings.Contains(res.err.Error(), "interrupted") {
		t.Fatalf("exit %d (%v), want Pending", code, res.err)
	}
}

// TestWatchRedraws: each status change redraws the view; the delay between
// the change in the (fake) API server and the redraw is measured.
func TestWatchRedraws(t *testing.T) {
	r := newAppRepo(t)
	c := newCluster(t, fixtureObjects(t, "revision-deployed.yaml", r, "{{C", "{{P"))
	redrawn := make(chan time.Time, 10)
	done, cancel := startTrace(t, c, nil, func(o *hooks) {
		o.onRedraw = func(time.Time) { redrawn <- time.Now() }
	}, r.C, "--repo", r.dir, "--watch")
	defer cancel()
	awaitWatches(t, c, watchedTargets)
	var delays []time.Duration
	for _, o := range fixtureObjects(t, "revision-deployed.yaml", r) {
		switch o.GetKind() {
		case "GitRepository", "HelmChart", "HelmRelease":
		default:
			continue
		}
		start := time.Now()
		c.set(t, o)
		select {
		case at := <-redrawn:
			delays = append(delays, at.Sub(start))
		case res := <-done:
			t.Fatalf("finished early: %v\n%s", res.err, res.out)
		}
	}
	res := finish(t, done)
	if res.err != nil {
		t.Fatalf("%v\n%s", res.err, res.out)
	}
	// One view at start, then one per change.
	if n := strings.Count(res.out, "Result:"); n != 4 {
		t.Errorf("%d views drawn, want 4:\n%s", n, res.out)
	}
	if !strings.Contains(res.out, "source fetched    waiting") || !strings.HasSuffix(strings.TrimSpace(res.out), "g = commit date.") {
		t.Errorf("unexpected views:\n%s", res.out)
	}
	t.Logf("change-to-redraw delays: %v", delays)
}

func TestReconcileSetsAnnotation(t *testing.T) {
	r := newAppRepo(t)
	c := newCluster(t, fixtureObjects(t, "revision-deployed.yaml", r, "{{C", "{{P"))
	_, errOut, err := run(t, c, nil, r.C, "--repo", r.dir, "--reconcile")
	if exitcode.From(err) != exitcode.Pending {
		t.Fatalf("exit %d (%v)", exitcode.From(err), err)
	}
	for _, o := range []struct{ gvrKind, ns, name string }{
		{"GitRepository", "flux-system", "sample-app-helm-chart"},
		{"HelmChart", "flux-system", "sample-app-sample-app"},
		{"HelmRelease", "sample-app", "sample-app"},
	} {
		obj, err := c.Tracker().Get(gvrOf[o.gvrKind], o.ns, o.name)
		if err != nil {
			t.Fatal(err)
		}
		u := obj.(*unstructured.Unstructured)
		if got := u.GetAnnotations()[ReconcileAnnotation]; got != testNow.Format(time.RFC3339Nano) {
			t.Errorf("%s %s/%s %s = %q", o.gvrKind, o.ns, o.name, ReconcileAnnotation, got)
		}
		if !strings.Contains(errOut, "requested reconcile of "+o.gvrKind) {
			t.Errorf("stderr does not report the %s request:\n%s", o.gvrKind, errOut)
		}
	}
}

// Once its watches are in place, --watch redraws from what they saw: the
// redraw a status change triggers makes no API request, and shows the
// change (here: the release moving on to the deployed state).
func TestWatchRedrawMakesNoRequests(t *testing.T) {
	r := newAppRepo(t)
	c := newCluster(t, fixtureObjects(t, "revision-deployed.yaml", r, "{{C", "{{P"))
	redrawn := make(chan struct{}, 16)
	var atLastRedraw atomic.Int64
	done, cancel := startTrace(t, c, nil, func(o *hooks) {
		o.onRedraw = func(time.Time) { atLastRedraw.Store(c.requests.Load()); redrawn <- struct{}{} }
	}, r.C, "--repo", r.dir, "--watch", "--timeout", "1h")
	defer cancel()
	awaitWatches(t, c, watchedTargets)
	before := c.requests.Load()
	moveTo(t, c, fixtureObjects(t, "revision-deployed.yaml", r))
	res := finish(t, done)
	if res.err != nil || !strings.Contains(res.out, "deployed everywhere") {
		t.Fatalf("exit %d (%v)\n%s", exitcode.From(res.err), res.err, res.out)
	}
	if len(redrawn) == 0 {
		t.Fatal("no redraw after the changes")
	}
	if n := atLastRedraw.Load() - before; n != 0 {
		t.Errorf("%d API requests for %d redraws; want none: the watches' caches answer", n, len(redrawn))
	}
	// The verdict drawn from the caches is confirmed once, with one read of
	// the API server in causal order (the fetch of a trace: 11 requests).
	if n := c.requests.Load() - atLastRedraw.Load(); n != watchedTargets {
		t.Errorf("%d API requests after the last redraw; want %d: one confirming fetch", n, watchedTargets)
	}
}
