//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kube"
	"github.com/kubectl-gitops/kubectl-gitops/test/e2e/e2eutil"
	"k8s.io/cli-runtime/pkg/genericclioptions"
)

// The goal (#24): `trace HEAD` takes no more wall time than `flux trace` of the same release.
const traceVsFluxGoal = 1.0

// traceVsFluxRuns timed runs of each command, alternating, after one untimed run each.
const traceVsFluxRuns = 15

// tracePair is the comparison of issue #24, as a user makes it: `kubectl gitops trace HEAD` in a checkout
// of the GitOps repo, and `flux trace helmrelease` of the release it reaches.
type tracePair struct {
	dir          string // the GitOps checkout
	gitops, flux []string
}

func newTracePair(tb testing.TB, e *e2eutil.Env, f *e2eutil.Founding) tracePair {
	tb.Helper()
	return tracePair{
		dir:    f.GitOps.Clone,
		gitops: []string{binarytest.Installed(tb, binarytest.Release(tb)), "trace", "HEAD"},
		flux:   []string{fluxCLI(tb), "trace", "helmrelease", e2eutil.HelmRelease, "-n", f.NS},
	}
}

// BenchmarkTraceVsFlux runs `kubectl gitops trace HEAD` in the GitOps checkout of the founding example and
// `flux trace helmrelease sample-app -n NS` (the Flux CLI built by hack/tools.sh) in turn, 15 times each
// after one untimed run (which fills flux's discovery cache in the shared HOME, as on a user's machine),
// straight to the sandbox's API server. It reports the medians of wall time, CPU time and peak RSS, and
// fails when trace's median wall time is above traceVsFluxGoal times flux's.
//
//	go test -tags e2e -run '^$' -bench TraceVsFlux -benchtime 1x ./test/e2e/
func BenchmarkTraceVsFlux(b *testing.B) {
	e := e2eutil.Setup(b)
	f := e.DeployFounding(b, e.Namespace(b), e2eutil.FoundingOptions{})
	p := newTracePair(b, e, f)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + b.TempDir(), "KUBECONFIG=" + e.Kubeconfig, "NO_COLOR=1"}
	for b.Loop() {
		g, fl := p.measure(b, env, traceVsFluxRuns)
		ratio := reportTracePair(b, g, fl)
		if ratio > traceVsFluxGoal {
			b.Errorf("trace HEAD takes %.2fx the wall time of flux trace (%s vs %s); the goal is %.1fx", ratio, g, fl, traceVsFluxGoal)
		}
	}
}

// measure runs both commands n times in turn (after one untimed run each) and returns their results.
func (p tracePair) measure(tb testing.TB, env []string, n int) (g, fl pairStats) {
	tb.Helper()
	run := func(argv []string) binarytest.Result {
		r := binarytest.Measure(tb, env, p.dir, argv[0], argv[1:]...)
		if r.ExitCode != 0 {
			tb.Fatalf("%s: exit %d\n%s%s", strings.Join(argv, " "), r.ExitCode, r.Stdout, r.Stderr)
		}
		return r
	}
	run(p.gitops)
	run(p.flux)
	for i := 0; i < n; i++ {
		g = append(g, run(p.gitops))
		fl = append(fl, run(p.flux))
	}
	return g, fl
}

// reportTracePair reports the figures of both and returns trace's median wall time over flux's.
func reportTracePair(b *testing.B, g, fl pairStats) float64 {
	ratio := float64(g.wall()) / float64(fl.wall())
	b.ReportMetric(ms(g.wall()), "ms/trace")
	b.ReportMetric(ms(fl.wall()), "ms/flux-trace")
	b.ReportMetric(ratio, "trace/flux-wall")
	b.ReportMetric(float64(g.cpu())/float64(fl.cpu()), "trace/flux-cpu")
	b.ReportMetric(float64(g.rss())/(1<<20), "MiB/trace-rss")
	b.ReportMetric(float64(fl.rss())/(1<<20), "MiB/flux-rss")
	b.Logf("kubectl gitops trace HEAD: %s", g)
	b.Logf("flux trace helmrelease:    %s", fl)
	return ratio
}

type pairStats []binarytest.Result

