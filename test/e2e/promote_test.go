//go:build e2e

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-gitops/kubectl-gitops/test/e2e/e2eutil"
)

// multiEnv is examples/flux-multi-env running in the sandbox: staging and
// production of sample-app in their own namespaces, each with a
// GitRepository pinned to a release tag of the app repo.
type multiEnv struct {
	ns, staging, production string
	app, gitops             *e2eutil.Repo
}

func gitCmd(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(cmd.Environ(), "GIT_AUTHOR_NAME=e2e", "GIT_AUTHOR_EMAIL=e2e@example.com",
		"GIT_COMMITTER_NAME=e2e", "GIT_COMMITTER_EMAIL=e2e@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

var chartVersionLine = regexp.MustCompile(`(?m)^version: .*$`)

// releaseTag commits the chart at version (Chart.yaml) in the app repo, tags
// it v<version> and pushes the tag.
func releaseTag(t testing.TB, app *e2eutil.Repo, version string, edit func(dir string)) {
	t.Helper()
	app.Commit(t, "release "+version, func(dir string) {
		p := filepath.Join(dir, "charts", "sample-app", "Chart.yaml")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, chartVersionLine.ReplaceAll(b, []byte("version: "+version)), 0o644); err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			edit(dir)
		}
	})
	gitCmd(t, app.Clone, "tag", "v"+version)
	gitCmd(t, app.Clone, "push", "--quiet", "origin", "v"+version)
}

func deployMultiEnv(t *testing.T, e *e2eutil.Env) *multiEnv {
	t.Helper()
	m := &multiEnv{ns: e.Namespace(t), staging: e.Namespace(t), production: e.Namespace(t)}
	m.app = e.NewRepo(t, "sample-app-helm-chart")
	m.app.PushDir(t, filepath.Join(e.Root, "examples", "sample-app-helm-chart"))
	gitCmd(t, m.app.Clone, "tag", "v0.1.2")
	gitCmd(t, m.app.Clone, "push", "--quiet", "origin", "v0.1.2")
	releaseTag(t, m.app, "0.1.3", nil)

	m.gitops = e.NewRepo(t, "flux-multi-env")
	dir := e.CopyExample(t, "flux-multi-env",
		"https://github.com/example/sample-app-helm-chart.git", m.app.URL,
		"sample-app-staging", m.staging,
		"sample-app-production", m.production,
		"namespace: flux-system", "namespace: "+m.ns,
	)
	m.gitops.PushDir(t, dir)
	// What `flux bootstrap` would have made: the GitRepository of the GitOps repo itself.
	e.ApplyYAML(t, m.ns, `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
spec:
  interval: 1m
  url: `+m.gitops.URL+`
  ref:
    branch: main
`)
	e.Apply(t, "", filepath.Join(dir, "clusters", "staging"), filepath.Join(dir, "clusters", "production"))
	waitChart(t, e, m.staging, "0.1.3")
	waitChart(t, e, m.production, "0.1.2")
	return m
}

// waitChart waits until the HelmRelease in ns is Ready with chart version
// deployed.
func waitChart(t testing.TB, e *e2eutil.Env, ns, version string) *unstructured.Unstructured {
	t.Helper()
	return e.WaitFor(t, e2eutil.HelmReleases, ns, "sample-app", "Ready with chart "+version, 4*time.Minute, func(u *unstructured.Unstructured) bool {
		hist, _, _ := unstructured.NestedSlice(u.Object, "status", "history")
		if len(hist) == 0 {
			return false
		}
		h, _ := hist[0].(map[string]any)
		return h["chartVersion"] == version && h["status"] == "deployed" && e2eutil.HasCondition(u, "Ready", "True", "")
	})
}

