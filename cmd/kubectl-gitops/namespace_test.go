package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// override and promote read the repository through one model
// (internal/fluxmodel), so they give a HelmRelease the same namespace.
// The fixture has the cases where a rule could go wrong: a HelmRelease in
// a sub-kustomization that sets no namespace but that the staging overlay
// includes (so kustomize gives it staging's), and a kustomization at
// apps/ that sets a namespace but includes neither the base nor that
// directory (so it says nothing about them).
func TestOverrideAndPromoteAgreeOnNamespaces(t *testing.T) {
	f := newFixture(t)
	files := map[string]string{
		"apps/kustomization.yaml":               "namespace: not-this-one\nresources: [staging]\n",
		"apps/staging/extra/kustomization.yaml": "resources: [worker.yaml]\n",
		"apps/staging/extra/worker.yaml": `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: worker
spec:
  chart:
    spec:
      chart: ./charts/sample-app
      sourceRef:
        kind: GitRepository
        name: sample-app-chart
  values:
    replicaCount: 1
`,
	}
	for name, content := range files {
		full := filepath.Join(f.work, name)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	kz := filepath.Join(f.work, "apps/staging/kustomization.yaml")
	data, err := os.ReadFile(kz)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kz, []byte(strings.Replace(string(data), "  - ../base/sample-app\n", "  - ../base/sample-app\n  - extra\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	f.git(f.work, "add", "-A")
	f.git(f.work, "commit", "-q", "-m", "worker")

	overrideNS := func(args ...string) (string, string) {
		t.Helper()
		r := f.run(append([]string{"override", "--dry-run", "--set", "replicaCount=2", "-o", "json"}, args...)...)
		if r.ExitCode != 0 {
			t.Fatalf("override %v: exit %d\n%s%s", args, r.ExitCode, r.Stdout, r.Stderr)
		}
		var res struct {
			HelmRelease struct{ Namespace string }
			Path        string
		}
		if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil {
			t.Fatalf("override -o json: %v\n%s", err, r.Stdout)
		}
		return res.HelmRelease.Namespace, res.Path
	}
	promoteNS := func(release, env string) string {
		t.Helper()
		r := f.run("promote", "--status", release, "-o", "json")
		if r.ExitCode != 0 {
			t.Fatalf("promote --status: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
		}
		var st struct {
			HelmReleases []struct {
				Name         string
				Environments []struct {
					Environment, Namespace string
					Present                bool
				}
			}
		}
		if err := json.Unmarshal([]byte(r.Stdout), &st); err != nil {
			t.Fatalf("promote --status -o json: %v\n%s", err, r.Stdout)
		}
		for _, hr := range st.HelmReleases {
			for _, e := range hr.Environments {
				if hr.Name == release && e.Environment == env && e.Present {
					return e.Namespace
				}
			}
		}
		t.Fatalf("promote --status has no %s in %s:\n%s", release, env, r.Stdout)
		return ""
	}

	// Included by the staging overlay: staging's namespace, in both.
	ons, path := overrideNS("worker")
	if pns := promoteNS("worker", "staging"); ons != pns || ons != "sample-app-staging" || path != "apps/staging/extra/worker.yaml" {
		t.Errorf("worker: override says %q (%s), promote says %q; want sample-app-staging", ons, path, pns)
	}
	// --path apps/base builds that folder as a Flux Kustomization with
	// that path and no targetNamespace would: apps/base/sample-app sets no
	// namespace, so Flux applies the release into "default" (the API
	// server's); apps/kustomization.yaml does not include the base, so
	// its namespace, not-this-one, never applies.
	if ons, _ := overrideNS("sample-app", "--path", "apps/base"); ons != "default" {
		t.Errorf("base sample-app: override --path apps/base says namespace %q, want default", ons)
	}
	// So with promote's namespace for production, override finds
	// production's own document (an exact namespace beats an unknown one).
	pns := promoteNS("sample-app", "production")
	if ons, path := overrideNS("sample-app", "-n", pns); ons != pns || path != "apps/production/sample-app-values.yaml" {
		t.Errorf("override -n %s: %q in %s", pns, ons, path)
	}
}
