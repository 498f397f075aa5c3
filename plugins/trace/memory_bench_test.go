package trace

import (
	"context"
	"io"
	"runtime"
	"runtime/metrics"
	"strconv"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/kube/kubefake"
)

// podsOfRelease makes n more pods of the fixture's sample-app Deployment
// (its ReplicaSet's, matched by its selector).
func podsOfRelease(n int) []*unstructured.Unstructured {
	out := make([]*unstructured.Unstructured, n)
	for i := range out {
		out[i] = &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "Pod",
			"metadata": map[string]any{
				"name": "sample-app-7d9f8c6b5-" + strconv.Itoa(i), "namespace": "sample-app",
				"labels":          map[string]any{"app": "sample-app", "pod-template-hash": "7d9f8c6b5"},
				"ownerReferences": []any{map[string]any{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "sample-app-7d9f8c6b5", "uid": "r3"}},
			},
			"spec":   map[string]any{"containers": []any{map[string]any{"name": "app", "image": "nginx:1.21"}}},
			"status": map[string]any{"phase": "Running", "conditions": []any{map[string]any{"type": "Ready", "status": "True"}}},
		}}
	}
	return out
}

// liveHeap is the live heap after a full collection.
func liveHeap() float64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return float64(s[0].Value.Uint64())
}

// BenchmarkWatchMemory10000Pods: `trace --watch` of a release with 10,000
// pods (a fake API server), whose pods then change again and again,
// cancelled mid-watch (as Ctrl-C does). Reported: the live heap the watch
// holds (MB-watching, and per pod), its growth over the status changes
// (MB-growth: the caches replace objects, they do not pile them up), and
// what stays after the cancel (MB-after-cancel, goroutines-left). It fails
// when the watch grows by more than a tenth of what it holds over the
// changes, or when more than a tenth of it (or any watch goroutine) stays
// after the cancel: memory that grows without bound, or is never given
// back.
//
// Run: go test ./plugins/trace -run '^$' -bench WatchMemory -benchtime 1x
func BenchmarkWatchMemory10000Pods(b *testing.B) {
	const pods, changedPerRound = 10000, 1000
	r := newAppRepo(b)
	// The cluster still runs the parent: the trace keeps watching.
	objs := append(fixtureObjects(b, "revision-deployed.yaml", r, "{{C", "{{P"), podsOfRelease(pods)...)
	for i := 0; i < b.N; i++ {
		c := newCluster(b, objs)
		g0 := runtime.NumGoroutine()
		h0 := liveHeap()
		redrawn := make(chan time.Time, 1)
		// Output to io.Discard: a buffer would grow with every redraw and
		// be counted as the watch's.
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan result, 1)
		go func() {
			f := &kubefake.Factory{Dyn: c, Clk: clocktesting.NewFakeClock(testNow), NS: "sample-app"}
			cmd := newCmd(f, genericiooptions.IOStreams{Out: io.Discard, ErrOut: io.Discard}, func(h *hooks) {
				h.onRedraw = func(at time.Time) {
					select {
					case redrawn <- at:
					default:
					}
				}
			})
			cmd.SetArgs([]string{r.C, "--repo", r.dir, "--watch", "--timeout", "1h"})
			cmd.SetOut(io.Discard)
			cmd.SetErr(io.Discard)
			done <- result{"", cmd.ExecuteContext(ctx)}
		}()
		awaitWatches(b, c, watchedTargets)
		h1 := liveHeap()
		// Changes to the same 1,000 pods in each of 5 rounds, 20 at a time
		// (the fake's watch channels hold 100 events): each batch is
		// waited for. Every redraw reads all 10,000 pods, so changing each
		// of them every round would take over half an hour here; 4,000
		// changed objects kept instead of replaced would still be several
		// times the limit below. The same pods each round: the fake API
		// server keeps a new copy of a pod the first time it changes while
		// objs keeps the original, so growth is measured from the end of
		// the first round (a different thousand each round read as 18 MB
		// of growth that was the fake's).
		var hRound []float64
		for round := 0; round < 5; round++ {
			for p := 0; p < changedPerRound; p += 20 {
				for _, o := range objs[len(objs)-pods+p : len(objs)-pods+p+20] {
					o := o.DeepCopy()
					o.SetAnnotations(map[string]string{"round": strconv.Itoa(round), "at": time.Now().String()})
					c.set(b, o)
				}
				<-redrawn
			}
			hRound = append(hRound, liveHeap())
		}
		cancel()
		if res := <-done; res.err == nil {
			b.Fatal("the cancelled watch returned no error")
		}
		var left int
		for try := 0; try < 100; try++ {
			if left = runtime.NumGoroutine() - g0; left <= 0 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		h3 := liveHeap()
		holds := h1 - h0
		growth := hRound[len(hRound)-1] - hRound[0]
		after := h3 - h0
		b.ReportMetric(holds/(1<<20), "MB-watching")
		b.ReportMetric(holds/pods/1024, "KB/pod")
		b.ReportMetric(growth/(1<<20), "MB-growth")
		b.ReportMetric(after/(1<<20), "MB-after-cancel")
		b.ReportMetric(float64(max(left, 0)), "goroutines-left")
		b.Logf("%d pods: the watch holds %.1f MB (%.1f KB/pod), grew %.1f MB over 4 rounds of %d changes, %.1f MB and %d goroutines left after the cancel",
			pods, holds/(1<<20), holds/pods/1024, growth/(1<<20), changedPerRound, after/(1<<20), max(left, 0))
		if growth > holds/10 {
			b.Errorf("the watch grew by %.1f MB over 4 rounds of changes to %d of its %d pods (it holds %.1f MB): memory grows with events", growth/(1<<20), changedPerRound, pods, holds/(1<<20))
		}
		if after > holds/10 || left > 0 {
			b.Errorf("after the cancel %.1f MB of the watch's %.1f MB and %d goroutines are still held", after/(1<<20), holds/(1<<20), left)
		}
	}
}
