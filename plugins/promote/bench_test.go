package promote

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
)

// generateFleet writes a GitOps repo with n HelmReleases in each of the
// environments dev, staging and production (apps/base + apps/<env>
// layout): every release has a base manifest and, per environment, a patch
// with its own chart version and values, as in flux2-kustomize-helm-example.
func generateFleet(tb testing.TB, n int) string {
	tb.Helper()
	gitEnv(tb)
	root := tb.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	write("apps/base/sources.yaml", `apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: charts
  namespace: flux-system
spec:
  interval: 1h
  url: https://charts.example.com
`)
	envNames := []string{"dev", "staging", "production"}
	var baseRes []string
	envRes := map[string][]string{}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("app-%03d", i)
		baseRes = append(baseRes, "  - "+name+".yaml")
		write("apps/base/"+name+".yaml", fmt.Sprintf(`# %[1]s: owned by team %[2]d
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: %[1]s
  namespace: apps
spec:
  interval: 10m
  chart:
    spec:
      chart: %[1]s
      version: "1.0.0"
      sourceRef:
        kind: HelmRepository
        name: charts
        namespace: flux-system
  install:
    remediation:
      retries: 3
  values:
    replicaCount: 2
    image:
      repository: registry.example.com/%[1]s
      tag: "1.0.0"
    resources:
      requests:
        cpu: 50m
        memory: 64Mi
    ingress:
      enabled: true
      hosts:
        - host: %[1]s.example.com
`, name, i%17))
		for e, env := range envNames {
			envRes[env] = append(envRes[env], "  - path: "+name+".yaml")
			minor := (i + e) % 5
			if env == "production" && i%3 == 0 {
				minor = max(minor-1, 0) // a third of production lags behind
			}
			write("apps/"+env+"/"+name+".yaml", fmt.Sprintf(`apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: %s
  namespace: apps
spec:
  chart:
    spec:
      version: "1.%d.0"
  values:
    replicaCount: %d
    image:
      tag: "1.%d.0"
`, name, minor, e+1, minor))
		}
	}
	write("apps/base/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - sources.yaml\n"+strings.Join(baseRes, "\n")+"\n")
	for _, env := range envNames {
		write("apps/"+env+"/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../base\npatches:\n"+strings.Join(envRes[env], "\n")+"\n")
	}
	git(tb, root, "init", "-q", "-b", "main")
	git(tb, root, "add", "-A")
	git(tb, root, "commit", "-q", "-m", "fleet")
	return root
}

// BenchmarkStatus is `promote --status` on 500 HelmReleases in each of 3
// environments (a base and 3 patches per release, 2,005 files): discovery,
// scan, matrix and printing, the whole command. cpu-ms/op is the process's
// user+sys time per run, steadier than ns/op on a shared machine.
func BenchmarkStatus(b *testing.B) {
	root := generateFleet(b, 500)
	run := func() {
		c := statusConfig{IOStreams: genericiooptions.IOStreams{Out: io.Discard, ErrOut: io.Discard}, Repo: root}
		if err := c.Run(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	cpu0, cpuOK := processCPU()
	for b.Loop() {
		run()
	}
	// b.Loop keeps the fleet's setup out of the time, but not out of the
	// process's CPU count: read it around the loop only.
	if cpu1, ok := processCPU(); ok && cpuOK {
		b.ReportMetric(float64(cpu1-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	}
}

// BenchmarkStatusBinary is what a user waits for: the built binary (as a
// release builds it, binarytest.Release) running `promote --status --repo
// FLEET` on the fleet of BenchmarkStatus, side by side with what the user
// would run otherwise to see the versions, on the same tree in the same
// loop so that load from other work hits all of them alike:
//
//   - git-grep: `git grep -l 'kind: HelmRelease'`, to list the releases;
//   - kustomize: `kubectl kustomize apps/<env>` for the 3 environments, to
//     see what each one renders.
//
// Reported per command: wall ms and CPU ms (user+sys of the process, the
// steadier one on a shared machine) per loop, and the ratios of gitops to
// each baseline. Run with -count and read ranges, not one figure:
//
//	go test -run '^$' -bench StatusBinary -count 5 ./plugins/promote/
func BenchmarkStatusBinary(b *testing.B) {
	root := generateFleet(b, 500)
	gitops := binarytest.Release(b)
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		b.Fatalf("kubectl is not on PATH (the kustomize baseline needs it): %v", err)
	}
	env := binarytest.Env(b.TempDir(), "Bench", "bench@example.com")
	type command struct {
		name    string
		program string
		runs    [][]string
		// want is what every run's stdout must hold, how many times: a
		// command that did less than the job is not a baseline.
		want      string
		wantCount int
		wall, cpu time.Duration
	}
	cmds := []*command{
		{name: "gitops", program: gitops, runs: [][]string{{"promote", "--status", "--repo", root}}, want: "\napp-", wantCount: 500},
		{name: "git-grep", program: "git", runs: [][]string{{"grep", "-l", "kind: HelmRelease"}}, want: ".yaml\n", wantCount: 2000},
		{name: "kustomize", program: kubectl, want: "kind: HelmRelease\n", wantCount: 500},
	}
	for _, e := range []string{"dev", "staging", "production"} {
		cmds[2].runs = append(cmds[2].runs, []string{"kustomize", "apps/" + e})
	}
	for b.Loop() {
		for _, c := range cmds {
			for _, args := range c.runs {
				r := binarytest.Run(b, env, root, c.program, args...)
				if r.ExitCode != 0 {
					b.Fatalf("%s %s: exit %d\n%s", c.program, strings.Join(args, " "), r.ExitCode, r.Stderr)
				}
				if n := strings.Count(r.Stdout, c.want); n != c.wantCount {
					b.Fatalf("%s %s: %d times %q in the output, want %d", c.program, strings.Join(args, " "), n, c.want, c.wantCount)
				}
				c.wall += r.Wall
				c.cpu += r.CPU
			}
		}
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(b.N) }
	for _, c := range cmds {
		b.ReportMetric(ms(c.wall), c.name+"-wall-ms")
		b.ReportMetric(ms(c.cpu), c.name+"-cpu-ms")
	}
	for _, base := range cmds[1:] {
		b.ReportMetric(float64(cmds[0].wall)/float64(base.wall), "gitops/"+base.name+"-wall")
		b.ReportMetric(float64(cmds[0].cpu)/float64(base.cpu), "gitops/"+base.name+"-cpu")
	}
}

// TestStatusFleet checks what the benchmark measures: every release of
// the generated fleet is in the matrix, and the lagging ones show drift.
func TestStatusFleet(t *testing.T) {
	root := generateFleet(t, 30)
	stdout, stderr, code := run(t, root, nil, "--status")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if n := strings.Count(stdout, "\napp-"); n != 30 {
		t.Fatalf("%d releases in the matrix, want 30", n)
	}
	if !strings.Contains(stdout, "version 1.0.0") || !strings.Contains(stdout, " *") {
		t.Fatalf("matrix lacks versions or drift marks:\n%s", stdout)
	}
	if !strings.Contains(stderr, "inferred environments from the apps/base + apps/<env> layout") {
		t.Fatalf("stderr: %s", stderr)
	}
	lines := strings.Split(stdout, "\n")
	if !strings.HasPrefix(lines[1], "app-000      dev          apps") {
		t.Fatalf("first row %q", lines[1])
	}
}
