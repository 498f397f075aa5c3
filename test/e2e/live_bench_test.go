//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/kubectl-gitops/kubectl-gitops/test/e2e/e2eutil"
)

// BenchmarkDiffLive: `diff --live` over a range that changes the values of 50 deployed HelmReleases
// (a Deployment, a Service, a ConfigMap and a Secret each), side by side in the same run with `diff`
// alone plus one `helm get manifest` per release (Helm's own action.Get on the secret driver). It fails
// above 2x (issue #23). GITOPS_BENCH_LIVE_RELEASES=N sizes it; rounds alternate the three and the
// median of each is compared.
//
//	go test -tags e2e -run '^$' -bench DiffLive -benchtime 1x -v ./test/e2e/
func BenchmarkDiffLive(b *testing.B) {
	e := e2eutil.Setup(b)
	ns := e.Namespace(b)
	n := 50
	if s := os.Getenv("GITOPS_BENCH_LIVE_RELEASES"); s != "" {
		fmt.Sscan(s, &n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()

	chart := pushLiveChart(b, e)
	names := make([]string, n)
	release := func(i int, values string) string {
		return strings.Replace(liveHelmRelease(ns, values), "name: live-app\n", fmt.Sprintf("name: %s\n", names[i]), 1)
	}
	gitops := e.NewRepo(b, "live-gitops")
	gitops.Commit(b, "releases", func(dir string) {
		res := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - source.yaml\n"
		e2eutil.WriteFile(b, dir, "source.yaml", liveSource(ns, chart.URL))
		for i := range names {
			names[i] = fmt.Sprintf("live-app-%02d", i)
			e2eutil.WriteFile(b, dir, "releases/"+names[i]+".yaml", release(i, "    replicaCount: 1\n"))
			res += "  - releases/" + names[i] + ".yaml\n"
		}
		e2eutil.WriteFile(b, dir, "kustomization.yaml", res)
	})
	e.Apply(b, "", filepath.Join(gitops.Clone, "source.yaml"), filepath.Join(gitops.Clone, "releases"))
	waitAllReleased(b, e, ns, n, 15*time.Minute)

	clone := gitops.CloneTo(b)
	gitCmd(b, clone, "switch", "-q", "-c", "change")
	for i := range names {
		e2eutil.WriteFile(b, clone, "releases/"+names[i]+".yaml", release(i, "    replicaCount: 2\n    greeting: bonjour\n"))
	}
	gitCmd(b, clone, "commit", "-qam", "values")

	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig = &e.Kubeconfig
	// As the helm CLI runs one get per process, unthrottled: client-go's default of 5 requests a second
	// would make the fifty reads wait on the client's own rate limiter.
	flags.WrapConfigFn = func(c *rest.Config) *rest.Config {
		c.QPS, c.Burst = 500, 1000
		return c
	}
	if e.Context != "" {
		flags.Context = &e.Context
	}
	cfg := new(action.Configuration)
	if err := cfg.Init(flags, ns, "secret", func(string, ...any) {}); err != nil {
		b.Fatal(err)
	}
	helmGet := func() time.Duration {
		start := time.Now()
		for _, name := range names {
			g := action.NewGet(cfg)
			rel, err := g.Run(name)
			if err != nil || rel.Manifest == "" {
				b.Fatalf("helm get manifest %s: %v", name, err)
			}
		}
		return time.Since(start)
	}
	run := func(args ...string) time.Duration {
		start := time.Now()
		r := e.Run(b, ctx, clone, args...)
		d := time.Since(start)
		if r.ExitCode != 7 {
			b.Fatalf("%s: exit %d, want 7", strings.Join(args, " "), r.ExitCode)
		}
		if want := fmt.Sprintf("%d HelmRelease(s) in the range: %d changed", n, n); !strings.Contains(r.Stdout, want) {
			b.Fatalf("%s: output lacks %q", strings.Join(args, " "), want)
		}
		return d
	}
	b.ResetTimer()
	var diffs, gets, lives []time.Duration
	for round := 0; round < 3; round++ {
		diffs = append(diffs, run("diff", "origin/main..HEAD"))
		gets = append(gets, helmGet())
		lives = append(lives, run("diff", "--live", "origin/main..HEAD"))
	}
	b.StopTimer()
	d, g, l := median(diffs), median(gets), median(lives)
	ratio := l.Seconds() / (d + g).Seconds()
	b.ReportMetric(d.Seconds(), "diff-s")
	b.ReportMetric(g.Seconds(), "helm-get-s")
	b.ReportMetric(l.Seconds(), "live-s")
	b.ReportMetric(ratio, "ratio")
	b.Logf("%d releases: diff %s, helm get manifest x%d %s, diff --live %s: %.2fx diff + helm get", n, d.Round(time.Millisecond), n, g.Round(time.Millisecond), l.Round(time.Millisecond), ratio)
	if ratio > 2 {
		b.Errorf("diff --live took %.2fx diff + helm get manifest per release; the target is 2x", ratio)
	}
}

// waitAllReleased waits, on one watch, until n HelmReleases of ns are
// Released=True.
func waitAllReleased(tb testing.TB, e *e2eutil.Env, ns string, n int, timeout time.Duration) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	lw := e2eutil.SelectorListWatch(e.Dynamic.Resource(e2eutil.HelmReleases).Namespace(ns), "", "")
	released := map[string]bool{}
	_, err := watchtools.UntilWithSync(ctx, lw, &unstructured.Unstructured{}, nil, func(ev watch.Event) (bool, error) {
		u, ok := ev.Object.(*unstructured.Unstructured)
		if !ok {
			return false, nil
		}
		if ev.Type == watch.Deleted || !e2eutil.HasCondition(u, "Released", "True", "") {
			delete(released, u.GetName())
		} else {
			released[u.GetName()] = true
		}
		return len(released) >= n, nil
	})
	if err != nil {
		tb.Fatalf("%d of %d HelmReleases released after %s: %v", len(released), n, timeout, err)
	}
}
