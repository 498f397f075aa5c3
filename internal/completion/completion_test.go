package completion

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func write(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Completion offers what the clusters apply, from the model: a release
// under the namespace its Flux Kustomization gives it (targetNamespace)
// and the name its overlay gives it (namePrefix), once per file; an
// archived copy that nothing includes is not offered.
func TestRepoHelmReleasesFromModel(t *testing.T) {
	dir := t.TempDir()
	ks := func(cluster, ns string) string {
		return "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  path: ./apps/" + cluster +
			"\n  targetNamespace: " + ns + "\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"
	}
	write(t, dir, "clusters/staging/apps.yaml", ks("staging", "podinfo-staging"))
	write(t, dir, "clusters/production/apps.yaml", ks("production", "podinfo"))
	write(t, dir, "apps/base/podinfo/release.yaml", "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\n  namespace: default\nspec:\n  interval: 1m\n")
	write(t, dir, "apps/base/podinfo/kustomization.yaml", "resources: [release.yaml]\n")
	write(t, dir, "apps/staging/kustomization.yaml", "namePrefix: staging-\nresources: [../base/podinfo]\n")
	write(t, dir, "apps/production/kustomization.yaml", "resources: [../base/podinfo]\n")
	write(t, dir, "archive/old-podinfo/release.yaml", "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: old-podinfo\n  namespace: default\n")

	got, err := RepoHelmReleases(context.Background())(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []HelmRelease{
		{Name: "podinfo", Namespace: "podinfo", Path: "apps/base/podinfo/release.yaml"},
		{Name: "staging-podinfo", Namespace: "podinfo-staging", Path: "apps/base/podinfo/release.yaml"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("RepoHelmReleases:\n got %+v\nwant %+v", got, want)
	}
}

// A folder of plain HelmRelease files is modelled as the files themselves:
// a release with no namespace has none, and a chart template that is not
// YAML does not stop the others.
func TestRepoHelmReleasesPlainFiles(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "releases/a.yaml", "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: sample-app\n  namespace: staging\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: not-a-release\n---\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: sample-api\n")
	write(t, dir, "charts/x/templates/deploy.yaml", "{{- if .Values.x }}\nkind: {{ .Values.kind }\n")
	write(t, dir, "other.yaml", "apiVersion: example.com/v1\nkind: HelmRelease\nmetadata:\n  name: other\n")
	got, err := RepoHelmReleases(context.Background())(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []HelmRelease{
		{Name: "sample-api", Path: "releases/a.yaml"},
		{Name: "sample-app", Namespace: "staging", Path: "releases/a.yaml"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("RepoHelmReleases:\n got %+v\nwant %+v", got, want)
	}
	if _, err := RepoHelmReleases(context.Background())(filepath.Join(dir, "nope")); err == nil {
		t.Error("want an error for a missing directory")
	}
}

// A single-cluster repository needs no .gitops.yaml: its cluster is the
// one environment offered, as promote takes it.
func TestRepoEnvironmentsSingleCluster(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "kubernetes/flux/apps.yaml", "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  path: ./kubernetes/apps\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n")
	write(t, dir, "kubernetes/apps/podinfo.yaml", "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\n  namespace: podinfo\nspec:\n  chart:\n    spec:\n      chart: podinfo\n      sourceRef:\n        kind: HelmRepository\n        name: podinfo\n")
	got, err := RepoEnvironments(context.Background())(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"flux"}; !reflect.DeepEqual(got, want) {
		t.Errorf("RepoEnvironments = %q, want %q", got, want)
	}
}
