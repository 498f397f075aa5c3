// Package bench measures start-up: `kubectl gitops --help` and `version`
// against `kubectl version --client` and the Flux CLI's `flux --help`, run
// side by side so the figures are ratios from one run on one machine.
//
//	make bench   (or: go test -run '^$' -bench Startup ./bench/)
//
// The binaries are built first (kubectl-gitops the way a release builds it:
// -trimpath, -s -w; flux by hack/tools.sh). Each iteration runs every
// command once, in turn, so load from other work on the machine hits them
// alike. Reported per command: wall ms and CPU ms (user+sys, steadier than
// wall time on a busy machine), and the ratios of kubectl-gitops to kubectl
// and to flux.
//
// To see where start-up goes: GODEBUG=inittrace=1 bin/kubectl-gitops version
package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type command struct {
	name string
	argv []string
	wall time.Duration
	cpu  time.Duration
}

func build(b *testing.B) (gitops, flux string) {
	b.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	gitops = filepath.Join(dir, "kubectl-gitops")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", gitops, "./cmd/kubectl-gitops")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("building kubectl-gitops: %v\n%s", err, out)
	}
	out, err := exec.Command(filepath.Join(root, "hack", "tools.sh"), "flux").Output()
	if err != nil {
		b.Fatalf("hack/tools.sh flux: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return gitops, lines[len(lines)-1]
}

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
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, c := range cmds {
			cmd := exec.Command(c.argv[0], c.argv[1:]...)
			cmd.Env = env
			start := time.Now()
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("%s: %v\n%s", strings.Join(c.argv, " "), err, out)
			}
			c.wall += time.Since(start)
			c.cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		}
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(b.N) }
	byName := map[string]*command{}
	for _, c := range cmds {
		byName[c.name] = c
		b.ReportMetric(ms(c.wall), c.name+"-wall-ms")
		b.ReportMetric(ms(c.cpu), c.name+"-cpu-ms")
	}
	for _, own := range []string{"help", "version"} {
		for _, base := range []string{"kubectl", "flux"} {
			b.ReportMetric(float64(byName[own].wall)/float64(byName[base].wall), own+"/"+base)
		}
	}
}
