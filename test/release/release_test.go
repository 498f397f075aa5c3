//go:build release

// Package release is `make release-check`: it builds the release with the
// pinned goreleaser, checks what comes out, and installs it the two ways
// users do (krew, and `flux plugin install`) into temporary roots, then runs
// the installed plugin through kubectl's and flux's own plugin discovery.
//
// Steps run in order and stop at the first failure, since each needs the
// one before; the failing step's name is the subtest name.
//
//	go test -tags release -count=1 -v ./test/release/
//
// RELEASE_ALL_PLATFORMS=1 builds all six platforms (what a tag release
// does); the default builds only this machine's (--single-target), which is
// what routine test runs can afford, and checks the six-platform matrix in
// the configuration instead.
package release

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kubectl-gitops/kubectl-gitops/krew"
)

type env struct {
	root  string // repository root
	dist  string
	tools map[string]string
	// Filled in as steps go.
	meta     struct{ Version, Tag, Commit string }
	archives map[string]string // "os/arch" -> archive path
	checksum map[string]string // archive base name -> sha256 hex
}

func TestRelease(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{root: root, dist: filepath.Join(root, "dist"), tools: map[string]string{}}
	allPlatforms := os.Getenv("RELEASE_ALL_PLATFORMS") == "1"

	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"build-tools", e.buildTools},
		{"goreleaser-check", func(t *testing.T) { e.run(t, e.root, nil, e.tools["goreleaser"], "check") }},
		{"container-image", e.checkImage},
		{"goreleaser-snapshot", func(t *testing.T) { e.snapshot(t, allPlatforms) }},
		{"archives", func(t *testing.T) { e.checkArchives(t, allPlatforms) }},
		{"checksums", e.checkChecksums},
		{"sbom", e.checkSBOM},
		{"binary-stripped-and-versioned", e.checkBinary},
		{"krew-manifest", e.checkKrewManifest},
		{"validate-krew-manifest", e.validateKrewManifest},
		{"krew-install-and-kubectl-discovery", e.krewInstall},
		{"flux-catalog", e.fluxCatalog},
		{"flux-plugin-install", e.fluxInstall},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.run) {
			t.Fatalf("release-check stopped at step %q (later steps need it)", s.name)
		}
	}
}

