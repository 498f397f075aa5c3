//go:build e2e

package e2e

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-gitops/kubectl-gitops/test/e2e/e2eutil"
)

var (
	fleetReleasesFlag = flag.Int("fleet-releases", 500, "HelmReleases BenchmarkFleetTrace adds to each cluster")
	fleetReplicasFlag = flag.Int("fleet-replicas", 2, "pods of each filler HelmRelease's Deployment in BenchmarkFleetTrace")
)

// BenchmarkFleetTrace traces one chart commit across the two clusters of a fleet sandbox
// (flux-multi-env, staging in one cluster, production in the other) and, in the same loop, in each
// cluster alone, before and after each cluster is filled with 500 more HelmReleases. Every cluster is
// reached through its own counting proxy, so the requests of the fleet trace are counted per cluster.
// It fails when the requests a cluster gets from the fleet trace differ from what the single-cluster
// trace of that cluster makes, or grow with the cluster. It reports the ratio of the fleet trace's wall
// time to the slowest single-cluster trace (1 would be perfect concurrency; 2 would be one after the
// other).
//
//	go test -tags e2e -run '^$' -bench FleetTrace -benchtime 1x -timeout 60m ./test/e2e/
func BenchmarkFleetTrace(b *testing.B) {
	e := e2eutil.Setup(b)
	m := deployFleet(b, e)
	bin := e.Binary(b)
	// v0.1.2's commit: production runs it, staging runs v0.1.3, which contains it. Deployed in both.
	rev := strings.TrimSpace(gitCmd(b, m.app.Clone, "rev-parse", "v0.1.2^{commit}"))

	stProxy, prProxy := newCountingProxy(b, m.st.Config), newCountingProxy(b, m.pr.Config)
	kubeconfig := filepath.Join(b.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: staging, cluster: {server: %q}}, {name: production, cluster: {server: %q}}]
