package diff_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
	"github.com/kubectl-gitops/kubectl-gitops/plugins/diff"
)

// localChart writes a podinfo chart small enough to render offline, for
// --chart-dir.
func localChart(t *testing.T, dir string) {
	t.Helper()
	for rel, content := range map[string]string{
		"Chart.yaml":               "apiVersion: v2\nname: podinfo\nversion: 6.5.0\n",
		"values.yaml":              "replicaCount: 1\n",
		"templates/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  replicas: {{ .Values.replicaCount | quote }}\n  values: {{ toJson .Values | quote }}\n",
	} {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// diff of a range builds only the Flux Kustomizations the range can
// affect; its report (text and JSON, notes, exit code) is the one of the
// full build of both sides, which GITOPS_DIFF_FULL_BUILD=1 forces.
func TestDiffRangeReportsWhatTheFullBuildDoes(t *testing.T) {
	work, env := fixture(t, "overlay")
	chart := filepath.Join(t.TempDir(), "podinfo")
	localChart(t, chart)
	bin := binarytest.Build(t)
	full := append(append([]string(nil), env...), diff.FullBuildEnv+"=1")
	steps := []struct {
		name string
		edit func()
	}{
		{"staging's values", func() {
			edit(t, work, "apps/staging/podinfo-values.yaml", "host: podinfo.staging", "host: podinfo.stage")
		}},
		{"the chart source every release names", func() {
			edit(t, work, "infrastructure/sources/bitnami.yaml", "interval: 30m", "interval: 1h")
		}},
		{"production drops the app", func() {
			write(t, work, "apps/production/namespace.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: podinfo\n")
			write(t, work, "apps/production/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - namespace.yaml\n")
		}},
	}
	for _, s := range steps {
		s.edit()
		binarytest.Git(t, env, work, "add", "-A")
		binarytest.Git(t, env, work, "commit", "-qm", s.name)
		// -o json: every release, status, reason, note and diff; stderr
		// has the model's notes.
		for _, args := range [][]string{{"diff", "--chart-dir", chart, "-o", "json"}} {
			fast := binarytest.Run(t, env, work, bin, args...)
			whole := binarytest.Run(t, full, work, bin, args...)
			if fast.ExitCode != whole.ExitCode || fast.Stdout != whole.Stdout || fast.Stderr != whole.Stderr {
				t.Errorf("after %s, %v: the range's build says (exit %d)\n%s%s\nthe full build (exit %d)\n%s%s",
					s.name, args, fast.ExitCode, fast.Stdout, fast.Stderr, whole.ExitCode, whole.Stdout, whole.Stderr)
			}
			if whole.ExitCode != 7 {
				t.Errorf("after %s, %v: exit %d, want 7 (changed)\n%s%s", s.name, args, whole.ExitCode, whole.Stdout, whole.Stderr)
			}
		}
	}
}
