//go:build e2e

package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-gitops/kubectl-gitops/test/e2e/e2eutil"
)

// liveChart is a chart with the four kinds diff --live is tested on: a Deployment, a Service, a
// ConfigMap and a Secret, each with one field that values change.
var liveChart = map[string]string{
	"charts/live-app/Chart.yaml":  "apiVersion: v2\nname: live-app\nversion: 0.1.0\n",
	"charts/live-app/values.yaml": "replicaCount: 2\nteam: web\ngreeting: hello\npassword: base-password-1\nmemory: 64Mi\n",
	"charts/live-app/templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels:
      app: {{ .Release.Name }}
  template:
    metadata:
      labels:
        app: {{ .Release.Name }}
    spec:
      containers:
        - name: app
          image: nginx:1.21
          ports:
            - containerPort: 80
          resources:
            limits:
              memory: {{ .Values.memory }}
`,
	"charts/live-app/templates/service.yaml": `apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
  annotations:
    team: {{ .Values.team }}
spec:
  selector:
    app: {{ .Release.Name }}
  ports:
    - port: 80
      targetPort: 80
`,
	"charts/live-app/templates/configmap.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}
data:
  greeting: {{ .Values.greeting }}
  {{- with .Values.extra }}
  extra: {{ . }}
  {{- end }}
`,
	"charts/live-app/templates/secret.yaml": `apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}
stringData:
  password: {{ .Values.password }}
`,
}

// pushLiveChart puts liveChart on the sandbox's Git server.
func pushLiveChart(tb testing.TB, e *e2eutil.Env) *e2eutil.Repo {
	tb.Helper()
	chart := e.NewRepo(tb, "live-chart")
	chart.Commit(tb, "chart", func(dir string) {
		for p, c := range liveChart {
			e2eutil.WriteFile(tb, dir, p, c)
		}
	})
	return chart
}

// liveHelmRelease is the HelmRelease "live-app" in ns with values (YAML lines under values:, indented 4).
func liveHelmRelease(ns, values string) string {
	return fmt.Sprintf(`apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: live-app
  namespace: %s
spec:
  interval: 5m
  chart:
    spec:
      chart: ./charts/live-app
      sourceRef:
        kind: GitRepository
        name: live-chart
  values:
%s`, ns, values)
}

func liveSource(ns, url string) string {
	return fmt.Sprintf(`apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: live-chart
  namespace: %s
spec:
  interval: 1m
  url: %s
  ref:
    branch: main
`, ns, url)
}

const liveBaseValues = "    replicaCount: 2\n    extra: one\n"

