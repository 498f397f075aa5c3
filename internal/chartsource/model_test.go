package chartsource

import (
	"context"
	"strings"
	"testing"
)

// Without Objects, a source is looked up in the model of the checkout: the
// one the clusters apply (here both cluster trees apply the same
// HelmRepository, which is one source), never an archived copy no cluster
// applies (the scan of the files as written found three documents and
// asked for --path); a source only written in a file no cluster applies
// is found there and named as such.
func TestResolverLooksSourcesUpInTheModel(t *testing.T) {
	srv, _ := chartRepoServer(t, "6.5.0", "6.6.0")
	dir := t.TempDir()
	run(t, dir, "init", "--quiet", "-b", "main")
	src := func(name, url string) string {
		return "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: " + name + "\n  namespace: flux-system\nspec:\n  interval: 1h\n  url: " + url + "\n"
	}
	write(t, dir, "clusters/staging/podinfo-source.yaml", src("podinfo", srv.URL))
	write(t, dir, "clusters/production/podinfo-source.yaml", src("podinfo", srv.URL))
	write(t, dir, "archive/podinfo-source.yaml", src("podinfo", "http://127.0.0.1:9/gone"))
	write(t, dir, "by-hand/other-source.yaml", src("other", srv.URL))
	run(t, dir, "add", "-A")
	run(t, dir, "commit", "--quiet", "-m", "sources")
	r := &Resolver{Repo: openRepo(t, dir), CacheDir: t.TempDir()}

	hr := release()
	hr.Spec.Chart.Spec.Chart = "podinfo"
	hr.Spec.Chart.Spec.SourceRef = helmv2Ref("HelmRepository", "podinfo")
	hr.Spec.Chart.Spec.SourceRef.Namespace = "flux-system"
	ch, err := r.Resolve(context.Background(), hr)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Chart.Metadata.Version != "6.6.0" {
		t.Errorf("resolved %s, want 6.6.0", ch.Chart.Metadata.Version)
	}

	var where string
	if _, where, err = r.fromModel(context.Background(), "HelmRepository", "other", "flux-system"); err != nil {
		t.Fatal(err)
	}
	if where != "by-hand/other-source.yaml:1, a file no cluster of the repository applies" {
		t.Errorf("where = %q", where)
	}
	if _, _, err = r.fromModel(context.Background(), "HelmRepository", "none", "flux-system"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("missing source: %v", err)
	}
}
