package manifest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
)

func hrDoc(name, ns string) string {
	meta := "  name: " + name + "\n"
	if ns != "" {
		meta += "  namespace: " + ns + "\n"
	}
	return "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n" + meta + "spec:\n  values: {}\n"
}

// newRepo writes files into a fresh git repo and commits them.
func newRepo(t *testing.T, files map[string]string) *gitrepo.Repo {
	t.Helper()
	dir := t.TempDir()
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
	}
	run("init", "-q", "-b", "main")
	for p, c := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run("add", "-A")
	run("commit", "-q", "-m", "init")
	r, err := gitrepo.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestFind(t *testing.T) {
	ctx := context.Background()
	r := newRepo(t, map[string]string{
		"apps/base/podinfo.yaml":          hrDoc("podinfo", ""),
		"apps/base/kustomization.yaml":    "resources: [podinfo.yaml]\n",
		"apps/prod/kustomization.yaml":    "namespace: prod\nresources: [../base, patch.yaml]\n",
		"apps/prod/patch.yaml":            hrDoc("podinfo", ""),
		"apps/staging/kustomization.yaml": "namespace: staging\n",
		"apps/staging/sub/podinfo.yml":    "# leading comment\n---\n" + hrDoc("podinfo", "") + "---\nkind: ConfigMap\nmetadata: {name: x}\n",
		"infra/redis.yaml":                "apiVersion: v1\nkind: Namespace\nmetadata: {name: redis}\n---\n" + hrDoc("redis", "redis"),
		"infra/other-kind.yaml":           "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: podinfo\n  namespace: prod\n",
		"notes.txt":                       "kind: HelmRelease name: podinfo",
		"broken/podinfo-broken.yaml":      "kind: HelmRelease\nmetadata:\n  name: [podinfo\n",
	})
	hrq := func(name, ns, p string) Query {
		return Query{Kind: "HelmRelease", Group: "helm.toolkit.fluxcd.io", Name: name, Namespace: ns, Path: p}
	}

	d, _, err := Find(ctx, r, hrq("redis", "", ""))
	if err != nil {
		t.Fatal(err)
	}
	if d.Path != "infra/redis.yaml" || d.Index != 1 || d.Line != 5 || d.Namespace != "redis" || d.NamespaceFrom != "metadata" {
		t.Errorf("redis = %+v", d)
	}

	d, _, err = Find(ctx, r, hrq("podinfo", "staging", ""))
	if err != nil {
		t.Fatal(err)
	}
	if d.Path != "apps/staging/sub/podinfo.yml" || d.Index != 0 || d.Line != 3 || d.NamespaceFrom != "apps/staging/kustomization.yaml" {
		t.Errorf("staging podinfo = %+v", d)
	}

	// Without -n: base (no namespace), prod and staging all match.
	_, _, err = Find(ctx, r, hrq("podinfo", "", ""))
	var amb *AmbiguousError
	if !errors.As(err, &amb) || len(amb.Candidates) != 3 {
		t.Fatalf("want 3 ambiguous candidates, got %v", err)
	}
	if !strings.Contains(err.Error(), "--path apps/base/podinfo.yaml") {
		t.Errorf("ambiguity message lacks the --path hint: %v", err)
	}
	// --path picks; a directory works too.
	if d, _, err = Find(ctx, r, hrq("podinfo", "", "./apps/prod")); err != nil || d.Path != "apps/prod/patch.yaml" || d.Namespace != "prod" {
		t.Errorf("--path apps/prod: %+v, %v", d, err)
	}
	// -n prod: the prod overlay beats the namespace-less base.
	if d, _, err = Find(ctx, r, hrq("podinfo", "prod", "")); err != nil || d.Path != "apps/prod/patch.yaml" {
		t.Errorf("-n prod: %+v, %v", d, err)
	}

	_, _, err = Find(ctx, r, hrq("podinf", "", ""))
	var nf *NotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("want NotFoundError, got %v", err)
	}
	if nf.Files != 9 || nf.OfKind != 4 || len(nf.Suggestions) == 0 || nf.Suggestions[0].Name != "podinfo" {
		t.Errorf("not found = %+v", nf)
	}
	if len(nf.Malformed) != 1 || nf.Malformed[0].Path != "broken/podinfo-broken.yaml" || nf.Malformed[0].Line == 0 {
		t.Errorf("malformed = %+v", nf.Malformed)
	}
	msg := err.Error()
	for _, want := range []string{"not found in 9 YAML files", "did you mean", "broken/podinfo-broken.yaml:"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}

	// Same name, wrong namespace: suggest -n.
	_, _, err = Find(ctx, r, hrq("redis", "default", ""))
	if err == nil || !strings.Contains(err.Error(), "use -n redis") {
		t.Errorf("wrong namespace: %v", err)
	}
}

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"podinfo", "podinfo", 0}, {"podinfo", "podinf", 1}, {"kitten", "sitting", 3}, {"", "abc", 3}} {
		if got := distance(c.a, c.b); got != c.want {
			t.Errorf("distance(%q,%q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestGroup(t *testing.T) {
	if Group("helm.toolkit.fluxcd.io/v2") != "helm.toolkit.fluxcd.io" || Group("v1") != "" {
		t.Fatal("Group")
	}
}

// The namespace rule: the nearest kustomization file decides; one that
// sets no namespace defers to the kustomization above only when that one
// includes it, and is unknown otherwise.
func TestNamespacesNearestKustomizationDecides(t *testing.T) {
	r := newRepo(t, map[string]string{
		"apps/kustomization.yaml":                  "namespace: apps\nresources: [staging]\n",
		"apps/base/sample-app/kustomization.yaml":  "resources: [helmrelease.yaml]\n",
		"apps/base/sample-app/helmrelease.yaml":    hrDoc("sample-app", ""),
		"apps/staging/kustomization.yaml":          "namespace: staging\nresources: [../base/sample-app, ./extra/]\n",
		"apps/staging/deep/no-kustomization/x.yml": hrDoc("x", ""),
		"apps/staging/extra/kustomization.yaml":    "resources: [worker.yaml]\n",
		"apps/staging/extra/worker.yaml":           hrDoc("worker", ""),
		"apps/staging/other/kustomization.yml":     "resources: [w.yaml]\n",
		"apps/staging/other/w.yaml":                hrDoc("w", ""),
		"apps/broken/kustomization.yaml":           "namespace: [\n",
		"apps/broken/hr.yaml":                      hrDoc("b", ""),
		"loose/hr.yaml":                            hrDoc("loose", ""),
	})
	ns := NewNamespaces(r.Root)
	for _, tc := range []struct{ dir, ns, from string }{
		{"apps/base/sample-app", "", ""},
		{"apps/staging", "staging", "apps/staging/kustomization.yaml"},
		{"apps/staging/deep/no-kustomization", "staging", "apps/staging/kustomization.yaml"},
		// Included by the staging overlay: its namespace.
		{"apps/staging/extra", "staging", "apps/staging/kustomization.yaml"},
		// Below it but not included: unknown.
		{"apps/staging/other", "", ""},
		{"apps", "apps", "apps/kustomization.yaml"},
		{"apps/broken", "", ""},
		{"loose", "", ""},
		{".", "", ""},
	} {
		if got, from := ns.Lookup(tc.dir); got != tc.ns || from != tc.from {
			t.Errorf("Lookup(%s) = %q from %q, want %q from %q", tc.dir, got, from, tc.ns, tc.from)
		}
	}
	// Find applies the same rule: the base is unknown, so -n staging finds it.
	d, _, err := Find(context.Background(), r, Query{Kind: "HelmRelease", Group: "helm.toolkit.fluxcd.io", Name: "sample-app", Namespace: "staging"})
	if err != nil || d.Path != "apps/base/sample-app/helmrelease.yaml" || d.Namespace != "" {
		t.Fatalf("Find = %+v, %v", d, err)
	}
}
