package diff_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
)

// BenchmarkDiff100 runs the built binary's diff over a range that changes
// 100 HelmReleases (one GitRepository chart source, the founding chart, in
// a local bare repo) and reports:
//   - diff-ms: one diff of the range (worktrees, 2x100 composes, 200 renders
//     and validations, 100 rendered diffs);
//   - chart-dir-ms: the same with --chart-dir (no git fetch or extraction);
//   - per-release-ms: diff-ms / 100.
func BenchmarkDiff100(b *testing.B) {
	base := b.TempDir()
	env := binarytest.Env(base, "Differ", "differ@example.com")
	chart := filepath.Join(base, "chart", "work")
	binarytest.CopyTree(b, "../../examples/sample-app-helm-chart", chart)
	binarytest.Commit(b, env, chart, "chart")
	remote := binarytest.Publish(b, env, chart)

	work := filepath.Join(base, "gitops", "work")
	files := map[string]string{
		"sources/chart.yaml": "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: chart\n  namespace: flux-system\nspec:\n  interval: 1m\n  url: file://" + remote + "\n  ref:\n    branch: main\n",
	}
	for i := 0; i < 100; i++ {
		files[fmt.Sprintf("apps/app-%03d.yaml", i)] = fmt.Sprintf(`apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: app-%03d
  namespace: team-%02d
spec:
  interval: 5m
  chart:
    spec:
      chart: ./charts/sample-app
      sourceRef: {kind: GitRepository, name: chart, namespace: flux-system}
  values:
    replicaCount: 2
    image:
      tag: "1.21"
`, i, i%10)
	}
	for p, c := range files {
		writeFile(b, filepath.Join(work, p), c)
	}
	binarytest.Commit(b, env, work, "100 releases")
	binarytest.Publish(b, env, work)
	binarytest.Git(b, env, work, "switch", "-q", "-c", "bump")
	for i := 0; i < 100; i++ {
		p := filepath.Join(work, fmt.Sprintf("apps/app-%03d.yaml", i))
		writeFile(b, p, strings.Replace(files[fmt.Sprintf("apps/app-%03d.yaml", i)], `tag: "1.21"`, `tag: "1.22"`, 1))
	}
	binarytest.Git(b, env, work, "commit", "-qam", "bump all")
	bin := binarytest.Build(b)
	once := func(args ...string) time.Duration {
		r := binarytest.Run(b, env, work, bin, append([]string{"diff"}, args...)...)
		if r.ExitCode != 7 || strings.Count(r.Stdout, ": changed\n") != 100 {
			b.Fatalf("exit %d, %d changed\n%s", r.ExitCode, strings.Count(r.Stdout, ": changed\n"), r.Stderr)
		}
		return r.Wall
	}
	once() // warm the chart cache
	var full, local time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		full += once()
		local += once("--chart-dir", chart)
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(full.Milliseconds())/n, "diff-ms")
	b.ReportMetric(float64(local.Milliseconds())/n, "chart-dir-ms")
	b.ReportMetric(float64(full.Milliseconds())/n/100, "per-release-ms")
}

func writeFile(tb testing.TB, p, content string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkDiffUnreachable100 is issue 19's gate benchmark: diff over a
// range that changes 100 HelmReleases of one OCI source whose registry
// accepts connections and drops them (the registry a CI runner cannot
// use), against the same range rendered from the chart on disk
// (--chart-dir). It reports:
//   - unreachable-ms and local-ms: one diff each;
//   - ratio: unreachable-ms / local-ms (the target is at most 1.2);
//   - connections: TCP connections the registry saw per diff (one
//     look-up for the source, not one per release).
func BenchmarkDiffUnreachable100(b *testing.B) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	var conns atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			c.Close()
		}
	}()
	work, env := gateRepo(b, 100, "oci://"+l.Addr().String()+"/charts")
	chartDir, _ := filepath.Abs("../../examples/sample-app-helm-chart/charts/sample-app")
	bin := binarytest.Build(b)
	once := func(want int, args ...string) time.Duration {
		r := binarytest.Run(b, env, work, bin, append([]string{"diff", "--allow-unchecked"}, args...)...)
		if r.ExitCode != 7 || strings.Count(r.Stdout, "): "+map[int]string{0: "unchecked", 1: "changed"}[want]+"\n") != 100 {
			b.Fatalf("exit %d\n%s", r.ExitCode, r.Stderr)
		}
		return r.Wall
	}
	var bad, local time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bad += once(0)
		local += once(1, "--chart-dir", chartDir)
	}
	b.StopTimer()
	n := float64(b.N)
	ratio := float64(bad) / float64(local)
	b.ReportMetric(float64(bad.Milliseconds())/n, "unreachable-ms")
	b.ReportMetric(float64(local.Milliseconds())/n, "local-ms")
	b.ReportMetric(ratio, "ratio")
	b.ReportMetric(float64(conns.Load())/n, "connections")
	if c := float64(conns.Load()) / n; c > 2 {
		b.Errorf("%.1f connections to the registry per diff, want one look-up", c)
	}
	if ratio > 1.2 {
		b.Errorf("unreachable source: %.2fx the time of the local chart, want at most 1.2x", ratio)
	}
}
