//go:build e2e

package e2e

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-gitops/kubectl-gitops/test/e2e/e2eutil"
)

// Scenario 1: a commit to the app repo changes the chart's values.yaml (nginx 1.21 -> 1.22, 2 -> 3 replicas)
// without bumping Chart.yaml's version.
func scenario1Commit(t *testing.T, f *e2eutil.Founding) string {
	t.Helper()
	return f.App.Commit(t, "nginx 1.22, 3 replicas", func(dir string) {
		e2eutil.ReplaceInFile(t, dir, "charts/sample-app/values.yaml", `tag: "1.21"`, `tag: "1.22"`)
		e2eutil.ReplaceInFile(t, dir, "charts/sample-app/values.yaml", "replicaCount: 2", "replicaCount: 3")
	})
}

// waitFetched requests a reconcile of the app repo's GitRepository and waits until the commit is stored
// and the HelmChart has looked at it and holds chart version wantChart; it returns the HelmChart.
// (source-controller records observedSourceArtifactRevision before it has packaged the new chart, so the
// revision alone does not mean the build is done.)
func waitFetched(t *testing.T, e *e2eutil.Env, f *e2eutil.Founding, sha, wantChart string) *unstructured.Unstructured {
	t.Helper()
	rev := "main@sha1:" + sha
	e.RequestReconcile(t, e2eutil.GitRepositories, f.NS, e2eutil.AppSource)
	e.WaitFor(t, e2eutil.GitRepositories, f.NS, e2eutil.AppSource, "artifact "+rev, time.Minute, func(u *unstructured.Unstructured) bool {
		return e2eutil.Str(u, "status", "artifact", "revision") == rev && e2eutil.HasCondition(u, "Ready", "True", "")
	})
	return e.WaitFor(t, e2eutil.HelmCharts, f.NS, f.NS+"-"+e2eutil.HelmRelease, "observedSourceArtifactRevision "+rev+", chart "+wantChart, time.Minute,
		func(u *unstructured.Unstructured) bool {
			return e2eutil.Str(u, "status", "observedSourceArtifactRevision") == rev &&
				e2eutil.Str(u, "status", "artifact", "revision") == wantChart && e2eutil.HasCondition(u, "Ready", "True", "")
		})
}

// With reconcileStrategy Revision every commit of the app repo is a new chart version
// (<version>+<12 hex of the commit>) and so an upgrade.
func TestScenario1RevisionStrategyUpgrades(t *testing.T) {
	e := e2eutil.Setup(t)
	ns := e.Namespace(t)
	f := e.DeployFounding(t, ns, e2eutil.FoundingOptions{ReconcileStrategy: "Revision"})

	first := "0.1.2+" + f.App.Head(t)[:12]
	hr := e.WaitFor(t, e2eutil.HelmReleases, ns, e2eutil.HelmRelease, "installed "+first, time.Minute, func(u *unstructured.Unstructured) bool {
		return releasedAs(u, wantRelease{action: "install", helmVersion: 1, chartVersion: first})
	})
	checkRelease(t, hr, wantRelease{action: "install", helmVersion: 1, chartVersion: first, history: 1})
	if got := e2eutil.Str(e.Get(t, e2eutil.HelmCharts, ns, ns+"-sample-app"), "status", "artifact", "revision"); got != first {
		t.Errorf("HelmChart artifact.revision = %q, want %q", got, first)
	}

	sha := scenario1Commit(t, f)
	second := "0.1.2+" + sha[:12]
	waitFetched(t, e, f, sha, second)
	// No reconcile is requested on the HelmRelease: a new chart artifact alone must trigger the upgrade.
	hr = e.WaitFor(t, e2eutil.HelmReleases, ns, e2eutil.HelmRelease, "upgraded to "+second, 2*time.Minute, func(u *unstructured.Unstructured) bool {
		return releasedAs(u, wantRelease{action: "upgrade", helmVersion: 2, chartVersion: second})
	})
	checkRelease(t, hr, wantRelease{action: "upgrade", helmVersion: 2, chartVersion: second, history: 2})
	e.WaitRollout(t, ns, e2eutil.Deployment, e2eutil.Rollout{Replicas: 3, Image: "nginx:1.22"}, 2*time.Minute)
}

// With the default ChartVersion strategy the same commit is fetched (the GitRepository and the HelmChart's
// observedSourceArtifactRevision move) but the chart version stays 0.1.2, so nothing is upgraded.
func TestScenario1ChartVersionStrategyFetchesWithoutUpgrade(t *testing.T) {
	e := e2eutil.Setup(t)
	ns := e.Namespace(t)
	f := e.DeployFounding(t, ns, e2eutil.FoundingOptions{})

	hr := e.WaitFor(t, e2eutil.HelmReleases, ns, e2eutil.HelmRelease, "installed 0.1.2", time.Minute, func(u *unstructured.Unstructured) bool {
		return releasedAs(u, wantRelease{action: "install", helmVersion: 1, chartVersion: "0.1.2"})
	})
	checkRelease(t, hr, wantRelease{action: "install", helmVersion: 1, chartVersion: "0.1.2", history: 1})
	digest := e2eutil.Str(hr, "status", "lastAttemptedConfigDigest")

	sha := scenario1Commit(t, f)
	// The chart stays 0.1.2: Chart.yaml's version did not change.
	waitFetched(t, e, f, sha, "0.1.2")
	// Make the HelmRelease look again and wait until it has: only then is "no upgrade" a result rather
	// than a race.
	token := e.RequestReconcile(t, e2eutil.HelmReleases, ns, e2eutil.HelmRelease)
	hr = e.WaitFor(t, e2eutil.HelmReleases, ns, e2eutil.HelmRelease, "lastHandledReconcileAt "+token, time.Minute, func(u *unstructured.Unstructured) bool {
		return e2eutil.Str(u, "status", "lastHandledReconcileAt") == token
	})
	checkRelease(t, hr, wantRelease{action: "install", helmVersion: 1, chartVersion: "0.1.2", history: 1})
	if got := e2eutil.Str(hr, "status", "lastAttemptedConfigDigest"); got != digest {
		t.Errorf("lastAttemptedConfigDigest moved from %s to %s without a new chart", digest, got)
	}
	e.WaitRollout(t, ns, e2eutil.Deployment, e2eutil.Rollout{Replicas: 2, Image: "nginx:1.21"}, 30*time.Second)
}