// The story, on one release with a Deployment, a Service, a ConfigMap and a Secret:
// a values change shows exactly the fields it changes (no defaulted fields); a Deployment scaled by hand
// shows as drift (and in trace); after a failed upgrade the comparison is with the last deployed release;
// the Secret's data is never printed, in any format.
func TestDiffLive(t *testing.T) {
	e := e2eutil.Setup(t)
	ns := e.Namespace(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()

	chart := pushLiveChart(t, e)
	gitops := e.NewRepo(t, "live-gitops")
	gitops.Commit(t, "release", func(dir string) {
		e2eutil.WriteFile(t, dir, "kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - source.yaml\n  - release.yaml\n")
		e2eutil.WriteFile(t, dir, "source.yaml", liveSource(ns, chart.URL))
		e2eutil.WriteFile(t, dir, "release.yaml", liveHelmRelease(ns, liveBaseValues))
	})
	e.Apply(t, "", filepath.Join(gitops.Clone, "source.yaml"), filepath.Join(gitops.Clone, "release.yaml"))
	waitReleased(t, e, ns, "True")

	// The sandbox reconciler writes with helm-controller's field manager, as the real one does.
	dep := e.Get(t, e2eutil.Deployments, ns, "live-app")
	managers := map[string]bool{}
	for _, mf := range dep.GetManagedFields() {
		managers[mf.Manager] = true
	}
	if !managers["helm-controller"] {
		t.Errorf("Deployment managed by %v, want field manager helm-controller", managers)
	}

	clone := gitops.CloneTo(t)
	gitCmd(t, clone, "switch", "-q", "-c", "change")
	e2eutil.WriteFile(t, clone, "release.yaml", liveHelmRelease(ns,
		"    replicaCount: 3\n    team: ops\n    greeting: bonjour\n    password: new-password-2\n"))
	gitCmd(t, clone, "commit", "-qam", "values")

	secretsNeverShown := func(out string) {
		t.Helper()
		for _, v := range []string{"base-password-1", "new-password-2"} {
			for _, s := range []string{v, base64.StdEncoding.EncodeToString([]byte(v))} {
				if strings.Contains(out, s) {
					t.Errorf("the Secret's data %q is printed", s)
				}
			}
		}
	}

	// 1. A values change: exactly the changed field of each object.
	r := e.Run(t, ctx, clone, "diff", "--live", "origin/main..HEAD", "-o", "json")
	if r.ExitCode != 7 {
		t.Fatalf("diff --live: exit %d, want 7 (changed)\n%s", r.ExitCode, r.Stderr)
	}
	secretsNeverShown(r.Stdout + r.Stderr)
	rel := liveRelease(t, r.Stdout)
	if rel.Status != "changed" || rel.Live == nil || rel.Live.Deployed == nil || rel.Live.Deployed.Version != 1 {
		t.Fatalf("release %+v, want changed against deployed v1", rel)
	}
	want := map[string][]string{
		"Deployment " + ns + "/live-app": {"-  replicas: 2", "+  replicas: 3"},
		"Service " + ns + "/live-app":    {"-    team: web", "+    team: ops"},
		// extra: removed by the change, as Helm's three-way merge removes it (a plain apply would keep it)
		"ConfigMap " + ns + "/live-app": {"-  extra: one", "-  greeting: hello", "+  greeting: bonjour"},
		"Secret " + ns + "/live-app":    {"-  password: <redacted>", "+  password: <redacted, changed>"},
	}
	for _, o := range rel.Live.Objects {
		w, ok := want[o.Object]
		if !ok {
			t.Errorf("unexpected object %s (%s)", o.Object, o.Change)
			continue
		}
		delete(want, o.Object)
		if o.Change != "changed" {
			t.Errorf("%s: %s, want changed", o.Object, o.Change)
		}
		if got := changedLines(o.Diff); strings.Join(got, "\n") != strings.Join(w, "\n") {
			t.Errorf("%s: changed lines\n%s\nwant exactly\n%s\ndiff:\n%s", o.Object, strings.Join(got, "\n"), strings.Join(w, "\n"), o.Diff)
		}
		if len(o.Drift) > 0 {
			t.Errorf("%s: drift %v before anything was edited by hand", o.Object, o.Drift)
		}
	}
	for o := range want {
		t.Errorf("object %s missing from the comparison", o)
	}
	for _, format := range []string{"", "markdown"} {
		args := []string{"diff", "--live", "origin/main..HEAD"}
		if format != "" {
			args = append(args, "-o", format)
		}
		r := e.Run(t, ctx, clone, args...)
		if r.ExitCode != 7 || !strings.Contains(r.Stdout, "+  replicas: 3") || format == "markdown" && !strings.Contains(r.Stdout, "### kubectl gitops diff --live `") {
			t.Errorf("diff --live %s: exit %d, or the Deployment change is missing", format, r.ExitCode)
		}
		secretsNeverShown(r.Stdout + r.Stderr)
	}

	// RBAC: a user who may not read ConfigMaps sees that object listed as forbidden, the others compared,
	// and the release unchecked (exit 4: the gate fails closed).
	e.ApplyYAML(t, ns, `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: no-configmaps
rules:
  - apiGroups: [""]
    resources: [secrets, services]
    verbs: [get, list, create, patch]
  - apiGroups: [apps]
    resources: [deployments]
    verbs: [get, list, create, patch]
  - apiGroups: [source.toolkit.fluxcd.io, helm.toolkit.fluxcd.io]
    resources: ["*"]
    verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: no-configmaps
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: no-configmaps
subjects:
  - apiGroup: rbac.authorization.k8s.io
    kind: User
    name: no-configmaps
`)
	r = e.Run(t, ctx, clone, "diff", "--live", "origin/main..HEAD", "-o", "json", "--as", "no-configmaps")
	if r.ExitCode != 4 {
		t.Errorf("diff --live as a user who may not read ConfigMaps: exit %d, want 4", r.ExitCode)
	}
	secretsNeverShown(r.Stdout + r.Stderr)
	rel = liveRelease(t, r.Stdout)
	changes := map[string]string{}
	for _, o := range rel.Live.Objects {
		changes[o.Object] = o.Change
	}
	if rel.Status != "unchecked" || changes["ConfigMap "+ns+"/live-app"] != "forbidden" || changes["Deployment "+ns+"/live-app"] != "changed" || changes["Secret "+ns+"/live-app"] != "changed" {
		t.Errorf("as no-configmaps: status %s, objects %v; want unchecked, the ConfigMap forbidden and the rest changed", rel.Status, changes)
	}

	// 2. Scaled by hand: drift on the Deployment's spec.replicas, in diff and in trace.
	e.Kubectl(t, "", "scale", "deployment/live-app", "-n", ns, "--replicas=5")
	r = e.Run(t, ctx, clone, "diff", "--live", "origin/main..HEAD", "-o", "json")
	rel = liveRelease(t, r.Stdout)
	drift := map[string][]string{}
	for _, o := range rel.Live.Objects {
		if len(o.Drift) > 0 {
			drift[o.Object] = o.Drift
		}
		if o.Object == "Deployment "+ns+"/live-app" && strings.Join(changedLines(o.Diff), "\n") != "-  replicas: 5\n+  replicas: 3" {
			t.Errorf("after scaling, the Deployment's diff is\n%s", o.Diff)
		}
	}
	if fmt.Sprint(drift) != fmt.Sprintf("map[Deployment %s/live-app:[spec.replicas]]", ns) {
		t.Errorf("drift %v, want the Deployment's spec.replicas only", drift)
	}
	if !strings.Contains(strings.Join(rel.Notes, "\n"), "drift: the live objects differ from the deployed release v1") {
		t.Errorf("no drift line in the notes: %q", rel.Notes)
	}
	tr := e.Run(t, ctx, chart.Clone, "trace", "-o", "json")
	if !strings.Contains(tr.Stdout, `"drift": "Deployment `+ns+`/live-app (spec.replicas)"`) {
		t.Errorf("trace shows no drift evidence on the release stage")
	}

	// 3. A failed upgrade: the comparison is with v1, the release still deployed.
	e.ApplyYAML(t, "", liveHelmRelease(ns, liveBaseValues+"    memory: not-a-quantity\n"))
	waitReleased(t, e, ns, "False")
	r = e.Run(t, ctx, clone, "diff", "--live", "origin/main..HEAD", "-o", "json")
	secretsNeverShown(r.Stdout + r.Stderr)
	rel = liveRelease(t, r.Stdout)
	if rel.Live.Deployed == nil || rel.Live.Deployed.Version != 1 || rel.Live.Latest == nil || rel.Live.Latest.Version != 2 || rel.Live.Latest.Status != "failed" {
		t.Fatalf("after a failed upgrade: deployed %+v latest %+v, want v1 deployed and v2 failed", rel.Live.Deployed, rel.Live.Latest)
	}
	if !strings.Contains(strings.Join(rel.Notes, "\n"), "the last upgrade (v2, failed) was not deployed: compared with v1") {
		t.Errorf("no note about the failed upgrade: %q", rel.Notes)
	}
}

func waitReleased(t *testing.T, e *e2eutil.Env, ns, status string) {
	t.Helper()
	e.WaitFor(t, e2eutil.HelmReleases, ns, "live-app", "Released="+status, 3*time.Minute, func(u *unstructured.Unstructured) bool {
		st, _, _, ok := e2eutil.Condition(u, "Released")
		return ok && st == status && u.GetGeneration() == e2eutil.Int(u, "status", "lastAttemptedGeneration")
	})
}

type liveEntry struct {
	Status string   `json:"status"`
	Notes  []string `json:"notes"`
	Live   *struct {
		Deployed *struct {
			Version int    `json:"version"`
			Status  string `json:"status"`
		} `json:"deployed"`
		Latest *struct {
			Version int    `json:"version"`
			Status  string `json:"status"`
		} `json:"latest"`
		Objects []struct {
			Object string   `json:"object"`
			Change string   `json:"change"`
			Drift  []string `json:"drift"`
			Diff   string   `json:"diff"`
		} `json:"objects"`
	} `json:"live"`
}

func liveRelease(t *testing.T, stdout string) liveEntry {
	t.Helper()
	var res struct {
		Releases []liveEntry `json:"releases"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("diff -o json: %v\n%s", err, stdout)
	}
	if len(res.Releases) != 1 {
		t.Fatalf("%d releases, want 1", len(res.Releases))
	}
	if res.Releases[0].Live == nil {
		t.Fatalf("no live comparison: %+v", res.Releases[0])
	}
	return res.Releases[0]
}

// changedLines are the - and + lines of a unified diff, without its headers.
func changedLines(d string) []string {
	var out []string
	for _, l := range strings.Split(d, "\n") {
		if strings.HasPrefix(l, "---") || strings.HasPrefix(l, "+++") {
			continue
		}
		if strings.HasPrefix(l, "-") || strings.HasPrefix(l, "+") {
			out = append(out, l)
		}
	}
	return out
}