// run runs a command and fails the step with its output if it fails.
func (e *env) run(t *testing.T, dir string, environ []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = environ
	if environ == nil {
		cmd.Env = os.Environ()
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t.Logf("$ %s %s", filepath.Base(name), strings.Join(args, " "))
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

func (e *env) buildTools(t *testing.T) {
	for _, name := range []string{"goreleaser", "krew", "validate-krew-manifest", "cyclonedx-gomod", "flux"} {
		path := strings.TrimSpace(lastLine(e.run(t, e.root, nil, filepath.Join(e.root, "hack/tools.sh"), name)))
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("hack/tools.sh %s printed %q: %v", name, path, err)
		}
		e.tools[name] = path
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func (e *env) snapshot(t *testing.T, all bool) {
	// No Docker daemon here: the image (dockers_v2) is built on tag
	// releases only; container-image checks its definition.
	args := []string{"release", "--snapshot", "--clean", "--skip=publish,docker"}
	if !all {
		// `goreleaser release` has no --single-target (only `build` does):
		// run it on a copy of the configuration narrowed to this platform.
		args = append(args, "--config", singleTargetConfig(t, filepath.Join(e.root, ".goreleaser.yaml")))
	}
	// goreleaser runs SBOM tools by name from PATH.
	bin := t.TempDir()
	if err := os.Symlink(e.tools["cyclonedx-gomod"], filepath.Join(bin, "cyclonedx-gomod")); err != nil {
		t.Fatal(err)
	}
	environ := append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	e.run(t, e.root, environ, e.tools["goreleaser"], args...)
	var meta struct {
		Version string `json:"version"`
		Tag     string `json:"tag"`
		Commit  string `json:"commit"`
	}
	readJSON(t, filepath.Join(e.dist, "metadata.json"), &meta)
	e.meta.Version, e.meta.Tag, e.meta.Commit = meta.Version, meta.Tag, meta.Commit
	if e.meta.Version == "" || !strings.Contains(e.meta.Version, "snapshot") {
		t.Fatalf("metadata.json version %q, want a snapshot version", e.meta.Version)
	}
}

// singleTargetConfig writes .goreleaser.yaml with every build narrowed to
// runtime.GOOS/GOARCH, and returns its path.
func singleTargetConfig(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	builds, _ := cfg["builds"].([]any)
	if len(builds) == 0 {
		t.Fatalf("%s has no builds", path)
	}
	for _, b := range builds {
		build := b.(map[string]any)
		build["goos"] = []string{runtime.GOOS}
		build["goarch"] = []string{runtime.GOARCH}
	}
	out, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	single := filepath.Join(t.TempDir(), "goreleaser-single-target.yaml")
	if err := os.WriteFile(single, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return single
}

// checkImage checks the container image definition goreleaser check has
// accepted: Linux images of the plugin binary from the Dockerfile, whose
// COPY names the path dockers_v2 lays the binary out at.
func (e *env) checkImage(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(e.root, ".goreleaser.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Dockers []struct {
			IDs        []string `json:"ids"`
			Dockerfile string   `json:"dockerfile"`
			Images     []string `json:"images"`
			Platforms  []string `json:"platforms"`
		} `json:"dockers_v2"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Dockers) != 1 {
		t.Fatalf("want one dockers_v2 image, got %d", len(cfg.Dockers))
	}
	d := cfg.Dockers[0]
	if fmt.Sprint(d.IDs) != "[kubectl-gitops]" || len(d.Images) == 0 || fmt.Sprint(d.Platforms) != "[linux/amd64 linux/arm64]" {
		t.Errorf("dockers_v2: %+v", d)
	}
	df, err := os.ReadFile(filepath.Join(e.root, d.Dockerfile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"COPY $TARGETPLATFORM/kubectl-gitops ", "apk add --no-cache git", "ENTRYPOINT [\"kubectl-gitops\"]"} {
		if !strings.Contains(string(df), want) {
			t.Errorf("%s lacks %q", d.Dockerfile, want)
		}
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func exe(goos string) string {
	if goos == "windows" {
		return ".exe"
	}
	return ""
}

func (e *env) checkArchives(t *testing.T, all bool) {
	want := []string{runtime.GOOS + "/" + runtime.GOARCH}
	if all {
		want = nil
		for _, goos := range []string{"darwin", "linux", "windows"} {
			for _, goarch := range []string{"amd64", "arm64"} {
				want = append(want, goos+"/"+goarch)
			}
		}
	}
	e.archives = map[string]string{}
	for _, key := range want {
		goos, goarch, _ := strings.Cut(key, "/")
		format := "tar.gz"
		if goos == "windows" {
			format = "zip"
		}
		path := filepath.Join(e.dist, fmt.Sprintf("kubectl-gitops_%s_%s_%s.%s", e.meta.Version, goos, goarch, format))
		entries, err := listArchive(path)
		if err != nil {
			t.Errorf("%s: %v", key, err)
			continue
		}
		for _, f := range []string{"kubectl-gitops" + exe(goos), "kubectl_complete-gitops" + exe(goos), "LICENSE", "README.md", "CHANGELOG.md"} {
			mode, ok := entries[f]
			if !ok {
				t.Errorf("%s lacks %s (has %v)", filepath.Base(path), f, keys(entries))
				continue
			}
			if goos != "windows" && strings.HasPrefix(f, "kubectl") && mode&0o111 == 0 {
				t.Errorf("%s: %s is not executable (%v)", filepath.Base(path), f, mode)
			}
		}
		e.archives[key] = path
	}
	matches, _ := filepath.Glob(filepath.Join(e.dist, "kubectl-gitops_*.*"))
	var found []string
	for _, m := range matches {
		if strings.HasSuffix(m, ".tar.gz") || strings.HasSuffix(m, ".zip") {
			found = append(found, m)
		}
	}
	if len(found) != len(want) {
		t.Errorf("dist has %d archives %v, want %d", len(found), found, len(want))
	}
}

func keys(m map[string]os.FileMode) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// listArchive returns the archive's file names with their modes.
func listArchive(path string) (map[string]os.FileMode, error) {
	out := map[string]os.FileMode{}
	if strings.HasSuffix(path, ".zip") {
		r, err := zip.OpenReader(path)
		if err != nil {
			return nil, err
		}
		defer r.Close()
		for _, f := range r.File {
			out[f.Name] = f.Mode()
		}
		return out, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out[h.Name] = h.FileInfo().Mode()
	}
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (e *env) checkChecksums(t *testing.T) {
	f, err := os.Open(filepath.Join(e.dist, "checksums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	e.checksum = map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Errorf("checksums.txt line %q is not '<sha256>  <file>'", sc.Text())
			continue
		}
		e.checksum[name] = sum
	}
	for key, path := range e.archives {
		name := filepath.Base(path)
		got, ok := e.checksum[name]
		if !ok {
			t.Errorf("checksums.txt has no line for %s (%s)", name, key)
			continue
		}
		if want := sha256File(t, path); got != want {
			t.Errorf("checksums.txt says %s for %s, the file hashes to %s", got, name, want)
		}
	}
}

func (e *env) checkSBOM(t *testing.T) {
	for key := range e.archives {
		goos, goarch, _ := strings.Cut(key, "/")
		path := filepath.Join(e.dist, fmt.Sprintf("kubectl-gitops_%s_%s_%s.sbom.json", e.meta.Version, goos, goarch))
		var bom struct {
			BOMFormat  string `json:"bomFormat"`
			Components []struct {
				Name    string `json:"name"`
				Version string `json:"version"`
			} `json:"components"`
		}
		readJSON(t, path, &bom)
		if bom.BOMFormat != "CycloneDX" {
			t.Errorf("%s: bomFormat %q, want CycloneDX", filepath.Base(path), bom.BOMFormat)
		}
		found := false
		for _, c := range bom.Components {
			if c.Name == "k8s.io/client-go" && c.Version == "v0.36.4" {
				found = true
			}
		}
		if !found {
			t.Errorf("%s does not list k8s.io/client-go v0.36.4 among %d components", filepath.Base(path), len(bom.Components))
		}
		if _, ok := e.checksum[filepath.Base(path)]; !ok {
			t.Errorf("checksums.txt has no line for %s", filepath.Base(path))
		}
	}
}

// extract writes one file of a tar.gz archive to dir.
func extract(t *testing.T, archive, name, dir string) string {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s not in %s: %v", name, archive, err)
		}
		if h.Name != name {
			continue
		}
		out := filepath.Join(dir, name)
		w, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY, 0o755)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(w, tr); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return out
	}
}

func (e *env) hostArchive(t *testing.T) string {
	t.Helper()
	a, ok := e.archives[runtime.GOOS+"/"+runtime.GOARCH]
	if !ok || !strings.HasSuffix(a, ".tar.gz") {
		t.Fatalf("no tar.gz archive for this machine (%s/%s)", runtime.GOOS, runtime.GOARCH)
	}
	return a
}

func (e *env) checkBinary(t *testing.T) {
	dir := t.TempDir()
	bin := extract(t, e.hostArchive(t), "kubectl-gitops", dir)
	if runtime.GOOS == "linux" {
		f, err := elf.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{".symtab", ".debug_info"} {
			if f.Section(s) != nil {
				t.Errorf("binary has %s: -s -w did not apply", s)
			}
		}
		f.Close()
	}
	info, _ := os.Stat(bin)
	t.Logf("stripped binary: %.1f MiB", float64(info.Size())/(1<<20))
	out := e.run(t, dir, []string{"PATH=/usr/bin:/bin", "HOME=" + dir}, bin, "version", "-o", "json")
	var v map[string]string
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("version -o json: %v\n%s", err, out)
	}
	if v["version"] != e.meta.Version || v["commit"] != e.meta.Commit || v["date"] == "unknown" {
		t.Errorf("version ldflags did not apply: got %v, want version %s commit %s", v, e.meta.Version, e.meta.Commit)
	}
}

func (e *env) checkKrewManifest(t *testing.T) {
	generated, err := krew.Load(filepath.Join(e.dist, "krew", "gitops.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range generated.Check() {
		t.Errorf("dist/krew/gitops.yaml: %v", err)
	}
	checkedIn, err := krew.Load(filepath.Join(e.root, "krew", "gitops.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range krew.SameText(checkedIn, generated) {
		t.Errorf("krew/gitops.yaml and dist/krew/gitops.yaml: %v", err)
	}
	if generated.Spec.Version != "v"+e.meta.Version {
		t.Errorf("generated version %s, want v%s", generated.Spec.Version, e.meta.Version)
	}
	if got, want := len(generated.Spec.Platforms), len(e.archives); got != want {
		t.Errorf("generated manifest has %d platforms, dist has %d archives", got, want)
	}
	for _, p := range generated.Spec.Platforms {
		archive, ok := e.archives[p.Key()]
		if !ok {
			t.Errorf("generated platform %s has no archive", p.Key())
			continue
		}
		name := filepath.Base(archive)
		if want := "https://github.com/kubectl-gitops/kubectl-gitops/releases/download/" + e.meta.Tag + "/" + name; p.URI != want {
			t.Errorf("%s: uri %s, want %s", p.Key(), p.URI, want)
		}
		if p.Sha256 != e.checksum[name] {
			t.Errorf("%s: sha256 %s, checksums.txt says %s", p.Key(), p.Sha256, e.checksum[name])
		}
	}
}

func (e *env) validateKrewManifest(t *testing.T) {
	for _, m := range []string{filepath.Join(e.dist, "krew", "gitops.yaml"), filepath.Join(e.root, "krew", "gitops.yaml")} {
		// -skip-install: without it the validator downloads every uri.
		e.run(t, e.root, nil, e.tools["validate-krew-manifest"], "-manifest", m, "-skip-install")
	}
}

// userEnv is a cleared environment, as a user's shell would have: the tools
// on PATH and a throwaway HOME, nothing from the developer's session.
func userEnv(t *testing.T, path []string, extra ...string) []string {
	t.Helper()
	return append([]string{"PATH=" + strings.Join(path, string(os.PathListSeparator)), "HOME=" + t.TempDir()}, extra...)
}

func kubectlDir(t *testing.T) string {
	t.Helper()
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatalf("kubectl is not on PATH: %v (the krew check runs the plugin through kubectl's discovery)", err)
	}
	return filepath.Dir(kubectl)
}

func (e *env) krewInstall(t *testing.T) {
	krewRoot := t.TempDir()
	krewBin := filepath.Join(krewRoot, "bin")
	environ := userEnv(t, []string{krewBin, kubectlDir(t), "/usr/bin", "/bin"}, "KREW_ROOT="+krewRoot)
	manifest := filepath.Join(e.dist, "krew", "gitops.yaml")
	e.run(t, e.root, environ, e.tools["krew"], "install", "--manifest="+manifest, "--archive="+e.hostArchive(t))

	out := e.run(t, krewRoot, environ, "kubectl", "gitops", "version")
	if !strings.Contains(out, e.meta.Version) {
		t.Errorf("kubectl gitops version printed %q, want version %s", out, e.meta.Version)
	}
	out = e.run(t, krewRoot, environ, "kubectl", "gitops", "--help")
	if !strings.Contains(out, "kubectl gitops [command]") {
		t.Errorf("kubectl gitops --help does not say 'kubectl gitops':\n%s", out)
	}
	out = e.run(t, krewRoot, environ, "kubectl", "plugin", "list", "--name-only")
	if !strings.Contains(out, "kubectl-gitops") {
		t.Errorf("kubectl plugin list does not show kubectl-gitops:\n%s", out)
	}

	// Argument completion through kubectl: link the completion executable
	// krew unpacked (docs/install.md tells users to), then ask kubectl.
	plugin, err := filepath.EvalSymlinks(filepath.Join(krewBin, "kubectl-gitops"))
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(krewBin, "kubectl_complete-gitops")
	if err := os.Symlink(filepath.Join(filepath.Dir(plugin), "kubectl_complete-gitops"), link); err != nil {
		t.Fatal(err)
	}
	out = e.run(t, krewRoot, environ, "kubectl", "__complete", "gitops", "")
	for _, want := range []string{"override", "promote", "trace", "version", "completion"} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl __complete gitops '' lacks %s:\n%s", want, out)
		}
	}
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}

	// krew refuses uninstall without a local index (a git clone that
	// `krew update` would fetch). An empty local repository stands in for it
	// offline; install --manifest did not need one.
	e.run(t, krewRoot, environ, "git", "init", "-q", filepath.Join(krewRoot, "index", "default"))
	e.run(t, e.root, environ, e.tools["krew"], "uninstall", "gitops")
	left, _ := filepath.Glob(filepath.Join(krewBin, "*"))
	if len(left) != 0 {
		t.Errorf("after uninstall, %s still holds %v", krewBin, left)
	}
	if _, err := os.Stat(filepath.Join(krewRoot, "store", "gitops")); !os.IsNotExist(err) {
		t.Errorf("after uninstall, the krew store still has gitops (%v)", err)
	}
	gone := exec.Command("kubectl", "gitops", "version")
	gone.Env = environ
	if out, err := gone.CombinedOutput(); err == nil {
		t.Errorf("kubectl gitops still runs after krew uninstall:\n%s", out)
	}
}

// The catalog points at a server on loopback that serves dist/.
func (e *env) fluxCatalog(t *testing.T) {
	// Placeholder base; fluxInstall regenerates it with the server's address.
	e.run(t, e.root, nil, "go", "run", "./hack/fluxcatalog", "-dist", e.dist, "-url", "http://127.0.0.1/{name}")
	for _, f := range []string{"gitops.yaml", "catalog.yaml"} {
		if _, err := os.Stat(filepath.Join(e.dist, "flux", f)); err != nil {
			t.Error(err)
		}
	}
}

func (e *env) fluxInstall(t *testing.T) {
	srv := httptest.NewServer(http.FileServer(http.Dir(e.dist)))
	defer srv.Close()
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("test server is not on loopback: %s", srv.URL)
	}
	e.run(t, e.root, nil, "go", "run", "./hack/fluxcatalog", "-dist", e.dist, "-url", srv.URL+"/{name}")

	plugins := t.TempDir()
	environ := userEnv(t, []string{"/usr/bin", "/bin"},
		"FLUXCD_PLUGIN_CATALOG="+srv.URL+"/flux/", "FLUXCD_PLUGINS="+plugins)
	flux := e.tools["flux"]
	e.run(t, plugins, environ, flux, "plugin", "install", "gitops")
	if _, err := os.Stat(filepath.Join(plugins, "flux-gitops"+exe(runtime.GOOS))); err != nil {
		t.Fatalf("flux plugin install did not write flux-gitops: %v", err)
	}
	out := e.run(t, plugins, environ, flux, "gitops", "version")
	if !strings.Contains(out, e.meta.Version) {
		t.Errorf("flux gitops version printed %q, want version %s", out, e.meta.Version)
	}
	out = e.run(t, plugins, environ, flux, "gitops", "--help")
	if !strings.Contains(out, "flux gitops [command]") || strings.Contains(out, "kubectl gitops") {
		t.Errorf("flux gitops --help does not name itself 'flux gitops':\n%s", out)
	}
	out = e.run(t, plugins, environ, flux, "plugin", "list")
	if !strings.Contains(out, "gitops") {
		t.Errorf("flux plugin list does not show gitops:\n%s", out)
	}
	e.run(t, plugins, environ, flux, "plugin", "uninstall", "gitops")
	if _, err := os.Stat(filepath.Join(plugins, "flux-gitops"+exe(runtime.GOOS))); !os.IsNotExist(err) {
		t.Errorf("flux plugin uninstall left flux-gitops behind (%v)", err)
	}
}