// TestPromoteStagingToProduction promotes the tag staging runs to
// production with --require-deployed and --push, lets Flux apply it, and
// checks with trace and the cluster that production runs chart 0.1.3.
func TestPromoteStagingToProduction(t *testing.T) {
	e := e2eutil.Setup(t)
	m := deployMultiEnv(t, e)
	ctx := context.Background()
	checkout := m.gitops.CloneTo(t)

	status := e.Run(t, ctx, checkout, "promote", "--status")
	if status.ExitCode != 0 || !strings.Contains(status.Stdout, "tag v0.1.2 *") {
		t.Fatalf("promote --status: exit %d\n%s%s", status.ExitCode, status.Stdout, status.Stderr)
	}

	r := e.Run(t, ctx, checkout, "promote", "sample-app", "--from", "staging", "--to", "production",
		"--require-deployed", "--push")
	if r.ExitCode != 0 {
		t.Fatalf("promote: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	if !strings.Contains(r.Stdout, "staging runs sample-app at GitRepository tag v0.1.3, Ready.") {
		t.Fatalf("promote did not report the deployed check:\n%s", r.Stdout)
	}
	head := strings.TrimSpace(gitCmd(t, checkout, "rev-parse", "HEAD"))
	if got := strings.TrimSpace(gitCmd(t, checkout, "ls-remote", m.gitops.URL, "refs/heads/main")); !strings.HasPrefix(got, head) {
		t.Fatalf("the Git server's main is %q, want the promotion %s", got, head)
	}

	// Flux picks the commit up (asked now rather than after the interval).
	e.RequestReconcile(t, e2eutil.GitRepositories, m.ns, "flux-system")
	e.RequestReconcile(t, e2eutil.Kustomizations, m.ns, "apps-production")
	e.WaitFor(t, e2eutil.GitRepositories, m.production, "sample-app-chart", "fetched v0.1.3", 2*time.Minute, func(u *unstructured.Unstructured) bool {
		return strings.HasPrefix(e2eutil.Str(u, "status", "artifact", "revision"), "v0.1.3@")
	})
	waitChart(t, e, m.production, "0.1.3")

	// trace says the promotion commit is deployed in production.
	tr := e.Run(t, ctx, checkout, "trace", head, "-A", "--helmrelease", m.production+"/sample-app", "--wait", "--timeout", "3m")
	if tr.ExitCode != 0 {
		t.Fatalf("trace %s: exit %d\n%s%s", head, tr.ExitCode, tr.Stdout, tr.Stderr)
	}
	if !strings.Contains(tr.Stdout, "0.1.3") {
		t.Fatalf("trace does not show chart 0.1.3:\n%s", tr.Stdout)
	}
}

// TestPromoteRequireDeployedRefusesFailingStaging breaks staging with a
// chart release whose values do not render a valid Deployment, then asks
// to promote it: --require-deployed must refuse (exit 4) and change nothing.
func TestPromoteRequireDeployedRefusesFailingStaging(t *testing.T) {
	e := e2eutil.Setup(t)
	m := deployMultiEnv(t, e)
	ctx := context.Background()

	releaseTag(t, m.app, "0.1.4", func(dir string) {
		e2eutil.ReplaceInFile(t, dir, "charts/sample-app/values.yaml", "memory: 128Mi", "memory: not-a-quantity")
	})
	m.gitops.Commit(t, "staging: try 0.1.4", func(dir string) {
		e2eutil.ReplaceInFile(t, dir, "apps/staging/sample-app-source.yaml", "tag: v0.1.3", "tag: v0.1.4")
	})
	e.RequestReconcile(t, e2eutil.GitRepositories, m.ns, "flux-system")
	e.RequestReconcile(t, e2eutil.Kustomizations, m.ns, "apps-staging")
	e.WaitFor(t, e2eutil.HelmReleases, m.staging, "sample-app", "Released=False (the 0.1.4 upgrade failed)", 4*time.Minute, func(u *unstructured.Unstructured) bool {
		return e2eutil.HasCondition(u, "Released", "False", "")
	})

	checkout := m.gitops.CloneTo(t)
	before := strings.TrimSpace(gitCmd(t, checkout, "rev-parse", "HEAD"))
	r := e.Run(t, ctx, checkout, "promote", "sample-app", "--from", "staging", "--to", "production",
		"--require-deployed", "--push")
	if r.ExitCode != 4 {
		t.Fatalf("promote of a failing staging: exit %d, want 4\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	if !strings.Contains(r.Stderr, "refusing to promote: in environment staging") {
		t.Fatalf("stderr does not give the reason:\n%s", r.Stderr)
	}
	if s := gitCmd(t, checkout, "status", "--porcelain"); s != "" {
		t.Fatalf("the checkout changed:\n%s", s)
	}
	if got := strings.TrimSpace(gitCmd(t, checkout, "ls-remote", m.gitops.URL, "refs/heads/main")); !strings.HasPrefix(got, before) {
		t.Fatalf("the Git server's main moved to %q", got)
	}
	// Production still runs 0.1.2.
	waitChart(t, e, m.production, "0.1.2")
}
