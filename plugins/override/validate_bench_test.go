package override_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
)

// BenchmarkOverrideValidate runs the built binary on the founding example
// (sample-app chart from a local bare repo, the chart cache warm), the
// override with validation and without, interleaved, and reports:
//   - x-no-validate: wall time with validation over without;
//   - validate-ms and no-validate-ms: the two means.
func BenchmarkOverrideValidate(b *testing.B) {
	_, clones := setup(b, 1, nil)
	dir := clones[0]
	bin := binarytest.Build(b)
	e := env(filepath.Dir(dir))
	args := []string{"override", "sample-app", "--set", "image.tag=1.22", "--set", "replicaCount=3", "--dry-run"}
	once := func(extra ...string) time.Duration {
		r := binarytest.Run(b, e, dir, bin, append(append([]string{}, args...), extra...)...)
		if r.ExitCode != 0 {
			b.Fatalf("exit %d: %s", r.ExitCode, r.Stderr)
		}
		return r.Wall
	}
	once() // warm the chart cache and the page cache
	var with, without time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		with += once()
		without += once("--validate=false")
	}
	b.StopTimer()
	b.ReportMetric(float64(with)/float64(without), "x-no-validate")
	b.ReportMetric(float64(with.Microseconds())/1000/float64(b.N), "validate-ms")
	b.ReportMetric(float64(without.Microseconds())/1000/float64(b.N), "no-validate-ms")
}
