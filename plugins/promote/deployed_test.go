package promote

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynfake "k8s.io/client-go/dynamic/fake"

	"github.com/kubectl-gitops/kubectl-gitops/internal/envs"
	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxstatus"
)

const rev013 = "v0.1.3@sha1:1111111111111111111111111111111111111111"

func obj(gvr schema.GroupVersionResource, kind, ns, name string, fields map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": gvr.Group + "/" + gvr.Version,
		"kind":       kind,
		"metadata":   map[string]any{"name": name, "namespace": ns, "generation": int64(2)},
	}}
	for k, v := range fields {
		u.Object[k] = v
	}
	return u
}

// healthy is staging as Flux leaves it after installing chart 0.1.3 from
// tag v0.1.3 (flux-contract.md).
func healthy() (hr, gitRepo, chart *unstructured.Unstructured) {
	hr = obj(gvrHelmRelease, "HelmRelease", "sample-app-staging", "sample-app", map[string]any{
		"status": map[string]any{
			"observedGeneration": int64(2),
			"helmChart":          "sample-app-staging/sample-app-staging-sample-app",
			"conditions": []any{
				map[string]any{"type": "Ready", "status": "True", "reason": "UpgradeSucceeded", "message": "Helm upgrade succeeded"},
				map[string]any{"type": "Released", "status": "True", "reason": "UpgradeSucceeded"},
			},
			"history": []any{
				map[string]any{"status": "deployed", "chartVersion": "0.1.3", "version": int64(2)},
				map[string]any{"status": "superseded", "chartVersion": "0.1.2", "version": int64(1)},
			},
		},
	})
	gitRepo = obj(gvrGitRepo, "GitRepository", "sample-app-staging", "sample-app-chart", map[string]any{
		"status": map[string]any{"artifact": map[string]any{"revision": rev013}},
	})
	chart = obj(gvrHelmChart, "HelmChart", "sample-app-staging", "sample-app-staging-sample-app", map[string]any{
		"status": map[string]any{"observedSourceArtifactRevision": rev013, "artifact": map[string]any{"revision": "0.1.3"}},
	})
	return hr, gitRepo, chart
}

func TestClusterChecker(t *testing.T) {
	src := &chartSource{Kind: kindGitRepository, Name: "sample-app-chart", Namespace: "sample-app-staging", RefType: refTag, Value: "v0.1.3"}
	tests := []struct {
		name   string
		mutate func(hr, gitRepo, chart *unstructured.Unstructured) []runtime.Object
		src    *chartSource
		want   string // "" for deployed
	}{
		{name: "deployed and ready"},
		{name: "upgrade failed", mutate: func(hr, g, c *unstructured.Unstructured) []runtime.Object {
			_ = unstructured.SetNestedSlice(hr.Object, []any{
				map[string]any{"type": "Ready", "status": "False", "reason": "UpgradeFailed", "message": "Helm upgrade failed for release sample-app"},
				map[string]any{"type": "Released", "status": "False", "reason": "UpgradeFailed", "message": "Helm upgrade failed for release sample-app-staging/sample-app with chart sample-app@0.1.3: Deployment is invalid"},
			}, "status", "conditions")
			return []runtime.Object{hr, g, c}
		}, want: "is not Ready (UpgradeFailed: Helm upgrade failed for release sample-app-staging/sample-app with chart sample-app@0.1.3"},
		{name: "latest release failed", mutate: func(hr, g, c *unstructured.Unstructured) []runtime.Object {
			_ = unstructured.SetNestedSlice(hr.Object, []any{map[string]any{"status": "failed", "chartVersion": "0.1.3"}}, "status", "history")
			return []runtime.Object{hr, g, c}
		}, want: "has no deployed Helm release"},
		{name: "spec not reconciled yet", mutate: func(hr, g, c *unstructured.Unstructured) []runtime.Object {
			_ = unstructured.SetNestedField(hr.Object, int64(1), "status", "observedGeneration")
			return []runtime.Object{hr, g, c}
		}, want: "has not reconciled its latest spec"},
		{name: "source on another tag", mutate: func(hr, g, c *unstructured.Unstructured) []runtime.Object {
			_ = unstructured.SetNestedField(g.Object, "v0.1.2@sha1:2222222222222222222222222222222222222222", "status", "artifact", "revision")
			return []runtime.Object{hr, g, c}
		}, want: "has fetched v0.1.2@sha1:2222"},
		{name: "chart not rebuilt from the new tag", mutate: func(hr, g, c *unstructured.Unstructured) []runtime.Object {
			_ = unstructured.SetNestedField(c.Object, "v0.1.2@sha1:2222222222222222222222222222222222222222", "status", "observedSourceArtifactRevision")
			return []runtime.Object{hr, g, c}
		}, want: "has not built from " + rev013},
		{name: "same commit, chart version not bumped", mutate: func(hr, g, c *unstructured.Unstructured) []runtime.Object {
			_ = unstructured.SetNestedField(c.Object, "0.1.4", "status", "artifact", "revision")
			return []runtime.Object{hr, g, c}
		}, want: "built chart 0.1.4"},
		{name: "release missing", mutate: func(hr, g, c *unstructured.Unstructured) []runtime.Object {
			return []runtime.Object{g, c}
		}, want: "HelmRelease sample-app-staging/sample-app does not exist"},
		{name: "helm repository version", src: &chartSource{Kind: kindHelmRepository, RefType: refVersion, Value: "0.1.3"}},
		{name: "helm repository wrong version", src: &chartSource{Kind: kindHelmRepository, RefType: refVersion, Value: "0.2.0"}, want: "runs chart version 0.1.3, not 0.2.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hr, g, c := healthy()
			objs := []runtime.Object{hr, g, c}
			if tt.mutate != nil {
				objs = tt.mutate(hr, g, c)
			}
			scheme := runtime.NewScheme()
			client := dynfake.NewSimpleDynamicClientWithCustomListKinds(scheme, map[schema.GroupVersionResource]string{
				gvrHelmRelease: "HelmReleaseList", fluxstatus.DeploymentGVR: "DeploymentList", fluxstatus.StatefulSetGVR: "StatefulSetList", fluxstatus.DaemonSetGVR: "DaemonSetList", gvrGitRepo: "GitRepositoryList", gvrHelmChart: "HelmChartList", gvrOCIRepo: "OCIRepositoryList",
			}, objs...)
			s := src
			if tt.src != nil {
				s = tt.src
			}
			err := (&clusterChecker{client: client}).Check(context.Background(), &envs.Environment{Name: "staging"}, "sample-app", "sample-app-staging", s)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Check = %v, want deployed", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Check = %v, want an error saying %q", err, tt.want)
			case tt.want != "" && exitcode.From(err) != exitcode.Failed:
				t.Fatalf("exit code %d, want Failed", exitcode.From(err))
			}
		})
	}
}
