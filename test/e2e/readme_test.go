//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-gitops/kubectl-gitops/test/e2e/e2eutil"
)

// The README's quickstart, run verbatim with bash in a fresh directory against the founding example
// deployed as `make demo` deploys it: the real namespaces (flux-system, sample-app) and repo names, so
// the Kustomization and the HelmRelease live in different namespaces and the kubeconfig's namespace is
// "default", as on a user's machine. kubectl finds the plugin on PATH.
func TestReadmeQuickstart(t *testing.T) {
	e := e2eutil.Setup(t)
	script := quickstart(t, filepath.Join(e.Root, "README.md"))

	// Deploy the founding example under its own names (force-pushed: a rerun starts over).
	for _, repo := range []string{"sample-app-helm-chart", "flux-app-delivery"} {
		dir := e.CopyExample(t, repo, "https://github.com/example/", e.GitURL+"/")
		for _, args := range [][]string{{"init", "-q", "--initial-branch=main"}, {"add", "-A"}, {"commit", "-qm", "import " + repo},
			{"push", "-q", "--force", e.GitURL + "/" + repo + ".git", "main"}} {
			gitCmd(t, dir, args...)
		}
		if repo == "flux-app-delivery" {
			e.Apply(t, "", filepath.Join(dir, "sources"), filepath.Join(dir, "clusters", "local"))
		}
	}
	e.RequestReconcile(t, e2eutil.GitRepositories, "flux-system", "sample-app-helm-chart")
	e.RequestReconcile(t, e2eutil.GitRepositories, "flux-system", "flux-app-delivery")
	e.RequestReconcile(t, e2eutil.Kustomizations, "flux-system", "sample-app")
	e.WaitFor(t, e2eutil.HelmReleases, "sample-app", "sample-app", "Ready=True", 3*time.Minute, func(u *unstructured.Unstructured) bool {
		return e2eutil.HasCondition(u, "Ready", "True", "")
	})
	e.WaitRollout(t, "sample-app", "sample-app", e2eutil.Rollout{Replicas: 2, Image: "nginx:1.21"}, 3*time.Minute)

	// A kubeconfig whose context names no namespace, as most do.
	bin := filepath.Dir(e.Binary(t))
	env := []string{"PATH=" + bin + ":" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "KUBECONFIG=" + e.Kubeconfig,
		"GITOPS_SANDBOX_GIT_URL=" + e.GitURL}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euxo", "pipefail", "-c", script)
	cmd.Dir = t.TempDir()
	cmd.Env = append(env, "GIT_AUTHOR_NAME=e2e", "GIT_AUTHOR_EMAIL=e2e@example.com", "GIT_COMMITTER_NAME=e2e",
		"GIT_COMMITTER_EMAIL=e2e@example.com", "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	t.Logf("README quickstart:\n%s", out.String())
	if err != nil {
		e.Dump(t, "flux-system", "sample-app")
		t.Fatalf("the README quickstart failed: %v", err)
	}
	for _, want := range []string{"sample-app/sample-app", "deployed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the quickstart's trace output does not mention %q", want)
		}
	}
	e.WaitRollout(t, "sample-app", "sample-app", e2eutil.Rollout{Replicas: 4, Image: "nginx:1.23"}, 2*time.Minute)
}

// quickstart returns the indented command lines between the README's quickstart markers, as one script.
func quickstart(t *testing.T, readme string) string {
	t.Helper()
	b, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	start := strings.Index(s, "<!-- quickstart")
	end := strings.Index(s, "<!-- /quickstart -->")
	if start < 0 || end < start {
		t.Fatalf("%s has no <!-- quickstart --> ... <!-- /quickstart --> block", readme)
	}
	var lines []string
	for _, l := range strings.Split(s[start:end], "\n") {
		if strings.HasPrefix(l, "    ") {
			lines = append(lines, strings.TrimPrefix(l, "    "))
		}
	}
	if len(lines) < 3 {
		t.Fatalf("the quickstart block has %d command lines", len(lines))
	}
	return strings.Join(lines, "\n")
}