users: [{name: proxy, user: {}}]
contexts: [{name: staging, context: {cluster: staging, user: proxy}}, {name: production, context: {cluster: production, user: proxy}}]
current-context: staging
`, stProxy.url, prProxy.url)), 0o600); err != nil {
		b.Fatal(err)
	}
	checkout := m.gitops.CloneTo(b)
	e2eutil.ReplaceInFile(b, checkout, ".gitops.yaml", "context: "+m.st.Context+"\n", "context: staging\n")
	e2eutil.ReplaceInFile(b, checkout, ".gitops.yaml", "context: "+m.pr.Context+"\n", "context: production\n")

	type fleetStat struct {
		wall, cpu time.Duration
		st, pr    int64 // requests to each cluster
	}
	run := func(argv ...string) fleetStat {
		cmd := exec.Command(bin, argv...)
		cmd.Dir = m.app.Clone
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + b.TempDir(), "KUBECONFIG=" + kubeconfig, "NO_COLOR=1"}
		st0, pr0 := stProxy.n.Load(), prProxy.n.Load()
		start := time.Now()
		out, err := cmd.CombinedOutput()
		s := fleetStat{wall: time.Since(start), st: stProxy.n.Load() - st0, pr: prProxy.n.Load() - pr0}
		if err != nil {
			b.Fatalf("kubectl-gitops %s: %v\n%s", strings.Join(argv, " "), err, out)
		}
		s.cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		return s
	}
	fleetArgs := []string{"trace", rev, "--all-envs", "--gitops-repo", checkout, "-o", "json"}
	stArgs := []string{"trace", rev, "--context", "staging", "-n", m.staging, "-o", "json"}
	prArgs := []string{"trace", rev, "--context", "production", "-n", m.production, "-o", "json"}

	type phase struct {
		fleet, st, pr          []time.Duration
		fleetCPU, stCPU, prCPU []time.Duration
		fleetReq               [2]int64
		stReq, prReq           int64
	}
	measure := func(name string) phase {
		var p phase
		run(fleetArgs...) // untimed: page cache, git's object cache
		for i := 0; i < scaleRuns; i++ {
			f := run(fleetArgs...)
			s := run(stArgs...)
			r := run(prArgs...)
			if i > 0 && (f.st != p.fleetReq[0] || f.pr != p.fleetReq[1] || s.st != p.stReq || r.pr != p.prReq) {
				b.Fatalf("%s: request counts vary between runs", name)
			}
			p.fleet, p.st, p.pr = append(p.fleet, f.wall), append(p.st, s.wall), append(p.pr, r.wall)
			p.fleetCPU, p.stCPU, p.prCPU = append(p.fleetCPU, f.cpu), append(p.stCPU, s.cpu), append(p.prCPU, r.cpu)
			p.fleetReq, p.stReq, p.prReq = [2]int64{f.st, f.pr}, s.st, r.pr
		}
		b.Logf("%-6s fleet trace: wall p50 %.0f ms, requests staging %d, production %d", name, ms(median(p.fleet)), p.fleetReq[0], p.fleetReq[1])
		b.Logf("%-6s staging alone: wall p50 %.0f ms, %d requests; production alone: wall p50 %.0f ms, %d requests",
			name, ms(median(p.st)), p.stReq, ms(median(p.pr)), p.prReq)
		b.Logf("%-6s CPU p50: fleet %.0f ms, staging alone %.0f ms, production alone %.0f ms; wall: fleet / (staging + production) = %.2f",
			name, ms(median(p.fleetCPU)), ms(median(p.stCPU)), ms(median(p.prCPU)), float64(median(p.fleet))/float64(median(p.st)+median(p.pr)))
		if p.fleetReq[0] != p.stReq || p.fleetReq[1] != p.prReq {
			b.Fatalf("%s: the fleet trace sent %v requests to the clusters, the single traces %d and %d", name, p.fleetReq, p.stReq, p.prReq)
		}
		return p
	}
	ratio := func(p phase) float64 {
		slowest := max(median(p.st), median(p.pr))
		return float64(median(p.fleet)) / float64(slowest)
	}

	for b.Loop() {
		before := measure("empty")
		start := time.Now()
		pods := fillClusterWith(b, m.st, *fleetReleasesFlag, *fleetReplicasFlag) + fillClusterWith(b, m.pr, *fleetReleasesFlag, *fleetReplicasFlag)
		b.Logf("filled: %d HelmReleases in each cluster, %d pods Ready in all, in %s", *fleetReleasesFlag, pods, time.Since(start).Round(time.Second))
		after := measure("full")
		if after.fleetReq != before.fleetReq {
			b.Fatalf("requests per cluster grew with the clusters: %v -> %v", before.fleetReq, after.fleetReq)
		}
		b.ReportMetric(float64(after.fleetReq[0]), "requests/staging")
		b.ReportMetric(float64(after.fleetReq[1]), "requests/production")
		b.ReportMetric(ms(median(after.fleet)), "ms/fleet-trace")
		b.ReportMetric(ms(max(median(after.st), median(after.pr))), "ms/slowest-single")
		b.ReportMetric(ratio(after), "fleet/slowest-single")
		b.ReportMetric(float64(median(after.fleet))/float64(median(after.st)+median(after.pr)), "fleet/sum-of-singles")
		b.ReportMetric(float64(median(after.fleetCPU))/float64(median(after.stCPU)+median(after.prCPU)), "fleet-cpu/sum-of-singles-cpu")
		b.Logf("\n%-52s %10s %10s %18s\n%-52s %8.0fms %10s %9d + %6d\n%-52s %8.0fms %10s %18d\n%-52s %8.0fms %10s %18d\n%-52s %8.0fms %10.2f %9d + %6d\n%-52s %8.0fms %10s %18d\n%-52s %8.0fms %10s %18d",
			"command", "wall p50", "ratio", "requests st + pr",
			"fleet trace (2 clusters), empty", ms(median(before.fleet)), fmt.Sprintf("%.2f", ratio(before)), before.fleetReq[0], before.fleetReq[1],
			"staging alone, empty", ms(median(before.st)), "", before.stReq,
			"production alone, empty", ms(median(before.pr)), "", before.prReq,
			fmt.Sprintf("fleet trace (2 clusters), +%d HRs each", *fleetReleasesFlag), ms(median(after.fleet)), ratio(after), after.fleetReq[0], after.fleetReq[1],
			fmt.Sprintf("staging alone, +%d HRs", *fleetReleasesFlag), ms(median(after.st)), "", after.stReq,
			fmt.Sprintf("production alone, +%d HRs", *fleetReleasesFlag), ms(median(after.pr)), "", after.prReq)
	}
}
