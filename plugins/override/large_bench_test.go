package override_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
)

// largeFileMB is the size of the one big file of BenchmarkLargeFile: a
// bundle as GitOps repos hold them (rendered manifests, CRDs) with one
// HelmRelease in the middle.
const largeFileMB = 50

// writeLargeFile writes about mb MB of multi-document YAML: Deployments,
// ConfigMaps with block scalars, flow maps, anchors and comments, and the
// HelmRelease big-app half way through.
func writeLargeFile(path string, mb int) error {
	var b bytes.Buffer
	b.Grow(mb<<20 + 1<<16)
	placed := false
	for i := 0; b.Len() < mb<<20; i++ {
		if i == 0 {
			b.WriteString("# generated bundle\n")
		}
		if b.Len() >= mb<<19 && !placed {
			placed = true
			b.WriteString(`---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: big-app
  namespace: apps
spec:
  interval: 10m
  chart:
    spec:
      chart: app
      sourceRef: {kind: HelmRepository, name: internal, namespace: flux-system}
  values:
    image:
      repository: registry.example.com/big-app
      tag: "1.0.0" # pinned
    replicaCount: 2
    resources: &res
      requests: {cpu: 100m, memory: 128Mi}
    sidecar:
      resources: *res
`)
		}
		fmt.Fprintf(&b, `---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: svc-%[1]d
  labels: &labels-%[1]d
    app.kubernetes.io/name: svc-%[1]d
    app.kubernetes.io/part-of: bundle
spec:
  replicas: 2
  selector:
    matchLabels: *labels-%[1]d
  template:
    metadata:
      labels: *labels-%[1]d
    spec:
      containers:
        - name: app
          image: "registry.example.com/svc-%[1]d:1.0.%[1]d"
          args: ["--port=8080", "--log-level=info"]
          ports:
            - containerPort: 8080 # http
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits:
              memory: 256Mi
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: svc-%[1]d-config
data:
  LOG_LEVEL: info
  FEATURE_X: "true"
  config.yaml: |
    server:
      port: 8080
      timeout: 30s
    upstreams:
      - name: a
        url: http://a.svc-%[1]d:80
      - name: b
        url: http://b.svc-%[1]d:80
`, i)
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// peak runs cmd and returns its wall time and peak RSS in MB.
func peak(b *testing.B, cmd *exec.Cmd) (time.Duration, float64, []byte) {
	b.Helper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s: %v: %s", cmd, err, out.Bytes()[:min(out.Len(), 2000)])
	}
	wall := time.Since(start)
	rss := 0.0
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = float64(ru.Maxrss) / 1024 // Linux reports KiB
	}
	return wall, rss, out.Bytes()
}

// BenchmarkLargeFile runs `override --dry-run` on a repo whose one file is
// a 50 MB bundle, against yq reading the same file (every document, `yq
// '.kind'`) in the same run: yq is the baseline for "how long reading this
// YAML takes". Reported: x-yq (our wall time over yq's), ours-ms, yq-ms,
// ours-RSS-MB and yq-RSS-MB. yq comes from hack/tools.sh yq (built once,
// cached by version under ~/.cache/kubectl-gitops/tools).
func BenchmarkLargeFile(b *testing.B) {
	build := exec.Command("../../hack/tools.sh", "yq")
	build.Stderr = os.Stderr
	yq, err := build.Output()
	if err != nil {
		b.Fatalf("building the yq baseline (hack/tools.sh yq): %v", err)
	}
	dir := filepath.Join(testTmp, "largefile")
	if _, err := os.Stat(dir); err != nil {
		if err := os.MkdirAll(filepath.Join(dir, "bundle"), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := writeLargeFile(filepath.Join(dir, "bundle", "all.yaml"), largeFileMB); err != nil {
			b.Fatal(err)
		}
		for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "bundle"}} {
			cmd := exec.Command("git", args...)
			cmd.Dir = dir
			cmd.Env = env(filepath.Dir(dir))
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("git %v: %v: %s", args, err, out)
			}
		}
	}
	bin := binarytest.Build(b)
	file := filepath.Join(dir, "bundle", "all.yaml")
	var ours, base time.Duration
	var oursRSS, baseRSS float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cmd := exec.Command(bin, "override", "big-app", "--set", "image.tag=1.22", "--set", "replicaCount=5", "--unset", "sidecar", "--dry-run")
		cmd.Dir, cmd.Env = dir, env(filepath.Dir(dir))
		wall, rss, out := peak(b, cmd)
		if !bytes.Contains(out, []byte(`+      tag: "1.22" # pinned`)) {
			b.Fatalf("override output:\n%s", out[:min(len(out), 2000)])
		}
		ours += wall
		oursRSS = max(oursRSS, rss)

		cmd = exec.Command(strings.TrimSpace(string(yq)), ".kind", file)
		cmd.Env = env(filepath.Dir(dir))
		wall, rss, out = peak(b, cmd)
		if !bytes.Contains(out, []byte("HelmRelease")) {
			b.Fatalf("yq output lacks HelmRelease")
		}
		base += wall
		baseRSS = max(baseRSS, rss)
	}
	b.StopTimer()
	b.ReportMetric(float64(ours)/float64(base), "x-yq")
	b.ReportMetric(float64(ours.Milliseconds())/float64(b.N), "ours-ms")
	b.ReportMetric(float64(base.Milliseconds())/float64(b.N), "yq-ms")
	b.ReportMetric(oursRSS, "ours-RSS-MB")
	b.ReportMetric(baseRSS, "yq-RSS-MB")
}
