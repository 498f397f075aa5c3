//go:build e2e

package e2e

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-gitops/kubectl-gitops/test/e2e/e2eutil"
)

// An override pushed to the GitOps repo on the cluster's Git server reaches the pods: the user runs
// `kubectl gitops override --push` in their clone, Flux applies the new HelmRelease values, and the
// Deployment rolls out 3 pods of nginx:1.22. A second override from a stale clone (another key, the
// memory limit) lands on top of the first without losing it.
func TestOverrideReachesPods(t *testing.T) {
	e := e2eutil.Setup(t)
	ns := e.Namespace(t)
	f := e.DeployFounding(t, ns, e2eutil.FoundingOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	alice, bob := f.GitOps.CloneTo(t), f.GitOps.CloneTo(t)
	r := e.Run(t, ctx, alice, "override", e2eutil.HelmRelease, "-n", ns,
		"--set", "image.tag=1.22", "--set", "replicaCount=3", "--push")
	if r.ExitCode != 0 {
		t.Fatalf("override exited %d: %s", r.ExitCode, r.Stderr)
	}
	sha := head(t, alice)
	waitApplied(t, e, ns, sha)
	e.WaitRollout(t, ns, e2eutil.Deployment, e2eutil.Rollout{Replicas: 3, Image: "nginx:1.22"}, 3*time.Minute)

	// Bob's clone predates Alice's push.
	r = e.Run(t, ctx, bob, "override", e2eutil.HelmRelease, "-n", ns, "--set", "resources.limits.memory=256Mi", "--push")
	if r.ExitCode != 0 {
		t.Fatalf("second override exited %d: %s", r.ExitCode, r.Stderr)
	}
	if !strings.Contains(r.Stdout, "on top of concurrent changes") {
		t.Errorf("second override did not rebuild over the first: %q", r.Stdout)
	}
	sha = head(t, bob)
	waitApplied(t, e, ns, sha)
	e.WaitRollout(t, ns, e2eutil.Deployment, e2eutil.Rollout{Replicas: 3, Image: "nginx:1.22", MemoryLimit: "256Mi"}, 3*time.Minute)
}

func head(t *testing.T, dir string) string {
	t.Helper()
	out, err := exec.Command("git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// waitApplied asks Flux to fetch the GitOps repo now (instead of at its interval) and waits until the
// Kustomization has applied commit sha and the HelmRelease is Ready again.
func waitApplied(t *testing.T, e *e2eutil.Env, ns, sha string) {
	t.Helper()
	rev := "main@sha1:" + sha
	e.RequestReconcile(t, e2eutil.GitRepositories, ns, e2eutil.GitOpsSource)
	e.WaitFor(t, e2eutil.Kustomizations, ns, e2eutil.Kustomization, "applied "+rev, 2*time.Minute, func(u *unstructured.Unstructured) bool {
		return e2eutil.Str(u, "status", "lastAppliedRevision") == rev
	})
	e.WaitFor(t, e2eutil.HelmReleases, ns, e2eutil.HelmRelease, "Ready=True", 3*time.Minute, func(u *unstructured.Unstructured) bool {
		return e2eutil.HasCondition(u, "Ready", "True", "")
	})
}
