package chartsource

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/repo"
)

// chartRepoServer packages one chart per version with the Helm SDK, writes
// their index, and serves the directory on loopback. It counts package
// downloads.
func chartRepoServer(t *testing.T, versions ...string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	dir := t.TempDir()
	for _, v := range versions {
		ch := &chart.Chart{
			Metadata: &chart.Metadata{APIVersion: "v2", Name: "podinfo", Version: v},
			Values:   map[string]any{"replicaCount": 1},
			Templates: []*chart.File{{Name: "templates/cm.yaml", Data: []byte(
				"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  version: {{ .Chart.Version | quote }}\n")}},
			Raw: []*chart.File{{Name: "values-prod.yaml", Data: []byte("replicaCount: 3\n")}},
		}
		ch.Files = []*chart.File{{Name: "values-prod.yaml", Data: []byte("replicaCount: 3\n")}}
		if _, err := chartutil.Save(ch, dir); err != nil {
			t.Fatal(err)
		}
	}
	var downloads atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".tgz") {
			downloads.Add(1)
		}
		http.FileServer(http.Dir(dir)).ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	idx, err := repo.IndexDirectory(dir, srv.URL+"/charts")
	if err != nil {
		t.Fatal(err)
	}
	// Packages live under /charts/ on the server, as an index may say.
	if err := os.MkdirAll(filepath.Join(dir, "charts"), 0o755); err != nil {
		t.Fatal(err)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "*.tgz"))
	for _, m := range matches {
		if err := os.Rename(m, filepath.Join(dir, "charts", filepath.Base(m))); err != nil {
			t.Fatal(err)
		}
	}
	if err := idx.WriteFile(filepath.Join(dir, "index.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	return srv, &downloads
}

func helmRepoCheckout(t *testing.T, url, extra string) *Resolver {
	t.Helper()
	dir := t.TempDir()
	run(t, dir, "init", "--quiet", "-b", "main")
	write(t, dir, "sources/podinfo.yaml", "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: podinfo\n  namespace: flux-system\nspec:\n  interval: 1h\n  url: "+url+"\n"+extra)
	run(t, dir, "add", "-A")
	run(t, dir, "commit", "--quiet", "-m", "sources")
	return &Resolver{Repo: openRepo(t, dir), CacheDir: t.TempDir()}
}

func TestResolveHelmRepository(t *testing.T) {
	srv, downloads := chartRepoServer(t, "6.5.0", "6.5.4", "6.6.0", "7.0.0-rc.1")
	r := helmRepoCheckout(t, srv.URL, "")
	tests := []struct{ version, want string }{
		{"", "6.6.0"},
		{"*", "6.6.0"},
		{"6.5.x", "6.5.4"},
		{"~6.5.0", "6.5.4"},
		{">=6.0.0 <6.6.0", "6.5.4"},
		{"6.5.0", "6.5.0"},
		{">=7.0.0-0", "7.0.0-rc.1"},
	}
	for _, tt := range tests {
		hr := release()
		hr.Spec.Chart.Spec.Chart = "podinfo"
		hr.Spec.Chart.Spec.Version = tt.version
		hr.Spec.Chart.Spec.SourceRef = helmv2Ref("HelmRepository", "podinfo")
		ch, err := r.Resolve(context.Background(), hr)
		if err != nil {
			t.Fatalf("%q: %v", tt.version, err)
		}
		if ch.Chart.Metadata.Version != tt.want || ch.Revision != tt.want {
			t.Errorf("version %q resolved to %s (revision %s), want %s", tt.version, ch.Chart.Metadata.Version, ch.Revision, tt.want)
		}
	}
	// Each package was downloaded once: the cache is keyed by URL and checked by digest.
	if n := downloads.Load(); n != 4 {
		t.Errorf("%d package downloads, want 4 (one per distinct version)", n)
	}

	hr := release("values-prod.yaml")
	hr.Spec.Chart.Spec.Chart = "podinfo"
	hr.Spec.Chart.Spec.SourceRef = helmv2Ref("HelmRepository", "podinfo")
	ch, err := r.Resolve(context.Background(), hr)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Chart.Values["replicaCount"] != float64(3) && ch.Chart.Values["replicaCount"] != 3 {
		t.Errorf("valuesFiles from inside the chart not applied: %v", ch.Chart.Values)
	}

	for _, bad := range []struct{ version, want string }{
		{"8.x", "no chart version found"},
		{"not a range", "podinfo version not a range"},
	} {
		hr := release()
		hr.Spec.Chart.Spec.Chart = "podinfo"
		hr.Spec.Chart.Spec.Version = bad.version
		hr.Spec.Chart.Spec.SourceRef = helmv2Ref("HelmRepository", "podinfo")
		_, err := r.Resolve(context.Background(), hr)
		var ue *UnresolvableError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("version %q: got %v, want an UnresolvableError with %q", bad.version, err, bad.want)
		}
	}
}

func TestResolveHelmRepositoryUnresolvable(t *testing.T) {
	srv, _ := chartRepoServer(t, "1.0.0")
	for _, tt := range []struct{ url, extra, want string }{
		{srv.URL + "/missing", "", "fetching the index of HelmRepository flux-system/podinfo"},
		{"oci://127.0.0.1:1/charts", "  type: oci\n", "chart podinfo from HelmRepository flux-system/podinfo"},
		{srv.URL, "  secretRef:\n    name: creds\n", "needs credentials"},
	} {
		r := helmRepoCheckout(t, tt.url, tt.extra)
		hr := release()
		hr.Spec.Chart.Spec.Chart = "podinfo"
		hr.Spec.Chart.Spec.SourceRef = helmv2Ref("HelmRepository", "podinfo")
		_, err := r.Resolve(context.Background(), hr)
		var ue *UnresolvableError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want %q", tt.url, err, tt.want)
		}
	}
}
