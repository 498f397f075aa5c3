package override_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// An override the cluster would refuse is refused before anything is
// written, committed or pushed: exit 4, naming the value, where the override
// would have gone, and the rendered object and field.
func TestOverrideRefusesInvalidValues(t *testing.T) {
	schema := `{"type":"object","properties":{"replicaCount":{"type":"integer","minimum":1,"maximum":10}}}`
	bare, clones := setupWithChart(t, 1, nil, map[string]string{"charts/sample-app/values.schema.json": schema})
	dir := clones[0]
	remoteHead := git(t, dir, "ls-remote", bare, "refs/heads/main")
	snap := snapshot(t, dir)
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{name: "bad quantity", args: []string{"--set-string", "resources.limits.memory=not-a-quantity", "--push"}, want: []string{
			"HelmRelease sample-app/sample-app: the change does not validate",
			`Deployment sample-app/sample-app (sample-app/templates/deployment.yaml) spec.template.spec.containers[0].resources.limits.memory: "not-a-quantity": quantities must match the regular expression`,
			`caused by resources.limits.memory="not-a-quantity" (` + hrPath + ":",
			"nothing was written",
		}},
		{name: "unknown field", args: []string{"--set", "resources.limit.memory=1Gi", "--push"}, want: []string{
			`spec.template.spec.containers[0].resources.limit: unknown field "limit"`,
			`caused by resources.limit.memory="1Gi"`,
		}},
		{name: "wrong type", args: []string{"--set-json", `image={"tag":"1.22","pullPolicy":["Always"]}`}, want: []string{
			`spec.template.spec.containers[0].imagePullPolicy: ["Always"]: must be a string, not a list`,
		}},
		{name: "values.schema.json", args: []string{"--set", "replicaCount=50", "--push"}, want: []string{
			"values replicaCount: maximum: got 50, want 10",
			"caused by replicaCount=50",
		}},
		{name: "dry run too", args: []string{"--set-string", "resources.limits.memory=lots", "--dry-run"}, want: []string{
			`"lots": quantities must match`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, dir, append([]string{"override", "sample-app"}, tt.args...)...)
			if r.ExitCode != 4 {
				t.Fatalf("exit %d, want 4 (failed)\nstdout: %s\nstderr: %s", r.ExitCode, r.Stdout, r.Stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.Stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.Stderr)
				}
			}
			if snapshot(t, dir) != snap {
				t.Error("a refused override changed the checkout")
			}
			if got := git(t, dir, "ls-remote", bare, "refs/heads/main"); got != remoteHead {
				t.Error("a refused override pushed")
			}
		})
	}

	// --validate=false writes it anyway.
	r := run(t, dir, "override", "sample-app", "--set-string", "resources.limits.memory=not-a-quantity", "--validate=false", "--no-commit")
	if r.ExitCode != 0 || strings.Contains(r.Stderr, "validated") {
		t.Fatalf("--validate=false: exit %d: %s", r.ExitCode, r.Stderr)
	}
	if !strings.Contains(readFile(t, filepath.Join(dir, hrPath)), "not-a-quantity") {
		t.Error("--validate=false did not write")
	}
}

func TestOverrideValidatesAndDiffsRendered(t *testing.T) {
	_, clones := setup(t, 1, nil)
	dir := clones[0]
	r := run(t, dir, "override", "sample-app", "--set", "image.tag=1.22", "--set", "replicaCount=3", "--dry-run", "--diff=rendered")
	if r.ExitCode != 0 {
		t.Fatalf("exit %d: %s", r.ExitCode, r.Stderr)
	}
	for _, w := range []string{"-  replicas: 2\n+  replicas: 3\n", "-      - image: nginx:1.21\n+      - image: nginx:1.22\n", "Deployment sample-app/sample-app"} {
		if !strings.Contains(r.Stdout, w) {
			t.Errorf("rendered diff lacks %q:\n%s", w, r.Stdout)
		}
	}
	if strings.Contains(r.Stdout, "Service sample-app") || strings.Contains(r.Stdout, "\x1b[") {
		t.Errorf("unchanged Service shown, or color off a terminal:\n%s", r.Stdout)
	}
	if !strings.Contains(r.Stderr, "validated HelmRelease sample-app/sample-app: 2 rendered object(s)") ||
		!strings.Contains(r.Stderr, "the bundled Kubernetes v1.34.4 schema") {
		t.Errorf("stderr: %s", r.Stderr)
	}

	// -o json carries the report.
	r = run(t, dir, "override", "sample-app", "--set", "replicaCount=3", "--no-commit", "-o", "json")
	if r.ExitCode != 0 {
		t.Fatalf("exit %d: %s", r.ExitCode, r.Stderr)
	}
	var res struct {
		Validation struct {
			Release, Chart, Revision, Schema, KubeVersion string
		}
	}
	if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil {
		t.Fatal(err)
	}
	v := res.Validation
	if v.Release != "sample-app/sample-app" || !strings.HasPrefix(v.Revision, "main@sha1:") || v.KubeVersion != "v1.34.4" ||
		!strings.Contains(v.Chart, "GitRepository flux-system/sample-app-helm-chart") {
		t.Errorf("validation report: %+v", v)
	}
}

// A chart that cannot be resolved is a warning that says why, not an error.
func TestOverrideUnresolvableChartWarns(t *testing.T) {
	_, clones := setup(t, 1, nil)
	dir := clones[0]
	src := filepath.Join(dir, "sources", "sample-app-helm-chart.yaml")
	old := readFile(t, src)
	i := strings.Index(old, "file://")
	j := strings.Index(old[i:], "\n")
	writeFile(t, src, old[:i]+"file:///nonexistent/chart.git"+old[i+j:])
	git(t, dir, "commit", "-qam", "moved")
	r := run(t, dir, "override", "sample-app", "--set", "replicaCount=3")
	if r.ExitCode != 0 {
		t.Fatalf("exit %d: %s", r.ExitCode, r.Stderr)
	}
	if !strings.Contains(r.Stderr, "warning: not validated: fetching GitRepository flux-system/sample-app-helm-chart") ||
		!strings.Contains(r.Stderr, "--chart-dir") {
		t.Errorf("stderr: %s", r.Stderr)
	}
	// --chart-dir renders from a local checkout instead.
	abs, _ := filepath.Abs("../../examples/sample-app-helm-chart")
	r = run(t, dir, "override", "sample-app", "--set-string", "resources.limits.memory=lots", "--chart-dir", abs)
	if r.ExitCode != 4 || !strings.Contains(r.Stderr, "--chart-dir") {
		t.Errorf("--chart-dir: exit %d: %s", r.ExitCode, r.Stderr)
	}
}
