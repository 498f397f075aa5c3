//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/kubectl-gitops/kubectl-gitops/test/e2e/e2eutil"
)

// The scale the trace benchmark fills the cluster to (issue 4): 1,000 HelmReleases, each with a
// Deployment of 10 pods that kwok runs, spread over 10 namespaces. A smaller fill for trying the
// benchmark out: go test ... -args -trace-scale-releases=50
var scaleReleasesFlag = flag.Int("trace-scale-releases", 1000, "HelmReleases (with 10 pods each) BenchmarkTraceAtScale adds")

const (
	scaleReplicas   = 10
	scaleNamespaces = 10
	scaleRuns       = 7 // timed runs of each command, alternating
	redrawChanges   = 20
)

var nodes = schema.GroupVersionResource{Version: "v1", Resource: "nodes"}

// BenchmarkTraceAtScale traces the founding commit with the built binary and, side by side in the same
// loop, runs `flux trace` (the Flux CLI built by hack/tools.sh) on the same release's Deployment, before
// and after the cluster is filled with 1,000 HelmReleases and 10,000 running pods. Both talk to the API
// server through a counting proxy, so requests are counted the same way for both. It fails when the
// number of requests of one trace grows with the cluster. Then, on the full cluster, it measures the
// --watch redraw delay: from a status write to the API server until the binary prints the redrawn view,
// next to the delay of `kubectl get --watch` seeing the same write (the baseline of the same run).
//
//	make bench-cluster   (or, with a sandbox up: go test -tags e2e -run '^$' -bench TraceAtScale -benchtime 1x -timeout 60m ./test/e2e/)
func BenchmarkTraceAtScale(b *testing.B) {
	e := e2eutil.Setup(b)
	flux := fluxCLI(b)
	bin := e.Binary(b)
	ns := e.Namespace(b)
	f := e.DeployFounding(b, ns, e2eutil.FoundingOptions{ReconcileStrategy: "Revision"})
	sha := f.App.Head(b)
	proxy := newCountingProxy(b, e.Config)
	home := b.TempDir() // shared, so flux's discovery cache is warm as on a user's machine

	gitops := []string{bin, "trace", sha, "-n", ns, "-o", "json"}
	fluxTrace := []string{flux, "trace", "-n", ns, "deployment", e2eutil.Deployment}
	measure := func(phase string) (g, fl runStats) {
		// One untimed run each first: it fills flux's discovery cache and the page cache.
		proxy.run(b, home, f.App.Clone, gitops...)
		proxy.run(b, home, f.App.Clone, fluxTrace...)
		for i := 0; i < scaleRuns; i++ {
			g.add(proxy.run(b, home, f.App.Clone, gitops...))
			fl.add(proxy.run(b, home, f.App.Clone, fluxTrace...))
		}
		b.Logf("%-6s kubectl-gitops trace: %s", phase, g)
		b.Logf("%-6s flux trace:           %s", phase, fl)
		return g, fl
	}

	// The comparison of issue #24 as well: `trace HEAD` in the GitOps checkout against `flux trace
	// helmrelease`, straight to the API server (BenchmarkTraceVsFlux).
	pair := newTracePair(b, e, f)
	pairEnv := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "KUBECONFIG=" + e.Kubeconfig, "NO_COLOR=1"}
	for b.Loop() {
		gBefore, fBefore := measure("empty")
		pgBefore, pfBefore := pair.measure(b, pairEnv, scaleRuns)
		start := time.Now()
		filled := fillCluster(b, e)
		b.Logf("filled: %d HelmReleases, %d Deployments, %d pods Ready in %s", *scaleReleasesFlag, *scaleReleasesFlag,
			filled, time.Since(start).Round(time.Second))
		gAfter, fAfter := measure("full")
		pgAfter, pfAfter := pair.measure(b, pairEnv, scaleRuns)
		if gAfter.requests() != gBefore.requests() {
			b.Fatalf("requests per trace grew with the cluster: %d -> %d", gBefore.requests(), gAfter.requests())
		}
		redraw, baseline := measureRedraw(b, e, f, bin, proxy)

		b.ReportMetric(float64(gAfter.requests()), "requests/trace")
		b.ReportMetric(float64(fAfter.requests()), "requests/flux-trace")
		b.ReportMetric(ms(gAfter.medianWall()), "ms/trace")
		b.ReportMetric(ms(fAfter.medianWall()), "ms/flux-trace")
		b.ReportMetric(float64(gAfter.medianWall())/float64(fAfter.medianWall()), "trace/flux-wall")
		b.ReportMetric(float64(gAfter.medianCPU())/float64(fAfter.medianCPU()), "trace/flux-cpu")
		b.ReportMetric(float64(pgAfter.wall())/float64(pfAfter.wall()), "trace-HEAD/flux-hr-wall")
		b.Logf("trace HEAD vs flux trace helmrelease, empty cluster: %.2fx (%s; %s)", float64(pgBefore.wall())/float64(pfBefore.wall()), pgBefore, pfBefore)
		b.Logf("trace HEAD vs flux trace helmrelease, +%d HRs, +%d pods: %.2fx (%s; %s)", *scaleReleasesFlag, *scaleReleasesFlag*scaleReplicas,
			float64(pgAfter.wall())/float64(pfAfter.wall()), pgAfter, pfAfter)
		b.ReportMetric(ms(median(redraw)), "ms/redraw-p50")
		b.ReportMetric(ms(slices.Max(redraw)), "ms/redraw-max")
		b.ReportMetric(ms(median(baseline)), "ms/kubectl-watch-p50")

		b.Logf("\n%s", scaleTable([]row{
			{"kubectl gitops trace, empty cluster", gBefore},
			{"flux trace, empty cluster", fBefore},
			{fmt.Sprintf("kubectl gitops trace, +%d HRs, +%d pods", *scaleReleasesFlag, *scaleReleasesFlag*scaleReplicas), gAfter},
			{fmt.Sprintf("flux trace, +%d HRs, +%d pods", *scaleReleasesFlag, *scaleReleasesFlag*scaleReplicas), fAfter},
		}, redraw, baseline))
	}
}