func (s pairStats) med(f func(binarytest.Result) time.Duration) time.Duration {
	var d []time.Duration
	for _, r := range s {
		d = append(d, f(r))
	}
	return median(d)
}

func (s pairStats) wall() time.Duration {
	return s.med(func(r binarytest.Result) time.Duration { return r.Wall })
}
func (s pairStats) cpu() time.Duration {
	return s.med(func(r binarytest.Result) time.Duration { return r.CPU })
}
func (s pairStats) rss() int64 {
	return int64(s.med(func(r binarytest.Result) time.Duration { return time.Duration(r.PeakRSS) }))
}

func (s pairStats) String() string {
	return fmt.Sprintf("wall median %.0f ms, CPU median %.0f ms, peak RSS median %.0f MiB (%d runs)",
		ms(s.wall()), ms(s.cpu()), float64(s.rss())/(1<<20), len(s))
}

// BenchmarkTraceProfile is the profile of one `trace HEAD` in docs/trace.md: it runs the command 7 times
// in the GitOps checkout of the founding example, through a proxy that logs each API request, with git's
// trace2 event log (every git process, when it started and ended) and GODEBUG=inittrace=1 (package
// initialisation), and prints the timeline of the run with the median wall time: process start and init,
// initialisation), and prints the timeline of the first run (empty commit cache) and of the run with the
// median wall time (the others share its HOME, so they read the commit cache): process start and init,
// The kubeconfig load and client set-up, which leave no trace outside the process, are timed in this
// process, cold, with the same code.
//
//	go test -tags e2e -run '^$' -bench TraceProfile -benchtime 1x -v ./test/e2e/
func BenchmarkTraceProfile(b *testing.B) {
	e := e2eutil.Setup(b)
	f := e.DeployFounding(b, e.Namespace(b), e2eutil.FoundingOptions{})
	p := newTracePair(b, e, f)
	proxy := newCountingProxy(b, e.Config)
	kubeconfigTook := timeKubeconfig(b, proxy.kubeconfig)
	for b.Loop() {
		// One HOME for the seven runs, as on a user's machine: the first
		// finds the commit cache empty (its table is printed too), the
		// others read the commit's facts from it.
		home := b.TempDir()
		var runs []*profiledRun
		for i := 0; i < 7; i++ {
			runs = append(runs, profileOnce(b, proxy, p, home))
		}
		b.Logf("first run, empty commit cache:\n%s", runs[0].table(kubeconfigTook))
		sort.Slice(runs, func(i, j int) bool { return runs[i].wall < runs[j].wall })
		r := runs[len(runs)/2]
		b.ReportMetric(ms(r.wall), "ms/trace")
		b.ReportMetric(ms(r.initEnd), "ms/init")
		b.ReportMetric(float64(len(r.git)), "git-processes")
		b.ReportMetric(float64(len(r.requests)), "requests")
		b.ReportMetric(float64(r.rounds()), "request-rounds")
		b.Logf("median run:\n%s", r.table(kubeconfigTook))
	}
}

// timeKubeconfig loads kubeconfig and builds the dynamic client as trace does, once, in a fresh factory.
func timeKubeconfig(tb testing.TB, kubeconfig string) time.Duration {
	tb.Helper()
	flags := genericclioptions.NewConfigFlags(true)
	flags.KubeConfig = &kubeconfig
	start := time.Now()
	f := kube.NewFactory(flags, nil, os.Getenv)
	if _, err := f.Dynamic(); err != nil {
		tb.Fatal(err)
	}
	if _, _, err := f.Namespace(); err != nil {
		tb.Fatal(err)
	}
	return time.Since(start)
}

type span struct {
	what       string
	start, end time.Duration // since the process started
}

type profiledRun struct {
	wall, cpu time.Duration
	initEnd   time.Duration // the last package init ended: main starts
	inits     int
	git       []span
	requests  []span
}

