package fluxmodel

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
)

func hrDoc(name, ns string) string {
	meta := "  name: " + name + "\n"
	if ns != "" {
		meta += "  namespace: " + ns + "\n"
	}
	return "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n" + meta + "spec:\n  values: {}\n"
}

func hrq(name, ns, p string) Query {
	return Query{Kind: "HelmRelease", Group: "helm.toolkit.fluxcd.io", Name: name, Namespace: ns, Path: p}
}

// A repository without entry points is its files as written: a lookup
// reads the files that mention the kind and the name, gives a document
// without metadata.namespace the one its kustomization.yaml would, and
// says what it searched when nothing matches.
func TestFindUnappliedInAPlainRepository(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	for p, c := range map[string]string{
		"team/common/podinfo.yaml":        hrDoc("podinfo", ""),
		"team/common/kustomization.yaml":  "resources: [podinfo.yaml]\n",
		"team/prod/kustomization.yaml":    "namespace: prod\nresources: [../common, patch.yaml]\n",
		"team/prod/patch.yaml":            hrDoc("podinfo", ""),
		"team/staging/kustomization.yaml": "namespace: staging\n",
		"team/staging/sub/podinfo.yml":    "# leading comment\n---\n" + hrDoc("podinfo", "") + "---\nkind: ConfigMap\nmetadata: {name: x}\n",
		"infra/redis.yaml":                "apiVersion: v1\nkind: Namespace\nmetadata: {name: redis}\n---\n" + hrDoc("redis", "redis"),
		"infra/other-kind.yaml":           "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: podinfo\n  namespace: prod\n",
		"notes.txt":                       "kind: HelmRelease name: podinfo",
		"broken/podinfo-broken.yaml":      "kind: HelmRelease\nmetadata:\n  name: [podinfo\n",
	} {
		binarytest.WriteFile(t, root, p, c)
	}
	m, err := LoadEntries(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Plain {
		t.Fatalf("want the plain model, got %s", m.Describe())
	}

	d, _, err := m.FindUnapplied(ctx, hrq("redis", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	if d.Path != "infra/redis.yaml" || d.Index != 1 || d.Line != 5 || d.Namespace != "redis" || d.NamespaceFrom != "metadata" {
		t.Errorf("redis = %+v", d)
	}
	d, _, err = m.FindUnapplied(ctx, hrq("podinfo", "staging", ""))
	if err != nil {
		t.Fatal(err)
	}
	if d.Path != "team/staging/sub/podinfo.yml" || d.Index != 0 || d.Line != 3 || d.NamespaceFrom != "team/staging/kustomization.yaml" {
		t.Errorf("staging podinfo = %+v", d)
	}
	_, _, err = m.FindUnapplied(ctx, hrq("podinfo", "", ""))
	var amb *AmbiguousError
	if !errors.As(err, &amb) || len(amb.Candidates) != 3 || !strings.Contains(err.Error(), "--path team/common/podinfo.yaml") {
		t.Fatalf("want 3 ambiguous candidates with a --path hint, got %v", err)
	}
	if d, _, err = m.FindUnapplied(ctx, hrq("podinfo", "", "./team/prod")); err != nil || d.Path != "team/prod/patch.yaml" || d.Namespace != "prod" {
		t.Errorf("path team/prod: %+v, %v", d, err)
	}
	// -n prod: the prod overlay beats the namespace-less base.
	if d, _, err = m.FindUnapplied(ctx, hrq("podinfo", "prod", "")); err != nil || d.Path != "team/prod/patch.yaml" {
		t.Errorf("-n prod: %+v, %v", d, err)
	}
	_, _, err = m.FindUnapplied(ctx, hrq("podinf", "", ""))
	var nf *NotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("want NotFoundError, got %v", err)
	}
	if nf.Files != 9 || nf.OfKind != 4 || len(nf.Suggestions) == 0 || nf.Suggestions[0].Name != "podinfo" {
		t.Errorf("not found = %+v", nf)
	}
	if len(nf.Malformed) != 1 || nf.Malformed[0].Path != "broken/podinfo-broken.yaml" || nf.Malformed[0].Line == 0 || nf.ExitCode() != 1 {
		t.Errorf("malformed = %+v", nf.Malformed)
	}
	_, _, err = m.FindUnapplied(ctx, hrq("redis", "default", ""))
	if err == nil || !strings.Contains(err.Error(), "use -n redis") {
		t.Errorf("wrong namespace: %v", err)
	}
}

// In a modelled repository the lookup reads only the files no cluster
// applies: the archived copy of an app, never the base or the patches the
// clusters take podinfo from (with the files as written, podinfo matched
// four documents).
func TestFindUnappliedSkipsWhatClustersApply(t *testing.T) {
	ctx := context.Background()
	m := load(t, "overlay")
	applied := m.AppliedFiles()
	for _, f := range []string{"apps/base/podinfo/release.yaml", "apps/staging/podinfo-values.yaml", "apps/production/podinfo-values.yaml", "apps/base/podinfo/repository.yaml"} {
		if !applied[f] {
			t.Errorf("AppliedFiles lacks %s", f)
		}
	}
	d, _, err := m.FindUnapplied(ctx, hrq("podinfo", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	if d.Path != "archive/podinfo-old/release.yaml" {
		t.Errorf("found %+v, want the archived copy only", d)
	}
	_, _, err = m.FindUnapplied(ctx, Query{Kind: "HelmRepository", Group: "source.toolkit.fluxcd.io", Name: "podinfo"})
	var nf *NotFoundError
	if !errors.As(err, &nf) || nf.OfKind == 0 {
		t.Errorf("an applied source is not written in an unapplied file: %v", err)
	}
}

// The namespace a document no cluster applies gets: the nearest
// kustomization file decides; one that sets no namespace defers to the
// kustomization above only when that one includes it.
func TestUnappliedNamespaceFromKustomization(t *testing.T) {
	root := t.TempDir()
	for p, c := range map[string]string{
		"apps/kustomization.yaml":                  "namespace: apps\nresources: [staging]\n",
		"apps/base/sample-app/kustomization.yaml":  "resources: [helmrelease.yaml]\n",
		"apps/staging/kustomization.yaml":          "namespace: staging\nresources: [../base/sample-app, ./extra/]\n",
		"apps/staging/extra/kustomization.yaml":    "resources: [worker.yaml]\n",
		"apps/staging/other/kustomization.yml":     "resources: [w.yaml]\n",
		"apps/broken/kustomization.yaml":           "namespace: [\n",
		"apps/staging/deep/no-kustomization/x.yml": hrDoc("x", ""),
	} {
		binarytest.WriteFile(t, root, p, c)
	}
	ns := newNamespaces(disk(root))
	for _, tc := range []struct{ dir, ns, from string }{
		{"apps/base/sample-app", "", ""},
		{"apps/staging", "staging", "apps/staging/kustomization.yaml"},
		{"apps/staging/deep/no-kustomization", "staging", "apps/staging/kustomization.yaml"},
		{"apps/staging/extra", "staging", "apps/staging/kustomization.yaml"},
		{"apps/staging/other", "", ""},
		{"apps", "apps", "apps/kustomization.yaml"},
		{"apps/broken", "", ""},
		{".", "", ""},
	} {
		if got, from := ns.lookup(tc.dir); got != tc.ns || from != tc.from {
			t.Errorf("lookup(%s) = %q from %q, want %q from %q", tc.dir, got, from, tc.ns, tc.from)
		}
	}
}

// A folder built as a Flux Kustomization with that path: the overlay's
// patch merged over the base outside it, each value with its file.
func TestLoadPathBuildsTheOverlay(t *testing.T) {
	m, err := LoadPath(context.Background(), filepath.Join("testdata", "overlay"), "./apps/staging")
	if err != nil {
		t.Fatal(err)
	}
	noErrors(t, m)
	if len(m.Clusters) != 1 || m.Clusters[0].Name != "--path apps/staging" {
		t.Fatalf("clusters = %v", m.Names())
	}
	r := m.Clusters[0].Release("podinfo", "podinfo")
	if r == nil {
		t.Fatalf("releases = %v", ids(m))
	}
	if v := r.HR.Spec.Chart.Spec.Version; v != ">=6.0.0-alpha" || r.HR.Spec.Chart.Spec.SourceRef.Kind != "HelmRepository" {
		t.Errorf("chart = %+v, want the patch's version over the base's source", r.HR.Spec.Chart.Spec)
	}
	if r.File != "apps/base/podinfo/release.yaml" || r.Dir != "apps/staging" {
		t.Errorf("base %s, dir %s", r.File, r.Dir)
	}
	if s, ok := r.ValueSetter("ingress.hosts"); !ok || s.File != "apps/staging/podinfo-values.yaml" || !s.Patch {
		t.Errorf("ingress.hosts set by %+v, %v", s, ok)
	}
	if m.Clusters[0].Source("HelmRepository", "podinfo", "podinfo") == nil {
		t.Error("the build's HelmRepository is not among its objects")
	}
	if _, err := LoadPath(context.Background(), filepath.Join("testdata", "overlay"), "../elsewhere"); err == nil {
		t.Error("a path outside the repository was built")
	}
}

// A checkout whose path kustomize refuses ("+" in a folder name, as a
// fetched mirror's "owner+name") is built in a copy, and its files are
// still named relative to the checkout.
func TestLoadPathUnderAFolderKustomizeRefuses(t *testing.T) {
	root := filepath.Join(t.TempDir(), "fluxcd+example")
	if err := os.CopyFS(root, os.DirFS(filepath.Join("testdata", "overlay"))); err != nil {
		t.Fatal(err)
	}
	m, err := LoadPath(context.Background(), root, "apps/staging")
	if err != nil {
		t.Fatal(err)
	}
	noErrors(t, m)
	r := m.Clusters[0].Release("podinfo", "podinfo")
	if r == nil {
		t.Fatalf("releases = %v", ids(m))
	}
	if r.File != "apps/base/podinfo/release.yaml" || !strings.HasSuffix(m.Root, "fluxcd+example") {
		t.Errorf("base %s under %s, want apps/base/podinfo/release.yaml under the checkout", r.File, m.Root)
	}
}