// fluxCLI returns the Flux CLI hack/tools.sh builds (cached by version).
func fluxCLI(tb testing.TB) string {
	tb.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		tb.Fatal(err)
	}
	out, err := exec.Command(filepath.Join(root, "hack", "tools.sh"), "flux").Output()
	if err != nil {
		tb.Fatalf("hack/tools.sh flux: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1]
}

// countingProxy forwards plain-HTTP requests on loopback to the sandbox API server with the sandbox's
// credentials, counting them. A kubeconfig pointing at it makes any client's requests countable.
type countingProxy struct {
	kubeconfig string
	url        string // where it listens
	n          atomic.Int64

	mu  sync.Mutex
	log []proxied // every request, in the order they ended
}

// proxied is one request that went through the proxy, with when it came in
// and when its response was written.
type proxied struct {
	method, uri string
	start, end  time.Time
}

// since returns the requests that ended at or after t.
func (p *countingProxy) since(t time.Time) []proxied {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []proxied
	for _, r := range p.log {
		if !r.end.Before(t) {
			out = append(out, r)
		}
	}
	return out
}

func newCountingProxy(tb testing.TB, cfg *rest.Config) *countingProxy {
	tb.Helper()
	rt, err := rest.TransportFor(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	target, err := url.Parse(cfg.Host)
	if err != nil {
		tb.Fatal(err)
	}
	p := &countingProxy{}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = rt
	rp.FlushInterval = -1 // watches stream
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.n.Add(1)
		start := time.Now()
		rp.ServeHTTP(w, r)
		p.mu.Lock()
		p.log = append(p.log, proxied{method: r.Method, uri: r.URL.RequestURI(), start: start, end: time.Now()})
		p.mu.Unlock()
	}))
	tb.Cleanup(srv.Close)
	p.url = srv.URL
	p.kubeconfig = filepath.Join(tb.TempDir(), "kubeconfig")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: proxy, cluster: {server: %q}}]
