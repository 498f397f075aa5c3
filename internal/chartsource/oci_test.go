package chartsource

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/registry"
)

// registryBinary builds hack/registry (a real distribution/distribution/v3
// registry, its own module) once per version into the user's cache.
func registryBinary(t *testing.T) string {
	t.Helper()
	mod := filepath.Join("..", "..", "hack", "registry")
	out, err := exec.Command("go", "-C", mod, "list", "-m", "-f", "{{.Version}}", "github.com/distribution/distribution/v3").Output()
	if err != nil {
		t.Fatalf("reading the registry's version: %v", err)
	}
	version := strings.TrimSpace(string(out))
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatal(err)
		}
		cache = filepath.Join(home, ".cache")
	}
	dir := filepath.Join(cache, "kubectl-gitops", "tools")
	bin := filepath.Join(dir, "registry-"+version)
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := bin + ".tmp-" + filepath.Base(t.TempDir())
	build := exec.Command("go", "build", "-o", tmp, ".")
	build.Dir = mod
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the test registry (cold builds take about 2 minutes): %v\n%s", err, b)
	}
	if err := os.Rename(tmp, bin); err != nil {
		t.Fatal(err)
	}
	return bin
}

// startRegistry runs the registry on a free loopback port until the test ends.
func startRegistry(t *testing.T) string {
	t.Helper()
	bin := registryBinary(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "-addr", addr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for i := 0; ; i++ {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
		if i == 100 {
			t.Fatalf("the registry on %s did not answer: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func pushChart(t *testing.T, client *registry.Client, ref, version string) string {
	t.Helper()
	ch := &chart.Chart{
		Metadata:  &chart.Metadata{APIVersion: "v2", Name: "podinfo", Version: version},
		Values:    map[string]any{"replicaCount": 1},
		Templates: []*chart.File{{Name: "templates/cm.yaml", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n")}},
	}
	p, err := chartutil.Save(ch, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	res, err := client.Push(data, ref+":"+version)
	if err != nil {
		t.Fatal(err)
	}
	return res.Manifest.Digest
}

func TestResolveOCI(t *testing.T) {
	addr := startRegistry(t)
	client, err := registry.NewClient(registry.ClientOptPlainHTTP())
	if err != nil {
		t.Fatal(err)
	}
	digests := map[string]string{}
	for _, v := range []string{"6.5.0", "6.5.4", "6.6.0"} {
		digests[v] = pushChart(t, client, addr+"/charts/podinfo", v)
	}

	t.Run("HelmRepository type oci", func(t *testing.T) {
		r := helmRepoCheckout(t, "oci://"+addr+"/charts", "  type: oci\n  insecure: true\n")
		for version, want := range map[string]string{"": "6.6.0", "6.5.x": "6.5.4", "6.5.0": "6.5.0"} {
			hr := release()
			hr.Spec.Chart.Spec.Chart = "podinfo"
			hr.Spec.Chart.Spec.Version = version
			hr.Spec.Chart.Spec.SourceRef = helmv2Ref("HelmRepository", "podinfo")
			ch, err := r.Resolve(context.Background(), hr)
			if err != nil {
				t.Fatalf("%q: %v", version, err)
			}
			if ch.Chart.Metadata.Version != want || ch.Revision != want+"@"+digests[want] {
				t.Errorf("%q: got %s (%s), want %s", version, ch.Chart.Metadata.Version, ch.Revision, want)
			}
		}
	})

	t.Run("chartRef OCIRepository", func(t *testing.T) {
		for ref, want := range map[string]string{
			"tag: 6.5.0":                  "6.5.0",
			"semver: '>=6.5.0 <6.6.0'":    "6.5.4",
			"digest: " + digests["6.6.0"]: "6.6.0",
		} {
			dir := t.TempDir()
			run(t, dir, "init", "--quiet", "-b", "main")
			write(t, dir, "sources/podinfo.yaml", "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: podinfo\n  namespace: flux-system\nspec:\n  interval: 1h\n  insecure: true\n  url: oci://"+addr+"/charts/podinfo\n  ref:\n    "+ref+"\n")
			run(t, dir, "add", "-A")
			run(t, dir, "commit", "--quiet", "-m", "sources")
			r := &Resolver{Repo: openRepo(t, dir), CacheDir: t.TempDir()}
			hr := &helmv2.HelmRelease{}
			hr.Name, hr.Namespace = "podinfo", "apps"
			hr.Spec.ChartRef = &helmv2.CrossNamespaceSourceReference{Kind: "OCIRepository", Name: "podinfo", Namespace: "flux-system"}
			ch, err := r.Resolve(context.Background(), hr)
			if err != nil {
				t.Fatalf("%s: %v", ref, err)
			}
			if ch.Chart.Metadata.Version != want || !strings.Contains(ch.From, "OCIRepository flux-system/podinfo") {
				t.Errorf("%s: got %s from %s, want %s", ref, ch.Chart.Metadata.Version, ch.From, want)
			}
		}
	})

	t.Run("missing tag", func(t *testing.T) {
		r := helmRepoCheckout(t, "oci://"+addr+"/charts", "  type: oci\n  insecure: true\n")
		hr := release()
		hr.Spec.Chart.Spec.Chart = "podinfo"
		hr.Spec.Chart.Spec.Version = "9.x"
		hr.Spec.Chart.Spec.SourceRef = helmv2Ref("HelmRepository", "podinfo")
		_, err := r.Resolve(context.Background(), hr)
		if err == nil || !strings.Contains(err.Error(), `no tag of `+addr+`/charts/podinfo matches "9.x"`) {
			t.Errorf("got %v", err)
		}
	})
}
