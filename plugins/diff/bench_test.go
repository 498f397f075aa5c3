package diff_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