users: [{name: proxy, user: {}}]
contexts: [{name: proxy, context: {cluster: proxy, user: proxy}}]
current-context: proxy
`, srv.URL)
	if err := os.WriteFile(p.kubeconfig, []byte(kc), 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

// run runs argv in dir through the proxy and returns its wall time, CPU time and request count.
// It fails the benchmark when the command fails: a trace that errors is not a measurement.
func (p *countingProxy) run(tb testing.TB, home, dir string, argv ...string) runStat {
	tb.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "KUBECONFIG=" + p.kubeconfig, "NO_COLOR=1"}
	before := p.n.Load()
	start := time.Now()
	out, err := cmd.CombinedOutput()
	wall := time.Since(start)
	if err != nil {
		tb.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return runStat{
		wall:     wall,
		cpu:      cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(),
		requests: p.n.Load() - before,
	}
}

type runStat struct {
	wall, cpu time.Duration
	requests  int64
}

type runStats []runStat

func (s *runStats) add(r runStat) { *s = append(*s, r) }

func (s runStats) pick(f func(runStat) time.Duration) []time.Duration {
	out := make([]time.Duration, len(s))
	for i, r := range s {
		out[i] = f(r)
	}
	return out
}

func (s runStats) medianWall() time.Duration {
	return median(s.pick(func(r runStat) time.Duration { return r.wall }))
}

func (s runStats) medianCPU() time.Duration {
	return median(s.pick(func(r runStat) time.Duration { return r.cpu }))
}

// requests is the request count of the runs, or -1 when they differ (which no run should).
func (s runStats) requests() int64 {
	n := s[0].requests
	for _, r := range s[1:] {
		if r.requests != n {
			return -1
		}
	}
	return n
}

func (s runStats) String() string {
	w := s.pick(func(r runStat) time.Duration { return r.wall })
	return fmt.Sprintf("wall median %.0f ms (%.0f-%.0f), CPU median %.0f ms, %d requests",
		ms(median(w)), ms(slices.Min(w)), ms(slices.Max(w)), ms(s.medianCPU()), s.requests())
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

type row struct {
	name  string
	stats runStats
}

func scaleTable(rows []row, redraw, baseline []time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-48s %10s %10s %10s %9s\n", "command", "wall p50", "wall max", "CPU p50", "requests")
	for _, r := range rows {
		w := r.stats.pick(func(s runStat) time.Duration { return s.wall })
		fmt.Fprintf(&b, "%-48s %8.0fms %8.0fms %8.0fms %9d\n", r.name, ms(median(w)), ms(slices.Max(w)), ms(r.stats.medianCPU()), r.stats.requests())
	}
	fmt.Fprintf(&b, "%-48s %8.1fms %8.1fms\n", "trace --watch redraw after a status write", ms(median(redraw)), ms(slices.Max(redraw)))
	fmt.Fprintf(&b, "%-48s %8.1fms %8.1fms\n", "kubectl get --watch, same writes (baseline)", ms(median(baseline)), ms(slices.Max(baseline)))
	return b.String()
}

// fillCluster adds 10 kwok nodes (1,100 pods each), then 1,000 suspended HelmReleases and their
// Deployments, labelled as helm-controller labels what it installs, in 10 namespaces, and waits until
// all 10,000 pods are Ready. It returns the number of Ready pods.
func fillCluster(b *testing.B, e *e2eutil.Env) int {
	b.Helper()
	return fillClusterWith(b, e, *scaleReleasesFlag, scaleReplicas)
}

// fillClusterWith is fillCluster with releases HelmReleases of replicas pods each.
func fillClusterWith(b *testing.B, e *e2eutil.Env, releases, replicas int) int {
	b.Helper()
	cfg := rest.CopyConfig(e.Config)
	cfg.QPS, cfg.Burst = 2000, 4000
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var objs []*unstructured.Unstructured
	var nodeObjs []*unstructured.Unstructured
	for i := 0; i < 10; i++ {
		nodeObjs = append(nodeObjs, benchNode(fmt.Sprintf("kwok-bench-%d", i)))
	}
	createAll(b, ctx, dyn, nodeObjs) // first, so no pod waits in the scheduler's back-off
	b.Cleanup(func() {
		for i := 0; i < 10; i++ {
			_ = e.Dynamic.Resource(nodes).Delete(context.Background(), fmt.Sprintf("kwok-bench-%d", i), metav1.DeleteOptions{})
		}
	})
	var namespaces []string
	for i := 0; i < scaleNamespaces; i++ {
		namespaces = append(namespaces, e.Namespace(b))
	}
	ours := map[string]bool{}
	for _, ns := range namespaces {
		ours[ns] = true
	}
	for i := 0; i < releases; i++ {
		ns := namespaces[i%scaleNamespaces]
		objs = append(objs, fillerRelease(ns, i), fillerDeployment(ns, i, replicas))
	}
	createAll(b, ctx, dyn, objs)

	// Wait, on one watch, until every filler Deployment reports all its replicas Ready.
	lw := e2eutil.SelectorListWatch(e.Dynamic.Resource(e2eutil.Deployments), "gitops-bench=trace-scale", "")
	ready := map[string]int64{}
	total := int64(0)
	wctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
	defer cancel()
	_, err = watchtools.UntilWithSync(wctx, lw, &unstructured.Unstructured{}, nil, func(ev watch.Event) (bool, error) {
		u, ok := ev.Object.(*unstructured.Unstructured)
		if !ok {
			return false, nil
		}
		if !ours[u.GetNamespace()] {
			return false, nil // an earlier fill's, still being deleted
		}
		key := u.GetNamespace() + "/" + u.GetName()
		n := e2eutil.Int(u, "status", "readyReplicas")
		if ev.Type == watch.Deleted {
			n = 0
		}
		total += n - ready[key]
		ready[key] = n
		return total == int64(releases*replicas), nil
	})
	if err != nil {
		b.Fatalf("waiting for %d filler pods to be Ready: %v (%d Ready)", releases*replicas, err, total)
	}
	return int(total)
}

// resourceOf is the resource of each kind the benchmark creates.
var resourceOf = map[string]schema.GroupVersionResource{
	"Node": nodes, "HelmRelease": e2eutil.HelmReleases, "Deployment": e2eutil.Deployments,
}

// createAll creates objs with 16 workers.
func createAll(b *testing.B, ctx context.Context, dyn dynamic.Interface, objs []*unstructured.Unstructured) {
	b.Helper()
	work := make(chan *unstructured.Unstructured)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range work {
				gvr := resourceOf[o.GetKind()]
				var ri dynamic.ResourceInterface = dyn.Resource(gvr)
				if o.GetNamespace() != "" {
					ri = dyn.Resource(gvr).Namespace(o.GetNamespace())
				}
				if _, err := ri.Create(ctx, o, metav1.CreateOptions{}); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("creating %s %s/%s: %w", o.GetKind(), o.GetNamespace(), o.GetName(), err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, o := range objs {
		work <- o
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
}

func benchNode(name string) *unstructured.Unstructured {
	capacity := map[string]any{"cpu": "1000", "memory": "4Ti", "pods": "1100"}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Node",
		"metadata": map[string]any{
			"name":        name,
			"annotations": map[string]any{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
			"labels":      map[string]any{"type": "kwok", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux"},
		},
		"status": map[string]any{"capacity": capacity, "allocatable": capacity},
	}}
}

func fillerRelease(ns string, i int) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
		"metadata": map[string]any{"name": fmt.Sprintf("app-%d", i), "namespace": ns},
		"spec": map[string]any{
			"suspend": true, "interval": "1h",
			"chart": map[string]any{"spec": map[string]any{
				"chart": "./charts/app", "sourceRef": map[string]any{"kind": "GitRepository", "name": "other"},
			}},
		},
	}}
}

func fillerDeployment(ns string, i, replicas int) *unstructured.Unstructured {
	name := fmt.Sprintf("app-%d", i)
	labels := map[string]any{"app": name}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": name, "namespace": ns, "labels": map[string]any{
			"gitops-bench":                     "trace-scale",
			"helm.toolkit.fluxcd.io/name":      name,
			"helm.toolkit.fluxcd.io/namespace": ns,
		}},
		"spec": map[string]any{
			"replicas": int64(replicas),
			"selector": map[string]any{"matchLabels": labels},
			"template": map[string]any{
				"metadata": map[string]any{"labels": labels},
				"spec":     map[string]any{"containers": []any{map[string]any{"name": "app", "image": "nginx:1.21"}}},
			},
		},
	}}
}

// measureRedraw suspends the founding release and its source, pushes a commit Flux will therefore not
// fetch, and runs `trace --watch -o json` on it: a view that stays "waiting" and redraws on every event.
// It then writes the HelmRelease's status 20 times (as a controller does) and, for each write, takes
// the time from the write until the binary printed its next view, and until `kubectl get --watch`
// printed the same resourceVersion (the baseline). Nothing else changes meanwhile, so each write makes
// exactly one view; a missing view fails the benchmark.
func measureRedraw(b *testing.B, e *e2eutil.Env, f *e2eutil.Founding, bin string, proxy *countingProxy) (redraw, baseline []time.Duration) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	suspend := []byte(`{"spec":{"suspend":true}}`)
	for _, o := range []struct {
		gvr  schema.GroupVersionResource
		name string
	}{{e2eutil.GitRepositories, e2eutil.AppSource}, {e2eutil.HelmReleases, e2eutil.HelmRelease}} {
		if _, err := e.Dynamic.Resource(o.gvr).Namespace(f.NS).Patch(ctx, o.name, types.MergePatchType, suspend, metav1.PatchOptions{}); err != nil {
			b.Fatalf("suspending %s %s: %v", o.gvr.Resource, o.name, err)
		}
	}
	sha := f.App.Commit(b, "not fetched while suspended", nil)

	// A view ends with the legend line; kubectl prints one line per event.
	endOfView := func(l string) bool { return strings.HasPrefix(l, "Times in UTC") }
	views := startLines(b, ctx, proxy, f.App.Clone, endOfView, bin, "trace", sha, "-n", f.NS, "--watch", "--timeout", "1h")
	rvs := startLines(b, ctx, proxy, f.App.Clone, func(string) bool { return true },
		"kubectl", "get", "helmrelease", e2eutil.HelmRelease, "-n", f.NS, "--watch", "-o", "jsonpath={.metadata.resourceVersion}{\"\\n\"}")
	first := <-views.ch
	if !strings.Contains(string(first.text), "Suspended: GitRepository") {
		b.Fatalf("first --watch view does not show the suspended source:\n%s\nstderr: %s", first.text, views.stderr())
	}
	<-rvs.ch // the current resourceVersion

	hr := e.Dynamic.Resource(e2eutil.HelmReleases).Namespace(f.NS)
	for i := 0; i < redrawChanges; i++ {
		patch := fmt.Appendf(nil, `{"status":{"lastHandledReconcileAt":"bench-%d"}}`, i)
		start := time.Now()
		written, err := hr.Patch(ctx, e2eutil.HelmRelease, types.MergePatchType, patch, metav1.PatchOptions{}, "status")
		if err != nil {
			b.Fatalf("writing the HelmRelease status: %v", err)
		}
		v, ok := views.next(start, 30*time.Second)
		if !ok {
			b.Fatalf("status write %d: no view redrawn within 30s (stderr: %s)", i, views.stderr())
		}
		r, ok := rvs.next(start, 30*time.Second)
		for ok && strings.TrimSpace(string(r.text)) != written.GetResourceVersion() {
			r, ok = rvs.next(start, 30*time.Second)
		}
		if !ok {
			b.Fatalf("status write %d: kubectl get --watch did not print resourceVersion %s within 30s", i, written.GetResourceVersion())
		}
		redraw = append(redraw, v.at.Sub(start))
		baseline = append(baseline, r.at.Sub(start))
	}
	return redraw, baseline
}

type line struct {
	at   time.Time
	text []byte
}

// lineStream is the output of a running command, in pieces, and its standard error.
type lineStream struct {
	ch     chan line
	mu     sync.Mutex
	errOut strings.Builder
}

// Write collects the command's standard error.
func (s *lineStream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.errOut.Write(p)
}

// next returns the first line read after start, dropping earlier ones.
func (s *lineStream) next(start time.Time, timeout time.Duration) (line, bool) {
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-s.ch:
			if ok && l.at.Before(start) {
				continue
			}
			return l, ok
		case <-deadline:
			return line{}, false
		}
	}
}

func (s *lineStream) stderr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.errOut.String()
}

// startLines starts argv through the proxy and sends its output in pieces, each ending with a line for
// which end is true, with the time that line was read. The process is killed when ctx ends.
func startLines(b *testing.B, ctx context.Context, proxy *countingProxy, dir string, end func(string) bool, argv ...string) *lineStream {
	b.Helper()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + b.TempDir(), "KUBECONFIG=" + proxy.kubeconfig, "NO_COLOR=1"}
	s := &lineStream{ch: make(chan line, 64)}
	cmd.Stderr = s
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatalf("starting %s: %v", argv[0], err)
	}
	b.Cleanup(func() { _ = cmd.Wait() })
	go func() {
		defer close(s.ch)
		var piece []byte
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			piece = append(append(piece, sc.Bytes()...), '\n')
			if end(sc.Text()) {
				s.ch <- line{at: time.Now(), text: piece}
				piece = nil
			}
		}
	}()
	return s
}
