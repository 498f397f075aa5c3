package completion

import (
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

func TestScanHelmReleases(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "apps/staging/release.yaml", `# comment
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: sample-app
  namespace: staging
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: not-a-release
---
apiVersion: helm.toolkit.fluxcd.io/v2beta2
kind: HelmRelease
metadata:
  name: sample-api
`)
	write(t, dir, "apps/prod/release.yml", "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: sample-app\n  namespace: prod\n")
	// A chart template does not parse as YAML; it is skipped, not an error.
	write(t, dir, "charts/x/templates/deploy.yaml", "{{- if .Values.x }}\nkind: {{ .Values.kind }\n")
	// Hidden directories (.git) are not scanned.
	write(t, dir, ".git/hr.yaml", "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: hidden\n")
	// Another API group's HelmRelease is not Flux's.
	write(t, dir, "other.yaml", "apiVersion: example.com/v1\nkind: HelmRelease\nmetadata:\n  name: other\n")

	got, err := ScanHelmReleases(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []HelmRelease{
		{Name: "sample-app", Namespace: "prod", Path: "apps/prod/release.yml"},
		{Name: "sample-app", Namespace: "staging", Path: "apps/staging/release.yaml"},
		{Name: "sample-api", Path: "apps/staging/release.yaml"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ScanHelmReleases:\n got %+v\nwant %+v", got, want)
	}
}

func TestScanHelmReleasesMissingDir(t *testing.T) {
	if _, err := ScanHelmReleases(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Fatal("want an error for a missing directory")
	}
}
