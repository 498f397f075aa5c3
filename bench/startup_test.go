// Package bench measures start-up: `kubectl gitops --help` and `version`
// against `kubectl version --client` and the Flux CLI's `flux --help`, run
// side by side so the figures are ratios from one run on one machine.
//
//	make bench   (or: go test -run '^$' -bench Startup ./bench/)
//
// The binaries are built first (kubectl-gitops the way a release builds it,
// CGO_ENABLED=0 -trimpath -s -w, then installed by a copy; flux by
// hack/tools.sh, also without cgo; kubectl releases are static too). Each
// iteration runs every command once, in turn, so load from other work on the
// machine hits them alike. Reported per command: median wall ms, CPU ms
// (user+sys, steadier than wall time on a busy machine) and peak RSS, and
// the ratios of kubectl-gitops to kubectl and to flux.
//
// To see where start-up goes: GODEBUG=inittrace=1 bin/kubectl-gitops version
package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
)

// The goals (#24): `kubectl gitops --help` in at most 0.3x the wall
// time of `kubectl version --client`, with no more peak memory.
const (
	helpWallGoal = 0.3
	helpRSSGoal  = 1.0
)

type command struct {
	name string
	argv []string
	runs []binarytest.Result
}

func (c *command) median(f func(binarytest.Result) float64) float64 {
	v := make([]float64, 0, len(c.runs))
	for _, r := range c.runs {
		v = append(v, f(r))
	}
	sort.Float64s(v)
	return v[len(v)/2]
}

func (c *command) wallMS() float64 {
	return c.median(func(r binarytest.Result) float64 { return float64(r.Wall) / float64(time.Millisecond) })
}
func (c *command) cpuMS() float64 {
	return c.median(func(r binarytest.Result) float64 { return float64(r.CPU) / float64(time.Millisecond) })
}
func (c *command) rssMiB() float64 {
	return c.median(func(r binarytest.Result) float64 { return float64(r.PeakRSS) / (1 << 20) })
}

// build returns kubectl-gitops built the way a release builds it
// (binarytest.Release) and installed (copied, see binarytest.Installed),
// and the Flux CLI.
func build(b *testing.B) (gitops, flux string) {
	b.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		b.Fatal(err)
	}
	gitops = binarytest.Installed(b, binarytest.Release(b))
	out, err := exec.Command(filepath.Join(root, "hack", "tools.sh"), "flux").Output()
	if err != nil {
		b.Fatalf("hack/tools.sh flux: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return gitops, lines[len(lines)-1]
}

// BenchmarkStartup runs each command once per iteration, in turn, each
// under binarytest.Measure (its own wall and CPU time and peak RSS), and
// reports the medians and the ratios to kubectl and flux. It fails when
// `--help` misses the goals against `kubectl version --client`.
func BenchmarkStartup(b *testing.B) {
	gitops, flux := build(b)
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		b.Fatalf("kubectl is not on PATH: %v", err)
	}
	if info, err := os.Stat(gitops); err == nil {
		b.ReportMetric(float64(info.Size())/(1<<20), "gitops-MiB")
	}
	cmds := []*command{
		{name: "help", argv: []string{gitops, "--help"}},
		{name: "version", argv: []string{gitops, "version"}},
		{name: "kubectl", argv: []string{kubectl, "version", "--client"}},
		{name: "flux", argv: []string{flux, "--help"}},
	}
	// A cleared environment with a HOME that has no kubeconfig: nothing
	// here may read one, and a user's large kubeconfig must not skew runs.
	env := []string{"PATH=/usr/bin:/bin", "HOME=" + b.TempDir()}
	for b.Loop() {
		for _, c := range cmds {
			r := binarytest.Measure(b, env, "", c.argv[0], c.argv[1:]...)
			if r.ExitCode != 0 {
				b.Fatalf("%s: exit %d\n%s%s", strings.Join(c.argv, " "), r.ExitCode, r.Stdout, r.Stderr)
			}
			c.runs = append(c.runs, r)
		}
	}
	byName := map[string]*command{}
	for _, c := range cmds {
		byName[c.name] = c
		b.ReportMetric(c.wallMS(), c.name+"-wall-ms")
		b.ReportMetric(c.cpuMS(), c.name+"-cpu-ms")
		b.ReportMetric(c.rssMiB(), c.name+"-rss-MiB")
		// Logged as well: a benchmark that fails prints no metrics, and
		// the figures are what a failure needs.
		b.Logf("%-8s wall %6.1f ms  cpu %6.1f ms  rss %5.1f MiB  (%d runs)", c.name, c.wallMS(), c.cpuMS(), c.rssMiB(), len(c.runs))
	}
	for _, own := range []string{"help", "version"} {
		for _, base := range []string{"kubectl", "flux"} {
			b.ReportMetric(byName[own].wallMS()/byName[base].wallMS(), own+"/"+base)
		}
	}
	help, kc := byName["help"], byName["kubectl"]
	wall, rss := help.wallMS()/kc.wallMS(), help.rssMiB()/kc.rssMiB()
	b.ReportMetric(rss, "help/kubectl-rss")
	if wall > helpWallGoal {
		b.Errorf("--help takes %.2fx the wall time of kubectl version --client (%.1f vs %.1f ms); the goal is %.1fx", wall, help.wallMS(), kc.wallMS(), helpWallGoal)
	}
	if rss > helpRSSGoal {
		b.Errorf("--help peaks at %.2fx the RSS of kubectl version --client (%.1f vs %.1f MiB); the goal is %.1fx", rss, help.rssMiB(), kc.rssMiB(), helpRSSGoal)
	}
}

// TestMain removes the binaries binarytest built.
func TestMain(m *testing.M) { os.Exit(binarytest.Main(m)) }
