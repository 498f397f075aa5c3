//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-gitops/kubectl-gitops/test/e2e/e2eutil"
)

// The founding story (make demo): Scenario 2's environment override written with
// `kubectl gitops override --push`, picked up by Flux, rolled out to 5 pods of nginx:1.22 with 512Mi.
func TestDemoStory(t *testing.T) {
	e := e2eutil.Setup(t)
	ns := e.Namespace(t)
	f := e.DeployFounding(t, ns, e2eutil.FoundingOptions{})
	hr := e.WaitFor(t, e2eutil.HelmReleases, ns, e2eutil.HelmRelease, "installed 0.1.2", time.Minute, func(u *unstructured.Unstructured) bool {
		return releasedAs(u, wantRelease{action: "install", helmVersion: 1, chartVersion: "0.1.2"})
	})
	checkRelease(t, hr, wantRelease{action: "install", helmVersion: 1, chartVersion: "0.1.2", history: 1})
	before := f.GitOps.Head(t)
	digest := e2eutil.Str(hr, "status", "lastAttemptedConfigDigest")

	clone := f.GitOps.CloneTo(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := e.Run(t, ctx, clone, "override", "sample-app", "-n", ns, "--repo", clone,
		"--set-string", "image.tag=1.22", "--set", "replicaCount=5", "--set", "resources.limits.memory=512Mi", "--push")
	if r.ExitCode != 0 {
		t.Fatalf("kubectl gitops override exited %d:\n%s", r.ExitCode, r.Stderr)
	}
	after := f.GitOps.Pull(t)
	if after == before {
		t.Fatalf("kubectl gitops override --push exited 0 but the GitOps repo's main is still %s", before)
	}
	pushed := time.Now()

	rev := "main@sha1:" + after
	e.RequestReconcile(t, e2eutil.GitRepositories, ns, e2eutil.GitOpsSource)
	e.RequestReconcile(t, e2eutil.Kustomizations, ns, e2eutil.Kustomization)
	e.WaitFor(t, e2eutil.Kustomizations, ns, e2eutil.Kustomization, "lastAppliedRevision "+rev, time.Minute, func(u *unstructured.Unstructured) bool {
		return e2eutil.Str(u, "status", "lastAppliedRevision") == rev && e2eutil.HasCondition(u, "Ready", "True", "")
	})
	hr = e.WaitFor(t, e2eutil.HelmReleases, ns, e2eutil.HelmRelease, "upgraded with the override", 2*time.Minute, func(u *unstructured.Unstructured) bool {
		return releasedAs(u, wantRelease{action: "upgrade", helmVersion: 2, chartVersion: "0.1.2"})
	})
	checkRelease(t, hr, wantRelease{action: "upgrade", helmVersion: 2, chartVersion: "0.1.2", history: 2})
	if got := e2eutil.Str(hr, "status", "lastAttemptedConfigDigest"); got == digest {
		t.Errorf("lastAttemptedConfigDigest is still %s after the override changed the values", got)
	}
	for path, want := range map[string]string{"image.tag": "1.22", "replicaCount": "5", "resources.limits.memory": "512Mi"} {
		if got := e2eutil.Str(hr, append([]string{"spec", "values"}, strings.Split(path, ".")...)...); got != want {
			t.Errorf("HelmRelease spec.values.%s = %q, want %q", path, got, want)
		}
	}
	pods := e.WaitRollout(t, ns, e2eutil.Deployment, e2eutil.Rollout{Replicas: 5, Image: "nginx:1.22", MemoryLimit: "512Mi"}, 2*time.Minute)
	t.Logf("git push to %d pods Ready: %s", len(pods), time.Since(pushed).Round(10*time.Millisecond))
}
