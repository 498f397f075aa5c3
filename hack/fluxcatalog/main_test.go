package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	fluxplugin "github.com/fluxcd/flux2/v2/pkg/plugin"
	"sigs.k8s.io/yaml"
)

func writeDist(t *testing.T, artifacts string, archives map[string]string) string {
	t.Helper()
	root := t.TempDir()
	dist := filepath.Join(root, "dist")
	if err := os.MkdirAll(dist, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"metadata.json":  `{"project_name":"kubectl-gitops","tag":"v0.2.0","version":"0.2.0"}`,
		"artifacts.json": artifacts,
	}
	for name, content := range archives {
		files[name] = content
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dist, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dist
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(h[:])
}

func TestGenerate(t *testing.T) {
	dist := writeDist(t, `[
  {"name":"kubectl-gitops_0.2.0_windows_arm64.zip","path":"dist/kubectl-gitops_0.2.0_windows_arm64.zip","goos":"windows","goarch":"arm64","type":"Archive","extra":{"ID":"kubectl-gitops"}},
  {"name":"kubectl-gitops_0.2.0_linux_amd64.tar.gz","path":"dist/kubectl-gitops_0.2.0_linux_amd64.tar.gz","goos":"linux","goarch":"amd64","type":"Archive","extra":{"ID":"kubectl-gitops"}},
  {"name":"kubectl-gitops","path":"dist/kubectl-gitops_linux_amd64_v1/kubectl-gitops","goos":"linux","goarch":"amd64","type":"Binary","extra":{"ID":"kubectl-gitops"}},
  {"name":"checksums.txt","path":"dist/checksums.txt","type":"Checksum"}
]`, map[string]string{
		"kubectl-gitops_0.2.0_windows_arm64.zip":  "zip bytes",
		"kubectl-gitops_0.2.0_linux_amd64.tar.gz": "tgz bytes",
	})
	m, err := Generate(dist, "http://127.0.0.1:8080/{tag}/{name}")
	if err != nil {
		t.Fatal(err)
	}
	if m.APIVersion != "cli.fluxcd.io/v1beta1" || m.Kind != "Plugin" || m.Name != "gitops" || m.Bin != "flux-gitops" {
		t.Errorf("header: %+v", m)
	}
	if len(m.Versions) != 1 || m.Versions[0].Version != "0.2.0" {
		t.Fatalf("versions: %+v", m.Versions)
	}
	want := []fluxplugin.Platform{
		{OS: "linux", Arch: "amd64", URL: "http://127.0.0.1:8080/v0.2.0/kubectl-gitops_0.2.0_linux_amd64.tar.gz",
			Checksum: sum("tgz bytes"), ExtractPath: "kubectl-gitops"},
		{OS: "windows", Arch: "arm64", URL: "http://127.0.0.1:8080/v0.2.0/kubectl-gitops_0.2.0_windows_arm64.zip",
			Checksum: sum("zip bytes"), ExtractPath: "kubectl-gitops.exe"},
	}
	got := m.Versions[0].Platforms
	if len(got) != len(want) {
		t.Fatalf("platforms: got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("platform %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	if _, err := yaml.Marshal(m); err != nil {
		t.Fatal(err)
	}
}

func TestGenerateNoArchives(t *testing.T) {
	dist := writeDist(t, `[{"name":"checksums.txt","path":"dist/checksums.txt","type":"Checksum"}]`, nil)
	if _, err := Generate(dist, "{name}"); err == nil {
		t.Fatal("want an error when goreleaser made no archives")
	}
}

func TestGenerateMissingArchive(t *testing.T) {
	dist := writeDist(t, `[{"name":"x.tar.gz","path":"dist/x.tar.gz","goos":"linux","goarch":"amd64","type":"Archive","extra":{"ID":"kubectl-gitops"}}]`, nil)
	if _, err := Generate(dist, "{name}"); err == nil {
		t.Fatal("want an error when an archive is missing")
	}
}
