package fluxmodel

import (
	"context"
	"io/fs"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
)

func load(t *testing.T, name string) *Model {
	t.Helper()
	m, err := Load(context.Background(), filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func noErrors(t *testing.T, m *Model) {
	t.Helper()
	for _, e := range m.Errors() {
		t.Errorf("unexpected build error: %v", e)
	}
	for _, r := range m.Releases() {
		if r.Err != nil {
			t.Errorf("%s: %v", r.ID(), r.Err)
		}
	}
}

func ids(m *Model) []string {
	var out []string
	for id := range m.Releases() {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

func values(t *testing.T, r *Release) map[string]any {
	t.Helper()
	v, _ := r.Object["spec"].(map[string]any)["values"].(map[string]any)
	return v
}

// Flux's flux2-kustomize-helm-example layout: apps/base/podinfo patched by
// apps/<env>/podinfo-values.yaml. Each patch is merged over its base and
// the release is listed once per cluster, by its applied identity.
func TestOverlayPatchMergedOverBase(t *testing.T) {
	m := load(t, "overlay")
	noErrors(t, m)
	want := []string{"production/podinfo/podinfo", "staging/podinfo/podinfo"}
	if got := ids(m); !reflect.DeepEqual(got, want) {
		t.Fatalf("releases = %v, want %v", got, want)
	}
	st := m.Cluster("staging").Release("podinfo", "podinfo")
	if v := st.HR.Spec.Chart.Spec.Version; v != ">=6.0.0-alpha" {
		t.Errorf("staging version = %q, want the patch's", v)
	}
	if st.HR.Spec.Chart.Spec.SourceRef.Name != "podinfo" {
		t.Errorf("staging lost the base's sourceRef: %+v", st.HR.Spec.Chart.Spec.SourceRef)
	}
	v := values(t, st)
	ing := v["ingress"].(map[string]any)
	if v["replicaCount"] != 1 && v["replicaCount"] != int64(1) && v["replicaCount"] != float64(1) {
		t.Errorf("replicaCount = %v, want the base's 1", v["replicaCount"])
	}
	if ing["className"] != "nginx" || ing["hosts"] == nil {
		t.Errorf("ingress = %v, want base className and patch hosts merged", ing)
	}
	if s, _ := st.ValueSetter("ingress.hosts"); s != (Setter{File: "apps/staging/podinfo-values.yaml", Line: 11, Patch: true}) {
		t.Errorf("ingress.hosts set at %+v, want the staging patch line 11", s)
	}
	if s, _ := st.ValueSetter("replicaCount"); s != (Setter{File: "apps/base/podinfo/release.yaml", Line: 16}) {
		t.Errorf("staging replicaCount set at %+v, want the base line 16", s)
	}
	pr := m.Cluster("production").Release("podinfo", "podinfo")
	if s, _ := pr.ValueSetter("replicaCount"); s != (Setter{File: "apps/production/podinfo-values.yaml", Line: 11, Patch: true}) {
		t.Errorf("production replicaCount set at %+v, want the production patch", s)
	}
	if got := m.UsedBy("apps/base/podinfo/release.yaml"); !reflect.DeepEqual(got, []string{"production", "staging"}) {
		t.Errorf("base used by %v", got)
	}
	if got := m.UsedBy("apps/staging/podinfo-values.yaml"); !reflect.DeepEqual(got, []string{"staging"}) {
		t.Errorf("staging patch used by %v", got)
	}
}

// archive/podinfo-old/release.yaml names the same HelmRelease, but no
// kustomization includes it: it is not live, and nothing is ambiguous.
func TestFileNobodyIncludesIsNotLive(t *testing.T) {
	m := load(t, "overlay")
	for _, r := range m.Releases() {
		if strings.HasPrefix(r.File, "archive/") {
			t.Errorf("%s comes from the archived copy %s", r.ID(), r.File)
		}
	}
	if n := len(m.Cluster("staging").Find("", "podinfo")); n != 1 {
		t.Errorf("staging has %d podinfo releases, want 1", n)
	}
}

// The same HelmRepository is applied by both cluster trees: each cluster
// has its own, nothing is ambiguous.
func TestSourceInTwoClusterTrees(t *testing.T) {
	m := load(t, "overlay")
	for _, c := range m.Clusters {
		if c.Source("HelmRepository", "flux-system", "bitnami") == nil {
			t.Errorf("%s: HelmRepository flux-system/bitnami not in the model", c.Name)
		}
		if c.Source("HelmRepository", "podinfo", "podinfo") == nil {
			t.Errorf("%s: HelmRepository podinfo/podinfo (namespace from the base kustomization) not in the model", c.Name)
		}
	}
}

// spec.targetNamespace and spec.namePrefix of the Flux Kustomization set the
// identity, not the file.
func TestTargetNamespaceAndPrefix(t *testing.T) {
	m := load(t, "targetns")
	noErrors(t, m)
	if got, want := ids(m), []string{"prod/team-a/prod-web"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("releases = %v, want %v", got, want)
	}
	r := m.Cluster("prod").Release("team-a", "prod-web")
	if r.File != "apps/web.yaml" || r.Line != 1 {
		t.Errorf("base at %s:%d", r.File, r.Line)
	}
	if s, ok := r.ValueSetter("replicaCount"); !ok || s.File != "apps/web.yaml" {
		t.Errorf("replicaCount provenance %+v", s)
	}
}

// clusters/<env>/kustomization.yaml pulls the shared base through
// resources: each environment applies it with its own namespace.
func TestClustersWithSharedBase(t *testing.T) {
	m := load(t, "sharedbase")
	noErrors(t, m)
	want := []string{"production/production-apps/web", "staging/staging-apps/web"}
	if got := ids(m); !reflect.DeepEqual(got, want) {
		t.Fatalf("releases = %v, want %v", got, want)
	}
	r := m.Cluster("staging").Release("staging-apps", "web")
	if r.HR.Spec.Chart == nil || r.HR.Spec.Chart.Spec.SourceRef.Name != "charts" {
		t.Errorf("chart = %+v", r.HR.Spec.Chart)
	}
}

// postBuild: inline substitute, substituteFrom a ConfigMap and a Secret of
// the repository, and a default. The Secret's values are not kept.
func TestPostBuildSubstitution(t *testing.T) {
	m := load(t, "postbuild")
	noErrors(t, m)
	r := m.Cluster("staging").Release("web", "web")
	if r == nil {
		t.Fatalf("no web/web in %v", ids(m))
	}
	v := values(t, r)
	if v["cluster"] != "staging" || v["host"] != "web.staging.example.org" || v["token"] != "s3cr3t-token" {
		t.Errorf("values = %v", v)
	}
	if v["replicas"] != "2" && v["replicas"] != int64(2) && v["replicas"] != float64(2) && v["replicas"] != 2 {
		t.Errorf("replicas = %#v, want the default 2", v["replicas"])
	}
	sec := m.Cluster("staging").Source("Secret", "flux-system", "cluster-secrets")
	if sec == nil {
		t.Fatal("the Secret is not in the model")
	}
	if _, ok := sec.Data["stringData"]; ok {
		t.Errorf("the model keeps the Secret's values: %v", sec.Data)
	}
}

// A single-cluster repository (no clusters/, no .gitops.yaml) has one
// cluster, from its top Flux Kustomization.
func TestSingleClusterWithoutConfig(t *testing.T) {
	m := load(t, "single")
	noErrors(t, m)
	if len(m.Clusters) != 1 {
		t.Fatalf("clusters = %v", m.Names())
	}
	if got, want := ids(m), []string{"cluster/media/jellyfin"}; !reflect.DeepEqual(got, want) {
		t.Errorf("releases = %v, want %v", got, want)
	}
}

// A root base/ + <env>/ layout is one cluster per env folder.
func TestRootBaseLayout(t *testing.T) {
	m := load(t, "rootbase")
	noErrors(t, m)
	want := []string{"production/web-production/web", "staging/web-staging/web"}
	if got := ids(m); !reflect.DeepEqual(got, want) {
		t.Errorf("releases = %v, want %v", got, want)
	}
}

// A folder of plain HelmRelease files: the model is the files, and says so.
func TestPlainFiles(t *testing.T) {
	m := load(t, "plain")
	noErrors(t, m)
	if !m.Plain || !strings.Contains(m.Describe(), "HelmRelease files themselves") {
		t.Errorf("plain = %v, %q", m.Plain, m.Describe())
	}
	if got, want := ids(m), []string{"shop/api", "shop/worker"}; !reflect.DeepEqual(got, want) {
		t.Errorf("releases = %v, want %v", got, want)
	}
}

// Bad input: each error names the file and line; the good cluster is
// still built.
func TestBadInputNamesTheFile(t *testing.T) {
	m := load(t, "broken")
	if got, want := ids(m), []string{"good/apps/ok"}; !reflect.DeepEqual(got, want) {
		t.Errorf("releases = %v, want %v", got, want)
	}
	want := map[string]string{
		"missing": "apps/missing/kustomization.yaml:2: ",
		"badyaml": "apps/badyaml/bad.yaml:",
	}
	for name, prefix := range want {
		c := m.Cluster(name)
		if c == nil || len(c.Errors) != 1 {
			t.Fatalf("cluster %s errors: %v", name, c)
		}
		if got := c.Errors[0].Error(); !strings.HasPrefix(got, prefix) {
			t.Errorf("%s: error %q does not start with %q", name, got, prefix)
		}
	}
}

// Building never writes into the checkout (Flux's generator output stays in
// memory).
func TestLoadWritesNothing(t *testing.T) {
	list := func() []string {
		var out []string
		_ = filepath.WalkDir("testdata", func(p string, d fs.DirEntry, err error) error {
			out = append(out, p)
			return nil
		})
		return out
	}
	before := list()
	for _, n := range []string{"overlay", "postbuild", "targetns", "single"} {
		load(t, n)
	}
	if after := list(); !reflect.DeepEqual(before, after) {
		t.Errorf("Load wrote files: %d before, %d after", len(before), len(after))
	}
}

// LoadEntries reads no HelmRelease file of a repository without entry
// points (override reads the one it edits itself, bounded); Load decodes
// them all, and finds the broken one.
func TestLoadEntriesReadsNoPlainFile(t *testing.T) {
	root := t.TempDir()
	binarytest.WriteFile(t, root, "apps/web.yaml", "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: web\n  namespace: apps\nspec:\n  values:\n    a: 1\n")
	binarytest.WriteFile(t, root, "apps/broken.yaml", "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: broken\n  namespace: apps\nspec:\n  values: {a: [\n")
	full, err := Load(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	if !full.Plain || len(full.Clusters) != 1 || len(full.Clusters[0].Errors) == 0 {
		t.Fatalf("Load: Plain %v, %d clusters; want the plain model with the broken file as an error", full.Plain, len(full.Clusters))
	}
	m, err := LoadEntries(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Plain || len(m.Clusters) != 0 || m.Describe() != full.Describe() {
		t.Errorf("LoadEntries: Plain %v, %d clusters, %q; want the plain model without clusters", m.Plain, len(m.Clusters), m.Describe())
	}
}
