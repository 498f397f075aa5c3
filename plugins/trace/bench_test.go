package trace

import (
	"testing"
	"time"
)

// BenchmarkTrace1000HelmReleases: one trace of the founding commit in a
// fake cluster that also holds 1,000 unrelated HelmReleases, 1,000
// Deployments and 10,000 pods. Reports API requests per trace.
func BenchmarkTrace1000HelmReleases(b *testing.B) {
	r := newAppRepo(b)
	c := newCluster(b, append(fixtureObjects(b, "revision-deployed.yaml", r), filler(1000)...))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.requests.Store(0)
		if _, _, err := run(b, c, nil, r.C, "--repo", r.dir, "-A"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(c.requests.Load()), "requests/trace")
}

// BenchmarkWatchRedraw: delay between a status change in the (fake) API
// server and the redrawn view, per change.
func BenchmarkWatchRedraw(b *testing.B) {
	r := newAppRepo(b)
	c := newCluster(b, fixtureObjects(b, "revision-deployed.yaml", r, "{{C", "{{P"))
	redrawn := make(chan time.Time, 1)
	done, cancel := startTraceB(b, c, func(o *hooks) {
		o.onRedraw = func(time.Time) { redrawn <- time.Now() }
	}, r.C, "--repo", r.dir, "--watch", "--timeout", "1h")
	defer cancel()
	awaitWatches(b, c, watchedTargets)
	var hr = fixtureObjects(b, "revision-deployed.yaml", r, "{{C", "{{P")
	var total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, o := range hr {
			if o.GetKind() != "HelmRelease" {
				continue
			}
			// A status-only change (as a controller's heartbeat would make).
			o.SetAnnotations(map[string]string{"bench": time.Now().String()})
			start := time.Now()
			c.set(b, o)
			at := <-redrawn
			total += at.Sub(start)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "ms/redraw")
	cancel()
	<-done
}
