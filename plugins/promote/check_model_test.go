package promote

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
)

// The check resolves the chart from the source the target's cluster
// applies (the model), with the promotion's edit of it. Here both
// environments write GitRepository sample-app-chart without a namespace
// and take it from their Flux Kustomization's targetNamespace: the file
// scan found two candidates for sample-app-production/sample-app-chart,
// could not resolve the chart, warned, and wrote a promotion whose chart
// the API server refuses.
func TestPromoteValidatesWithTheTargetClustersSource(t *testing.T) {
	work, env := multiEnvWithLocalChart(t)
	for _, e := range []string{"staging", "production"} {
		k := filepath.Join(work, "apps", e, "kustomization.yaml")
		b, err := os.ReadFile(k)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(k, []byte(strings.Replace(string(b), "namespace: sample-app-"+e+"\n", "", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		c := filepath.Join(work, "clusters", e, "apps.yaml")
		if b, err = os.ReadFile(c); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(c, []byte(strings.Replace(string(b), "  prune: true\n", "  prune: true\n  targetNamespace: sample-app-"+e+"\n", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	binarytest.Commit(t, env, work, "namespaces from the Flux Kustomizations")
	binarytest.Git(t, env, work, "push", "-q")
	head := binarytest.Git(t, env, work, "rev-parse", "HEAD")

	r := binarytest.Run(t, env, work, binarytest.Build(t), "promote", "sample-app", "--from", "staging", "--to", "production", "--version", "v0.1.4")
	if r.ExitCode != 4 {
		t.Fatalf("exit %d, want 4\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	for _, w := range []string{
		"HelmRelease sample-app-production/sample-app: the change does not validate",
		`spec.template.spec.containers[0].resources.limits.memory: "a-lot": quantities must match`,
	} {
		if !strings.Contains(r.Stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r.Stderr)
		}
	}
	if got := binarytest.Git(t, env, work, "rev-parse", "HEAD"); got != head {
		t.Error("a refused promotion committed")
	}
}
