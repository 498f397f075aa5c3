package diff_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
)

func TestMain(m *testing.M) { os.Exit(binarytest.Main(m)) }

// multiEnv is examples/flux-multi-env, published to a bare origin, whose
// GitRepositories point at a bare copy of the founding chart repo tagged
// v0.1.2 and v0.1.3 (the chart versions of the same name).
func multiEnv(t *testing.T) (work string, env []string) {
	t.Helper()
	base := t.TempDir()
	env = binarytest.Env(base, "Differ", "differ@example.com")
	chart := filepath.Join(base, "chart", "work")
	binarytest.CopyTree(t, "../../examples/sample-app-helm-chart", chart)
	binarytest.Commit(t, env, chart, "0.1.2")
	binarytest.Git(t, env, chart, "tag", "v0.1.2")
	edit(t, chart, "charts/sample-app/Chart.yaml", "version: 0.1.2", "version: 0.1.3")
	binarytest.Git(t, env, chart, "commit", "-qam", "0.1.3")
	binarytest.Git(t, env, chart, "tag", "v0.1.3")
	remote := binarytest.Publish(t, env, chart)
	binarytest.Git(t, env, chart, "push", "-q", "--tags", "origin")

	work = filepath.Join(base, "gitops", "work")
	binarytest.CopyTree(t, "../../examples/flux-multi-env", work)
	for _, e := range []string{"staging", "production"} {
		edit(t, work, "apps/"+e+"/sample-app-source.yaml", "https://github.com/example/sample-app-helm-chart.git", "file://"+remote)
	}
	binarytest.Commit(t, env, work, "initial")
	binarytest.Publish(t, env, work)
	binarytest.Git(t, env, work, "switch", "-q", "-c", "change")
	return work, env
}

func edit(t *testing.T, dir, rel, old, new string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s lacks %q", rel, old)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDiffMultiEnv(t *testing.T) {
	work, env := multiEnv(t)
	bin := binarytest.Build(t)
	run := func(args ...string) binarytest.Result {
		t.Helper()
		return binarytest.Run(t, env, work, bin, append([]string{"diff"}, args...)...)
	}

	// Nothing committed on the branch yet.
	r := run()
	if r.ExitCode != 0 || !strings.Contains(r.Stdout, "no HelmRelease changes") {
		t.Fatalf("no change: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}

	// A change to the shared base reaches every environment; production's
	// source moves to the next tag.
	edit(t, work, "apps/base/sample-app/helmrelease.yaml", `team: "web"`, `team: "platform"`)
	edit(t, work, "apps/production/sample-app-source.yaml", "tag: v0.1.2", "tag: v0.1.3")
	binarytest.Git(t, env, work, "commit", "-qam", "hand sample-app to platform; production to 0.1.3")
	r = run()
	if r.ExitCode != 7 {
		t.Fatalf("exit %d, want 7 (changed)\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	for _, want := range []string{
		"HelmRelease staging/sample-app-staging/sample-app (apps/base/sample-app/helmrelease.yaml): changed",
		"HelmRelease production/sample-app-production/sample-app (apps/base/sample-app/helmrelease.yaml): changed",
		"--- a/Deployment sample-app-staging/sample-app",
		"--- a/Deployment sample-app-production/sample-app",
		"-        team: web\n+        team: platform\n",
		"-    helm.sh/chart: sample-app-0.1.2\n+    helm.sh/chart: sample-app-0.1.3\n",
		"2 HelmRelease(s) in the range: 2 changed (",
	} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	if strings.Count(r.Stdout, "helm.sh/chart: sample-app-0.1.3") != 2 || strings.Contains(r.Stderr, "error") {
		t.Errorf("the chart moved in production only (its Deployment and Service):\n%s\nstderr: %s", r.Stdout, r.Stderr)
	}
	t.Logf("stdout:\n%s", r.Stdout)

	r = run("origin/main..HEAD", "-o", "json")
	var res struct {
		Changed, Invalid int
		Releases         []struct{ Release, Status, Diff string }
	}
	if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil || r.ExitCode != 7 {
		t.Fatalf("json: exit %d, %v\n%s", r.ExitCode, err, r.Stdout)
	}
	if res.Changed != 2 || res.Invalid != 0 || len(res.Releases) != 2 || res.Releases[0].Release != "production/sample-app-production/sample-app" || !strings.Contains(res.Releases[1].Diff, "team: platform") {
		t.Errorf("json: %+v", res)
	}

	r = run("-o", "markdown")
	if r.ExitCode != 7 || !strings.Contains(r.Stdout, "#### ✅ HelmRelease `staging/sample-app-staging/sample-app`") || !strings.Contains(r.Stdout, "```diff\n") {
		t.Errorf("markdown: exit %d\n%s", r.ExitCode, r.Stdout)
	}

	// An invalid value in one environment: exit 4, named.
	edit(t, work, "apps/staging/sample-app-values.yaml", "replicaCount: 2", "replicaCount: two")
	binarytest.Git(t, env, work, "commit", "-qam", "typo")
	r = run()
	if r.ExitCode != 4 || !strings.Contains(r.Stdout, `invalid: Deployment sample-app-staging/sample-app (sample-app/templates/deployment.yaml) spec.replicas: "two": must be an integer`) {
		t.Errorf("invalid: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}

	// The temporary worktrees are gone.
	if wt := binarytest.Git(t, env, work, "worktree", "list"); strings.Count(wt, "\n") != 1 {
		t.Errorf("worktrees left behind:\n%s", wt)
	}
	r = run("nope..HEAD")
	if r.ExitCode != 3 || !strings.Contains(r.Stderr, "nope is not a commit") {
		t.Errorf("bad range: exit %d: %s", r.ExitCode, r.Stderr)
	}
}

// TestDiffNamesEncrypted: a release whose values file is SOPS-encrypted
// is named as not rendered, and why, instead of rendered from ciphertext.
func TestDiffNamesEncrypted(t *testing.T) {
	work, env := multiEnv(t)
	bin := binarytest.Build(t)
	p := filepath.Join(work, "apps/staging/sample-app-values.yaml")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	enc := strings.Replace(string(b), `tag: "1.22"`, `tag: ENC[AES256_GCM,data:MS4yMw==,iv:aXY=,tag:dGFn,type:str]`, 1) +
		"sops:\n  mac: ENC[AES256_GCM,data:bWFj,iv:aXY=,tag:dGFn,type:str]\n  lastmodified: \"2026-01-01T00:00:00Z\"\n  version: 3.13.3\n"
	if err := os.WriteFile(p, []byte(enc), 0o644); err != nil {
		t.Fatal(err)
	}
	binarytest.Git(t, env, work, "commit", "-qam", "encrypt staging's values")
	r := binarytest.Run(t, env, work, bin, "diff")
	if !strings.Contains(r.Stdout, "sample-app-staging/sample-app") || !strings.Contains(r.Stdout, "apps/staging/sample-app-values.yaml is SOPS-encrypted") ||
		strings.Contains(r.Stdout, "ENC[AES256_GCM") {
		t.Errorf("exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
}
