package promote_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/plugins/plugintest"
)

func modelFixture(t *testing.T, name string) string {
	t.Helper()
	env := binarytest.Env(t.TempDir(), "Setup", "setup@example.com")
	work := filepath.Join(t.TempDir(), "work")
	binarytest.CopyTree(t, filepath.Join("../../internal/fluxmodel/testdata", name), work)
	binarytest.Commit(t, env, work, "init")
	return work
}

// clusters/<env>/kustomization.yaml pulling a shared base through
// resources: both environments have the release, with its chart.
func TestStatusClustersWithSharedBase(t *testing.T) {
	work := modelFixture(t, "sharedbase")
	r := plugintest.Run(t, plugintest.Env{Dir: work}, "promote", "status", "-o", "yaml")
	if r.Code != exitcode.OK || strings.Contains(r.Stdout, "error:") || strings.Count(r.Stdout, "value: 2.0.0") != 2 {
		t.Errorf("exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
}

// A single-cluster repository without .gitops.yaml: its one cluster is the
// environment.
func TestStatusSingleClusterWithoutConfig(t *testing.T) {
	work := modelFixture(t, "single")
	r := plugintest.Run(t, plugintest.Env{Dir: work}, "promote", "status", "-o", "yaml")
	if r.Code != exitcode.OK || !strings.Contains(r.Stdout, "- cluster\n") || !strings.Contains(r.Stdout, "name: jellyfin") || !strings.Contains(r.Stdout, "value: 3.0.0") {
		t.Errorf("exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
}

// A hub cluster that applies one HelmRelease per spoke, each in the
// spoke's namespace (Flux's hub-and-spoke example): a row per namespace,
// each with its own chart source, not an error asking for -n.
func TestStatusHubAndSpoke(t *testing.T) {
	work := modelFixture(t, "hubspoke")
	r := plugintest.Run(t, plugintest.Env{Dir: work}, "promote", "status", "-o", "yaml")
	if r.Code != exitcode.OK || strings.Contains(r.Stdout, "error") || strings.Count(r.Stdout, "\n  name: podinfo\n") != 2 ||
		!strings.Contains(r.Stdout, "namespace: production") || !strings.Contains(r.Stdout, "namespace: staging") {
		t.Errorf("exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	// -n picks one row.
	r = plugintest.Run(t, plugintest.Env{Dir: work}, "promote", "status", "podinfo", "-n", "staging", "-o", "yaml")
	if r.Code != exitcode.OK || strings.Count(r.Stdout, "\n  name: podinfo\n") != 1 || !strings.Contains(r.Stdout, "namespace: staging") || strings.Contains(r.Stdout, "namespace: production") {
		t.Errorf("-n staging: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
}

// With a .gitops.yaml whose environment names its namespace, that
// namespace settles which release the environment means: one row, as
// before, not a row per namespace.
func TestStatusEnvironmentNamespaceSettlesTheRow(t *testing.T) {
	env := binarytest.Env(t.TempDir(), "Setup", "setup@example.com")
	work := filepath.Join(t.TempDir(), "work")
	binarytest.CopyTree(t, "../../internal/fluxmodel/testdata/hubspoke", work)
	if err := os.WriteFile(filepath.Join(work, ".gitops.yaml"), []byte("environments:\n  - name: hub\n    paths: [hub]\n    namespace: staging\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	binarytest.Commit(t, env, work, "init")
	r := plugintest.Run(t, plugintest.Env{Dir: work}, "promote", "status", "-o", "yaml")
	if r.Code != exitcode.OK || strings.Count(r.Stdout, "\n  name: podinfo\n") != 1 || !strings.Contains(r.Stdout, "namespace: staging") || strings.Contains(r.Stdout, "namespace: production") {
		t.Errorf("exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
}

// One file that is not YAML stops neither the other releases nor the
// other environments: the Kustomization holding it is an error row naming
// the file and line, every other row is printed, and the exit code says a
// problem was found.
func TestStatusBrokenFileIsAnErrorRow(t *testing.T) {
	env := binarytest.Env(t.TempDir(), "Setup", "setup@example.com")
	work := filepath.Join(t.TempDir(), "work")
	ks := func(app string) string {
		return "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: " + app + "\n  namespace: flux-system\nspec:\n  path: ./apps/" + app +
			"\n  targetNamespace: " + app + "\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"
	}
	hr := func(app, version string) string {
		return "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: " + app + "\nspec:\n  chart:\n    spec:\n      chart: " + app +
			"\n      version: " + version + "\n      sourceRef:\n        kind: HelmRepository\n        name: charts\n  values:\n    replicas: 1\n"
	}
	files := map[string]string{
		"clusters/home/charts.yaml": "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: charts\n  namespace: flux-system\nspec:\n  url: https://charts.example.com\n",
		"clusters/home/apps.yaml":   ks("alpha") + "---\n" + ks("bravo") + "---\n" + ks("charlie") + "---\n" + ks("delta"),
		"apps/alpha/release.yaml":   hr("alpha", "1.0.0"),
		"apps/bravo/release.yaml":   hr("bravo", "2.0.0"),
		// A tab where YAML wants spaces, on line 4.
		"apps/charlie/release.yaml": "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n\tname: charlie\n",
		"apps/delta/release.yaml":   hr("delta", "4.0.0"),
	}
	for f, c := range files {
		p := filepath.Join(work, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The sources are cluster-wide: flux-system's HelmRepository serves
	// every namespace.
	for _, app := range []string{"alpha", "bravo", "charlie", "delta"} {
		p := filepath.Join(work, "apps", app, "release.yaml")
		b, _ := os.ReadFile(p)
		_ = os.WriteFile(p, []byte(strings.Replace(string(b), "name: charts\n", "name: charts\n        namespace: flux-system\n", 1)), 0o644)
	}
	binarytest.Commit(t, env, work, "init")

	r := plugintest.Run(t, plugintest.Env{Dir: work}, "promote", "status")
	if r.Code != exitcode.Failed {
		t.Errorf("exit %d, want %d\n%s%s", r.Code, exitcode.Failed, r.Stdout, r.Stderr)
	}
	for _, want := range []string{"alpha ", "version 1.0.0", "bravo ", "version 2.0.0", "delta ", "version 4.0.0", "apps/charlie/release.yaml:4"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("status does not show %q:\n%s%s", want, r.Stdout, r.Stderr)
		}
	}
	if !strings.Contains(r.Stderr, "build error") {
		t.Errorf("stderr does not say a problem was found:\n%s", r.Stderr)
	}
	j := plugintest.Run(t, plugintest.Env{Dir: work}, "promote", "status", "-o", "json")
	if j.Code != exitcode.Failed || !strings.Contains(j.Stdout, `"errors"`) || !strings.Contains(j.Stdout, "apps/charlie/release.yaml:4") || !strings.Contains(j.Stdout, `"name": "delta"`) {
		t.Errorf("-o json: exit %d\n%s%s", j.Code, j.Stdout, j.Stderr)
	}
}

// promote finds the release the environment applies, not every document
// of that name under its folder: an archived copy left on disk (not in the
// overlay's kustomization.yaml, so Flux does not apply it) is neither a
// second namespace to choose from nor a place to write.
func TestPromoteIgnoresArchivedCopy(t *testing.T) {
	env := binarytest.Env(t.TempDir(), "Setup", "setup@example.com")
	work := filepath.Join(t.TempDir(), "work")
	binarytest.CopyTree(t, "testdata/patch", work)
	archived := filepath.Join(work, "apps", "production", "archive", "podinfo.yaml")
	if err := os.MkdirAll(filepath.Dir(archived), 0o755); err != nil {
		t.Fatal(err)
	}
	old := "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\n  namespace: legacy\nspec:\n  chart:\n    spec:\n      chart: podinfo\n      version: \"5.0.0\"\n      sourceRef:\n        kind: HelmRepository\n        name: podinfo\n"
	if err := os.WriteFile(archived, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	binarytest.Commit(t, env, work, "init")
	r := plugintest.Run(t, plugintest.Env{Dir: work}, "promote", "podinfo", "--from", "staging", "--to", "production", "--version", "6.7.0", "--dry-run", "--validate=false")
	if r.Code != exitcode.OK || !strings.Contains(r.Stdout, "apps/production/podinfo-values.yaml") || strings.Contains(r.Stdout, "archive") {
		t.Errorf("exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	s := plugintest.Run(t, plugintest.Env{Dir: work}, "promote", "status", "-o", "yaml")
	if s.Code != exitcode.OK || strings.Contains(s.Stdout, "legacy") || strings.Contains(s.Stdout, "5.0.0") {
		t.Errorf("status: exit %d\n%s%s", s.Code, s.Stdout, s.Stderr)
	}
}
