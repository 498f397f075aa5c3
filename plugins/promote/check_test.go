package promote

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
)

// multiEnvWithLocalChart is examples/flux-multi-env whose GitRepositories
// point at a bare copy of the founding chart repo with tags v0.1.2 (what
// production runs), v0.1.3 (staging) and v0.1.4; v0.1.4's chart sets a
// memory limit the API server would refuse.
func multiEnvWithLocalChart(t *testing.T) (work string, env []string) {
	t.Helper()
	home := t.TempDir()
	env = binarytest.Env(home, "Promoter", "promoter@example.com")
	chart := filepath.Join(t.TempDir(), "chart", "work")
	binarytest.CopyTree(t, "../../examples/sample-app-helm-chart", chart)
	binarytest.Commit(t, env, chart, "chart")
	chartYAML := filepath.Join(chart, "charts", "sample-app", "Chart.yaml")
	values := filepath.Join(chart, "charts", "sample-app", "values.yaml")
	tag := func(v string, edit func()) {
		b, err := os.ReadFile(chartYAML)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		for i, l := range lines {
			if strings.HasPrefix(l, "version:") {
				lines[i] = "version: " + strings.TrimPrefix(v, "v")
			}
		}
		if err := os.WriteFile(chartYAML, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			edit()
		}
		binarytest.Git(t, env, chart, "commit", "-qam", v)
		binarytest.Git(t, env, chart, "tag", v)
	}
	binarytest.Git(t, env, chart, "tag", "v0.1.2") // the example's chart is 0.1.2
	tag("v0.1.3", nil)
	tag("v0.1.4", func() {
		b, err := os.ReadFile(values)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(values, []byte(strings.Replace(string(b), "memory: 128Mi", "memory: a-lot", 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	})
	remote := binarytest.Publish(t, env, chart)
	binarytest.Git(t, env, chart, "push", "-q", "--tags", "origin")

	work = filepath.Join(t.TempDir(), "work")
	binarytest.CopyTree(t, "../../examples/flux-multi-env", work)
	for _, e := range []string{"staging", "production"} {
		p := filepath.Join(work, "apps", e, "sample-app-source.yaml")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(strings.Replace(string(b), "https://github.com/example/sample-app-helm-chart.git", "file://"+remote, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	binarytest.Commit(t, env, work, "initial")
	binarytest.Publish(t, env, work)
	return work, env
}

func TestPromoteValidates(t *testing.T) {
	work, env := multiEnvWithLocalChart(t)
	bin := binarytest.Build(t)
	head := binarytest.Git(t, env, work, "rev-parse", "HEAD")

	// v0.1.4's chart renders a memory limit the API server refuses.
	r := binarytest.Run(t, env, work, bin, "promote", "sample-app", "--from", "staging", "--to", "production", "--version", "v0.1.4")
	if r.ExitCode != 4 {
		t.Fatalf("exit %d, want 4\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	for _, w := range []string{
		"HelmRelease sample-app-production/sample-app: the change does not validate",
		`Deployment sample-app-production/sample-app (sample-app/templates/deployment.yaml) spec.template.spec.containers[0].resources.limits.memory: "a-lot": quantities must match`,
		`after GitRepository sample-app-chart spec.ref.tag="v0.1.4" (apps/production/sample-app-source.yaml)`,
	} {
		if !strings.Contains(r.Stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r.Stderr)
		}
	}
	if got := binarytest.Git(t, env, work, "rev-parse", "HEAD"); got != head {
		t.Error("a refused promotion committed")
	}
	if s := binarytest.Git(t, env, work, "status", "--porcelain"); s != "" {
		t.Errorf("a refused promotion wrote files:\n%s", s)
	}

	// What staging runs (v0.1.3) renders fine for production: promoted,
	// with the rendered change shown.
	r = binarytest.Run(t, env, work, bin, "promote", "sample-app", "--from", "staging", "--to", "production", "--values", "image.tag", "--diff=rendered")
	if r.ExitCode != 0 {
		t.Fatalf("exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	if !strings.Contains(r.Stderr, "validated HelmRelease sample-app-production/sample-app: 2 rendered object(s)") {
		t.Errorf("stderr: %s", r.Stderr)
	}
	if !strings.Contains(r.Stdout, "-      - image: nginx:1.21\n+      - image: nginx:1.22\n") || !strings.Contains(r.Stdout, "helm.sh/chart: sample-app-0.1.3") {
		t.Errorf("rendered diff missing the image and chart version change:\n%s", r.Stdout)
	}
}