func profileOnce(tb testing.TB, proxy *countingProxy, p tracePair, home string) *profiledRun {
	tb.Helper()
	events := filepath.Join(tb.TempDir(), "trace2.json")
	cmd := exec.Command(p.gitops[0], p.gitops[1:]...)
	cmd.Dir = p.dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "KUBECONFIG=" + proxy.kubeconfig, "NO_COLOR=1",
		"GIT_TRACE2_EVENT=" + events, "GODEBUG=inittrace=1"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		tb.Fatalf("%s: %v\n%s", strings.Join(p.gitops, " "), err, stdout.String())
	}
	r := &profiledRun{wall: time.Since(start), cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
	// init <pkg> @<at> ms, <took> ms clock, <bytes> bytes, <allocs> allocs
	sc := bufio.NewScanner(&stderr)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 || f[0] != "init" || !strings.HasPrefix(f[2], "@") {
			continue
		}
		at, err1 := strconv.ParseFloat(strings.TrimPrefix(f[2], "@"), 64)
		took, err2 := strconv.ParseFloat(f[4], 64)
		if err1 != nil || err2 != nil {
			continue
		}
		r.inits++
		r.initEnd = max(r.initEnd, time.Duration((at+took)*float64(time.Millisecond)))
	}
	r.git = gitSpans(tb, events, start)
	for _, q := range proxy.since(start) {
		r.requests = append(r.requests, span{what: q.method + " " + q.uri, start: q.start.Sub(start), end: q.end.Sub(start)})
	}
	return r
}

// gitSpans reads git's trace2 event log: one start and one exit event per process.
func gitSpans(tb testing.TB, path string, t0 time.Time) []span {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("git wrote no trace2 events (%v): is git older than 2.22?", err)
	}
	starts := map[string]*span{}
	var order []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var ev struct {
			Event string   `json:"event"`
			SID   string   `json:"sid"`
			Time  string   `json:"time"`
			Argv  []string `json:"argv"`
		}
		if json.Unmarshal([]byte(line), &ev) != nil || strings.Contains(ev.SID, "/") {
			continue // a child of a git process, not one trace started
		}
		at, err := time.Parse(time.RFC3339Nano, ev.Time)
		if err != nil {
			continue
		}
		switch ev.Event {
		case "start":
			what := "git"
			if len(ev.Argv) > 1 {
				what = "git " + ev.Argv[1]
			}
			starts[ev.SID] = &span{what: what, start: at.Sub(t0)}
			order = append(order, ev.SID)
		case "exit":
			if s := starts[ev.SID]; s != nil {
				s.end = at.Sub(t0)
			}
		}
	}
	var out []span
	for _, sid := range order {
		out = append(out, *starts[sid])
	}
	return out
}

// rounds counts the waves of requests: a request that starts after every earlier one ended waited for
// them (it depends on what they returned), so the trace paid a round trip more.
func (r *profiledRun) rounds() int {
	reqs := slices.Clone(r.requests)
	sort.Slice(reqs, func(i, j int) bool { return reqs[i].start < reqs[j].start })
	n := 0
	var last time.Duration = -1
	for _, q := range reqs {
		if q.start >= last {
			n++
		}
		last = max(last, q.end)
	}
	return n
}

func (r *profiledRun) table(kubeconfig time.Duration) string {
	rows := []span{{what: fmt.Sprintf("process start, runtime and package init (%d packages)", r.inits), end: r.initEnd}}
	rows = append(rows, r.git...)
	rows = append(rows, r.requests...)
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].start < rows[j].start })
	last := r.initEnd
	var gitSum time.Duration
	for _, s := range r.git {
		last = max(last, s.end)
		gitSum += s.end - s.start
	}
	for _, s := range r.requests {
		last = max(last, s.end)
	}
	rows = append(rows, span{what: "after the last request and git process: model, output, exit", start: last, end: r.wall})
	var b strings.Builder
	fmt.Fprintf(&b, "| from ms | to ms | took ms | what |\n|---:|---:|---:|---|\n")
	for _, s := range rows {
		fmt.Fprintf(&b, "| %.1f | %.1f | %.1f | %s |\n", ms(s.start), ms(s.end), ms(s.end-s.start), strings.ReplaceAll(s.what, "|", `\|`))
	}
	fmt.Fprintf(&b, "\nwall %.1f ms, CPU %.1f ms; %d git processes (%.1f ms in all); %d API requests in %d rounds; kubeconfig and client (in-process, cold) %.1f ms\n",
		ms(r.wall), ms(r.cpu), len(r.git), ms(gitSum), len(r.requests), r.rounds(), ms(kubeconfig))
	return b.String()
}
