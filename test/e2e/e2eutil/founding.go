package e2eutil

import (
	"path/filepath"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Founding is the project's founding example (examples/sample-app-helm-chart and
// examples/flux-app-delivery) running in one test namespace.
//
// Every object the example puts in flux-system or sample-app lives in NS instead, so tests do not see
// each other: GitRepositories "sample-app-helm-chart" and "flux-app-delivery", Kustomization
// "sample-app", HelmRelease "sample-app", HelmChart NS+"-sample-app", Deployment "sample-app".
type Founding struct {
	NS string
	// App is the chart repo (examples/sample-app-helm-chart); GitOps is the delivery repo, whose manifests
	// are rewritten to NS and the sandbox's Git server.
	App, GitOps *Repo
}

// Names of the objects in Founding.NS.
const (
	AppSource     = "sample-app-helm-chart"
	GitOpsSource  = "flux-app-delivery"
	Kustomization = "sample-app"
	HelmRelease   = "sample-app"
	Deployment    = "sample-app"
)

// FoundingOptions change the example before it is pushed.
type FoundingOptions struct {
	// ReconcileStrategy replaces the HelmRelease's chart.spec.reconcileStrategy (ChartVersion in the
	// example) when set.
	ReconcileStrategy string
}

// DeployFounding pushes both example repos to the Git server, applies the GitRepositories and the
// Kustomization of the GitOps repo into ns, and waits until the Deployment runs 2 Ready pods of nginx:1.21.
func (e *Env) DeployFounding(t testing.TB, ns string, o FoundingOptions) *Founding {
	t.Helper()
	f := &Founding{NS: ns, App: e.NewRepo(t, "sample-app-helm-chart"), GitOps: e.NewRepo(t, "flux-app-delivery")}
	f.App.PushDir(t, filepath.Join(e.Root, "examples", "sample-app-helm-chart"))
	repl := []string{
		"https://github.com/example/sample-app-helm-chart.git", f.App.URL,
		"https://github.com/example/flux-app-delivery.git", f.GitOps.URL,
		"namespace: flux-system", "namespace: " + ns,
		"namespace: sample-app", "namespace: " + ns,
		"kind: Namespace\nmetadata:\n  name: sample-app", "kind: Namespace\nmetadata:\n  name: " + ns,
	}
	if o.ReconcileStrategy != "" {
		repl = append(repl, "reconcileStrategy: ChartVersion", "reconcileStrategy: "+o.ReconcileStrategy)
	}
	gitops := e.CopyExample(t, "flux-app-delivery", repl...)
	f.GitOps.PushDir(t, gitops)
	e.Apply(t, "", filepath.Join(gitops, "sources"), filepath.Join(gitops, "clusters", "local"))
	e.WaitFor(t, Kustomizations, ns, Kustomization, "Ready=True", 2*time.Minute, func(u *unstructured.Unstructured) bool {
		return HasCondition(u, "Ready", "True", "")
	})
	e.WaitFor(t, HelmReleases, ns, HelmRelease, "Ready=True", 3*time.Minute, func(u *unstructured.Unstructured) bool {
		return HasCondition(u, "Ready", "True", "")
	})
	e.WaitRollout(t, ns, Deployment, Rollout{Replicas: 2, Image: "nginx:1.21"}, 2*time.Minute)
	return f
}
