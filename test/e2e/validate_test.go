//go:build e2e

package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-gitops/kubectl-gitops/test/e2e/e2eutil"
)

// pushFounding puts the founding example's two repos on the sandbox's Git server, the GitOps repo
// rewritten to ns and to the server's URLs, without applying anything: validation needs the chart
// (through the GitRepository) and the API server's OpenAPI, not a deployment.
func pushFounding(t *testing.T, e *e2eutil.Env, ns string) (app, gitops *e2eutil.Repo) {
	t.Helper()
	app, gitops = e.NewRepo(t, "sample-app-helm-chart"), e.NewRepo(t, "flux-app-delivery")
	app.PushDir(t, filepath.Join(e.Root, "examples", "sample-app-helm-chart"))
	dir := e.CopyExample(t, "flux-app-delivery",
		"https://github.com/example/sample-app-helm-chart.git", app.URL,
		"https://github.com/example/flux-app-delivery.git", gitops.URL,
		"namespace: flux-system", "namespace: "+ns,
		"namespace: sample-app", "namespace: "+ns,
		"kind: Namespace\nmetadata:\n  name: sample-app", "kind: Namespace\nmetadata:\n  name: "+ns)
	gitops.PushDir(t, dir)
	return app, gitops
}

// The story: `override --set-string resources.limits.memory=not-a-quantity --push` is refused
// before anything is written or pushed, checked against the sandbox API server's own /openapi/v3, the
// chart fetched from the sandbox's Git server.
func TestOverrideValidatesAgainstCluster(t *testing.T) {
	e := e2eutil.Setup(t)
	ns := e.Namespace(t)
	_, gitops := pushFounding(t, e, ns)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	clone := gitops.CloneTo(t)
	remoteBefore := gitops.Head(t)

	r := e.Run(t, ctx, clone, "override", e2eutil.HelmRelease, "-n", ns,
		"--set-string", "resources.limits.memory=not-a-quantity", "--push")
	if r.ExitCode != 4 {
		t.Fatalf("exit %d, want 4 (failed)", r.ExitCode)
	}
	for _, want := range []string{
		"checked against the cluster's /openapi/v3",
		"Deployment " + ns + "/sample-app (sample-app/templates/deployment.yaml) spec.template.spec.containers[0].resources.limits.memory: \"not-a-quantity\": quantities must match the regular expression",
		`caused by resources.limits.memory="not-a-quantity" (helmrelease/sample-app-helmrelease.yaml:`,
		"nothing was written",
	} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
	if head(t, clone) != remoteBefore {
		t.Error("the refused override committed")
	}
	if got := strings.TrimSpace(gitCmd(t, clone, "ls-remote", gitops.URL, "refs/heads/main")); !strings.HasPrefix(got, remoteBefore) {
		t.Errorf("the refused override pushed: remote main is %s, was %s", got, remoteBefore)
	}
	if st := gitCmd(t, clone, "status", "--porcelain"); st != "" {
		t.Errorf("the refused override left changes: %s", st)
	}

	// An unknown field, from the same cluster schema.
	r = e.Run(t, ctx, clone, "override", e2eutil.HelmRelease, "-n", ns, "--set", "resources.limit.memory=1Gi", "--dry-run")
	if r.ExitCode != 4 || !strings.Contains(r.Stderr, `resources.limit: unknown field "limit"`) {
		t.Errorf("unknown field: exit %d", r.ExitCode)
	}

	// valuesFrom is read from the cluster; a good override passes, with the cluster's Kubernetes version,
	// and --diff=rendered shows the Deployment change.
	_, err := e.Kube.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "sample-app-values", Namespace: ns},
		Data:       map[string]string{"values.yaml": "podAnnotations:\n  tier: gold\n"},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e2eutil.ReplaceInFile(t, clone, "helmrelease/sample-app-helmrelease.yaml", "  values:\n",
		"  valuesFrom:\n    - kind: ConfigMap\n      name: sample-app-values\n  values:\n")
	gitCmd(t, clone, "commit", "-qam", "values from a ConfigMap")
	r = e.Run(t, ctx, clone, "override", e2eutil.HelmRelease, "-n", ns, "--set", "replicaCount=3", "--set", "podAnnotations.team=ops", "--dry-run", "--diff=rendered")
	if r.ExitCode != 0 {
		t.Fatalf("good override: exit %d", r.ExitCode)
	}
	// The ConfigMap's annotation shows as context next to the changed one.
	if !strings.Contains(r.Stdout, "-  replicas: 2\n+  replicas: 3\n") || !strings.Contains(r.Stdout, "-        team: web\n+        team: ops\n         tier: gold\n") {
		t.Errorf("rendered diff lacks the replicas change or the ConfigMap's values:\n%s", r.Stdout)
	}
	if !strings.Contains(r.Stderr, "validated HelmRelease "+ns+"/sample-app: 2 rendered object(s)") ||
		!strings.Contains(r.Stderr, "the cluster's /openapi/v3") || strings.Contains(r.Stderr, "valuesFrom left out") {
		t.Errorf("stderr: %s", r.Stderr)
	}
}

// promote renders the target environment with the promoted chart, fetched from the sandbox's Git server,
// and refuses a tag whose chart the API server would reject, before anything is written.
func TestPromoteValidatesAgainstCluster(t *testing.T) {
	e := e2eutil.Setup(t)
	staging, production := e.Namespace(t), e.Namespace(t)
	app := e.NewRepo(t, "sample-app-helm-chart")
	app.PushDir(t, filepath.Join(e.Root, "examples", "sample-app-helm-chart"))
	gitCmd(t, app.Clone, "tag", "v0.1.2")
	gitCmd(t, app.Clone, "push", "--quiet", "origin", "v0.1.2")
	releaseTag(t, app, "0.1.3", func(dir string) {
		e2eutil.ReplaceInFile(t, dir, "charts/sample-app/values.yaml", "memory: 128Mi", "memory: 128 Mi")
	})
	gitops := e.NewRepo(t, "flux-multi-env")
	gitops.PushDir(t, e.CopyExample(t, "flux-multi-env",
		"https://github.com/example/sample-app-helm-chart.git", app.URL,
		"sample-app-staging", staging,
		"sample-app-production", production))
	checkout := gitops.CloneTo(t)
	before := gitops.Head(t)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := e.Run(t, ctx, checkout, "promote", "sample-app", "--from", "staging", "--to", "production", "--push")
	if r.ExitCode != 4 {
		t.Fatalf("exit %d, want 4", r.ExitCode)
	}
	for _, want := range []string{
		"HelmRelease " + production + "/sample-app: the change does not validate",
		"checked against the cluster's /openapi/v3",
		`spec.template.spec.containers[0].resources.limits.memory: "128 Mi": quantities must match`,
		`after GitRepository sample-app-chart spec.ref.tag="v0.1.3"`,
	} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
	if got := strings.TrimSpace(gitCmd(t, checkout, "ls-remote", gitops.URL, "refs/heads/main")); !strings.HasPrefix(got, before) {
		t.Errorf("the refused promotion pushed: %s", got)
	}
	if st := gitCmd(t, checkout, "status", "--porcelain"); st != "" {
		t.Errorf("the refused promotion wrote: %s", st)
	}
}
