package override_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxmodel"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/helmvalues"
	"github.com/kubectl-gitops/kubectl-gitops/internal/yamledit"
)

const (
	benchFiles = 5000
	benchDirs  = 50
)

var (
	bigRepoOnce sync.Once
	bigRepo     string
	bigRepoErr  error
)

// generateRepo writes a GitOps repo of 5,000 YAML files with 4 documents
// each (Deployment, Service, ConfigMap, and every 10th file a HelmRelease,
// else a ServiceAccount), a kustomization.yaml per directory setting the
// namespace, and commits it. Every 5th ConfigMap mentions HelmRelease in a
// comment, so the kind alone is not a perfect filter.
func generateRepo(dir string) error {
	for d := 0; d < benchDirs; d++ {
		sub := filepath.Join(dir, "apps", fmt.Sprintf("team-%02d", d))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(sub, "kustomization.yaml"), []byte(fmt.Sprintf("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: team-%02d\nresources: []\n", d)), 0o644); err != nil {
			return err
		}
	}
	for i := 0; i < benchFiles; i++ {
		var b strings.Builder
		name := fmt.Sprintf("svc-%04d", i)
		fmt.Fprintf(&b, `# %[1]s: generated for the benchmark
apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
  labels:
    app.kubernetes.io/name: %[1]s
spec:
  replicas: 2
  selector:
    matchLabels:
      app.kubernetes.io/name: %[1]s
  template:
    metadata:
      labels:
        app.kubernetes.io/name: %[1]s
    spec:
      containers:
        - name: app
          image: "registry.example.com/%[1]s:1.0.%[2]d"
          ports:
            - containerPort: 8080
          resources:
            requests: {cpu: 100m, memory: 128Mi}
---
apiVersion: v1
kind: Service
metadata:
  name: %[1]s
spec:
  selector:
    app.kubernetes.io/name: %[1]s
  ports:
    - port: 80
      targetPort: 8080
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: %[1]s-config
data:
  LOG_LEVEL: info
  FEATURE_X: "true"
`, name, i)
		if i%5 == 0 {
			b.WriteString("  # rolled out together with the HelmRelease of the platform team\n")
		}
		b.WriteString("---\n")
		if i%10 == 0 {
			fmt.Fprintf(&b, `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: app-%04d
spec:
  interval: 10m
  chart:
    spec:
      chart: app
      version: "1.x"
      sourceRef:
        kind: HelmRepository
        name: internal
        namespace: flux-system
  values:
    image:
      tag: "1.0.%d"  # pinned
    replicaCount: 2
`, i, i)
		} else {
			fmt.Fprintf(&b, "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: %s\n", name)
		}
		p := filepath.Join(dir, "apps", fmt.Sprintf("team-%02d", i%benchDirs), name+".yaml")
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "generated"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = env(filepath.Dir(dir))
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %v: %v: %s", args, err, out)
		}
	}
	return nil
}

func benchRepo(b *testing.B) string {
	b.Helper()
	bigRepoOnce.Do(func() {
		bigRepo = filepath.Join(testTmp, "bigrepo")
		bigRepoErr = generateRepo(bigRepo)
	})
	if bigRepoErr != nil {
		b.Fatal(bigRepoErr)
	}
	return bigRepo
}

// BenchmarkFindAndEdit finds one HelmRelease among 5,000 files x 4 documents
// and computes its edit (everything but the write and commit), and reports:
//   - x-git-grep: time per find-and-edit over `git grep -l 'kind: HelmRelease'`
//     on the same repo, measured in the same run;
//   - git-grep-ms: that baseline;
//   - binary-ms and peak-RSS-MB: one run of the built binary with --dry-run
//     (process start, scan, edit, diff), its wall time and maximum resident
//     set size from the kernel.
func BenchmarkFindAndEdit(b *testing.B) {
	dir := benchRepo(b)
	ctx := context.Background()
	repo, err := gitrepo.Open(ctx, dir)
	if err != nil {
		b.Fatal(err)
	}
	q := fluxmodel.Query{Kind: "HelmRelease", Group: "helm.toolkit.fluxcd.io", Name: "app-2500", Namespace: "team-00"}
	in := helmvalues.Input{Set: []string{"image.tag=1.22", "replicaCount=5"}}
	values := yamledit.Path{"spec", "values"}

	// Baseline: git grep, same repo, warm cache like the benchmark loop.
	const baseRuns = 10
	var base time.Duration
	for i := 0; i < baseRuns+1; i++ {
		start := time.Now()
		cmd := exec.Command("git", "grep", "-l", "kind: HelmRelease")
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			b.Fatal(err)
		}
		if n := strings.Count(string(out), "\n"); n != benchFiles/10 {
			b.Fatalf("git grep found %d files, want %d", n, benchFiles/10)
		}
		if i > 0 { // the first run warms the page cache
			base += time.Since(start)
		}
	}
	base /= baseRuns

	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// What override does: the model's entry points (none: the plain
		// model), then the one release in the files as written.
		m, err := fluxmodel.LoadEntries(ctx, repo.Root)
		if err != nil {
			b.Fatal(err)
		}
		doc, _, err := m.FindUnapplied(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		src, err := os.ReadFile(filepath.Join(dir, doc.Path))
		if err != nil {
			b.Fatal(err)
		}
		cur, _, err := yamledit.Get(src, doc.Index, values)
		if err != nil {
			b.Fatal(err)
		}
		res, err := helmvalues.Compute(cur.(map[string]any), in)
		if err != nil {
			b.Fatal(err)
		}
		out, _, err := yamledit.Apply(src, doc.Index, values, res.Ops)
		if err != nil || len(out) == len(src) {
			b.Fatalf("edit: %v", err)
		}
	}
	b.StopTimer()
	perOp := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(perOp)/float64(base), "x-git-grep")
	b.ReportMetric(float64(base.Microseconds())/1000, "git-grep-ms")

	start := time.Now()
	cmd := exec.Command(binarytest.Build(b), "override", "app-2500", "-n", "team-00", "--set", "image.tag=1.22", "--set", "replicaCount=5", "--dry-run")
	cmd.Dir = dir
	cmd.Env = env(filepath.Dir(dir))
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("binary: %v: %s", err, out)
	}
	wall := time.Since(start)
	if !strings.Contains(string(out), `+      tag: "1.22"  # pinned`) {
		b.Fatalf("binary output:\n%s", out)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MB") // Linux reports KiB
	}
	b.ReportMetric(float64(wall.Microseconds())/1000, "binary-ms")
}
