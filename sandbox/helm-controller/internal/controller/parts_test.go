package controller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	v2 "github.com/fluxcd/helm-controller/api/v2"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/release"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

func TestDigestValues(t *testing.T) {
	empty := "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" // sha256 of nothing
	tests := []struct {
		name string
		a, b map[string]any
		same bool
	}{
		{"nil and empty hash as nothing", nil, map[string]any{}, true},
		{"key order does not matter", map[string]any{"a": 1, "b": map[string]any{"y": 1, "x": 2}},
			map[string]any{"b": map[string]any{"x": 2, "y": 1}, "a": 1}, true},
		{"a changed leaf changes the digest", map[string]any{"image": map[string]any{"tag": "1.21"}},
			map[string]any{"image": map[string]any{"tag": "1.22"}}, false},
		{"maps inside lists are sorted too", map[string]any{"l": []any{map[string]any{"b": 1, "a": 2}}},
			map[string]any{"l": []any{map[string]any{"a": 2, "b": 1}}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			da, db := DigestValues(tc.a), DigestValues(tc.b)
			if (da == db) != tc.same {
				t.Errorf("DigestValues(%v)=%s, DigestValues(%v)=%s, want same=%v", tc.a, da, tc.b, db, tc.same)
			}
		})
	}
	if got := DigestValues(nil); got != empty {
		t.Errorf("DigestValues(nil) = %s, want %s", got, empty)
	}
	// The encoding is sorted YAML, so the digest of {"b":1,"a":2} is the
	// sha256 of "a: 2\nb: 1\n".
	sum := sha256.Sum256([]byte("a: 2\nb: 1\n"))
	if got, want := DigestValues(map[string]any{"b": 1, "a": 2}), "sha256:"+hex.EncodeToString(sum[:]); got != want {
		t.Errorf("DigestValues = %s, want %s", got, want)
	}
}

func TestHelmChartFromTemplate(t *testing.T) {
	hr := baseHelmRelease()
	hr.Spec.Chart.Spec.Version = "0.1.x"
	e := newEnv(t, hr)
	e.reconcile()
	var hc sourcev1.HelmChart
	if err := e.c.Get(context.Background(), types.NamespacedName{Namespace: "flux-system", Name: "sample-app-sample-app"}, &hc); err != nil {
		t.Fatalf("HelmChart not created: %v", err)
	}
	if hc.Labels[labelName] != "sample-app" || hc.Labels[labelNamespace] != "sample-app" {
		t.Errorf("labels = %v, want helm.toolkit.fluxcd.io/name and /namespace = sample-app", hc.Labels)
	}
	want := sourcev1.HelmChartSpec{
		Chart: "./charts/sample-app", Version: "0.1.x",
		SourceRef:         sourcev1.LocalHelmChartSourceReference{Kind: "GitRepository", Name: "sample-app"},
		Interval:          metav1.Duration{Duration: time.Minute},
		ReconcileStrategy: "Revision", ValuesFiles: []string{"values.yaml"},
	}
	if hc.Spec.Chart != want.Chart || hc.Spec.Version != want.Version || hc.Spec.SourceRef != want.SourceRef ||
		hc.Spec.Interval != want.Interval || hc.Spec.ReconcileStrategy != want.ReconcileStrategy ||
		len(hc.Spec.ValuesFiles) != 1 || hc.Spec.ValuesFiles[0] != "values.yaml" {
		t.Errorf("HelmChart spec = %+v, want %+v", hc.Spec, want)
	}
}

func TestHTTPChartLoader(t *testing.T) {
	var archive []byte
	{
		dir := t.TempDir()
		c := &chart.Chart{Metadata: &chart.Metadata{APIVersion: "v2", Name: "sample-app", Version: "0.1.2+a1ec31cde25a", AppVersion: "1.21"}}
		path, err := chartutil.Save(c, dir)
		if err != nil {
			t.Fatal(err)
		}
		archive = mustRead(t, path)
	}
	sum := sha256.Sum256(archive)
	good := "sha256:" + hex.EncodeToString(sum[:])

	mux := http.NewServeMux()
	mux.HandleFunc("/helmchart/chart.tgz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(archive) })
	srv := httptest.NewUnstartedServer(mux)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = l
	srv.Start()
	defer srv.Close()

	tests := []struct {
		name, path, digest string
		wantErr            error
		wantAnyErr         bool
	}{
		{name: "digest matches", path: "/helmchart/chart.tgz", digest: good},
		{name: "digest mismatch is refused", path: "/helmchart/chart.tgz", digest: "sha256:" + hex.EncodeToString(make([]byte, 32)), wantAnyErr: true},
		{name: "gone artifact is errFileNotFound", path: "/helmchart/old.tgz", digest: good, wantErr: errFileNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := HTTPChartLoader{}.Load(context.Background(), &meta.Artifact{URL: srv.URL + tc.path, Digest: tc.digest})
			switch {
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
			case tc.wantAnyErr:
				if err == nil {
					t.Fatal("want an error")
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if c.Metadata.Version != "0.1.2+a1ec31cde25a" {
					t.Errorf("version = %s", c.Metadata.Version)
				}
			}
		})
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBuildInventory(t *testing.T) {
	mapper := apimeta.NewDefaultRESTMapper(nil)
	mapper.Add(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, apimeta.RESTScopeNamespace)
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "Service"}, apimeta.RESTScopeNamespace)
	mapper.Add(schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"}, apimeta.RESTScopeRoot)
	rel := &release.Release{Namespace: "apps", Manifest: `---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: other
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: system:web
---
apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  annotations:
    helm.sh/hook: pre-upgrade
---
apiVersion: example.com/v1
kind: Unknown
metadata:
  name: x
`}
	chrt := &chart.Chart{Metadata: &chart.Metadata{Name: "c"}, Files: []*chart.File{{Name: "crds/widgets.yaml", Data: []byte(
		"apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\n")}}}
	inv, warnings, err := BuildInventory(rel, chrt, mapper)
	if err != nil {
		t.Fatal(err)
	}
	want := []v2.ResourceRef{
		{ID: "apps_web_apps_Deployment", Version: "v1"},
		{ID: "other_web__Service", Version: "v1"},
		{ID: "_system__web_rbac.authorization.k8s.io_ClusterRole", Version: "v1"},
		{ID: "_widgets.example.com_apiextensions.k8s.io_CustomResourceDefinition", Version: "v1"},
	}
	if len(inv.Entries) != len(want) {
		t.Fatalf("entries = %+v, want %+v", inv.Entries, want)
	}
	for i := range want {
		if inv.Entries[i] != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, inv.Entries[i], want[i])
		}
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "Unknown") {
		t.Errorf("warnings = %v, want one about the unknown kind", warnings)
	}
}
