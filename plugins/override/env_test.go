package override_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxmodel"
	"github.com/kubectl-gitops/kubectl-gitops/plugins/plugintest"
)

// --env writes where the value lives for that environment (the patch that
// sets it, else the base; with --in-patch the environment's patch), and
// says which environments the edited file reaches.
func TestOverrideEnvEditsWhereTheValueLives(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		file  string
		notes string
	}{
		{"patch sets it", []string{"--env", "production", "--set", "replicaCount=5"}, "apps/production/podinfo-values.yaml",
			"editing apps/production/podinfo-values.yaml (the patch that sets it in production): it is used by production only"},
		{"base sets it", []string{"--env", "staging", "--set", "replicaCount=2"}, "apps/base/podinfo/release.yaml",
			"editing apps/base/podinfo/release.yaml (the base): this base value is used by production and staging"},
		{"new key goes to the base", []string{"--env", "staging", "--set", "ui.color=red"}, "apps/base/podinfo/release.yaml", "(the base)"},
		{"in the patch", []string{"--env", "staging", "--in-patch", "--set", "replicaCount=2"}, "apps/staging/podinfo-values.yaml",
			"editing apps/staging/podinfo-values.yaml (a patch of staging): it is used by staging only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := binarytest.Env(t.TempDir(), "Setup", "setup@example.com")
			work := filepath.Join(t.TempDir(), "work")
			binarytest.CopyTree(t, "../../internal/fluxmodel/testdata/overlay", work)
			binarytest.Commit(t, env, work, "init")
			r := plugintest.Run(t, plugintest.Env{Dir: work}, append([]string{"override", "podinfo", "--no-commit"}, tc.args...)...)
			if r.Code != exitcode.OK || !strings.Contains(r.Stderr, tc.notes) {
				t.Fatalf("exit %d, want 0 saying %q\n%s%s", r.Code, tc.notes, r.Stdout, r.Stderr)
			}
			if got := strings.TrimSpace(binarytest.Git(t, env, work, "diff", "--name-only")); got != tc.file {
				t.Errorf("edited %q, want %q", got, tc.file)
			}
		})
	}
	env := binarytest.Env(t.TempDir(), "Setup", "setup@example.com")
	work := filepath.Join(t.TempDir(), "work")
	binarytest.CopyTree(t, "../../internal/fluxmodel/testdata/overlay", work)
	binarytest.Commit(t, env, work, "init")
	for _, tc := range []struct {
		args []string
		code exitcode.Code
		says string
	}{
		{[]string{"--env", "qa", "--set", "a=1"}, exitcode.NotFound, "--env qa: no such environment; the repository applies production, staging"},
		{[]string{"--in-patch", "--set", "a=1"}, exitcode.Usage, "--in-patch needs --env"},
		{[]string{"--env", "staging", "--set", "replicaCount=1", "--set", "ingress.hosts=[]"}, exitcode.Usage, "the keys are set in different files"},
	} {
		r := plugintest.Run(t, plugintest.Env{Dir: work}, append([]string{"override", "podinfo", "--no-commit"}, tc.args...)...)
		if r.Code != tc.code || !strings.Contains(r.Stderr, tc.says) {
			t.Errorf("%v: exit %d, want %d saying %q\n%s", tc.args, r.Code, tc.code, tc.says, r.Stderr)
		}
	}
	if got := binarytest.Git(t, env, work, "status", "--porcelain"); got != "" {
		t.Errorf("refused edits changed files:\n%s", got)
	}
}

// overlayRepo copies internal/fluxmodel's overlay fixture (apps/base +
// a patch per environment, an archived copy of the release outside every
// kustomization.yaml), lets edit change it, and commits it.
func overlayRepo(t *testing.T, edit func(work string)) (env []string, work string) {
	t.Helper()
	env = binarytest.Env(t.TempDir(), "Setup", "setup@example.com")
	work = filepath.Join(t.TempDir(), "work")
	binarytest.CopyTree(t, "../../internal/fluxmodel/testdata/overlay", work)
	if edit != nil {
		edit(work)
	}
	binarytest.Commit(t, env, work, "init")
	return env, work
}

// Without --env, the release is found by what the clusters apply: when
// they all take the value from one file (the base, the only cluster's
// patch) that file is edited; when environments take it from different
// files, nothing is and the user picks one with --env. The archived copy
// that no kustomization.yaml lists is not a candidate (it made the old
// file scan report "matches 4 documents").
func TestOverrideWithoutEnvUsesTheModel(t *testing.T) {
	single := func(work string) {
		// One cluster left: production, with its patch.
		if err := os.RemoveAll(filepath.Join(work, "clusters", "staging")); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name  string
		repo  func(string)
		args  []string
		code  exitcode.Code
		file  string
		notes string
	}{
		{"one base for every environment", nil, []string{"--set", "ui.color=red"}, exitcode.OK, "apps/base/podinfo/release.yaml",
			"editing apps/base/podinfo/release.yaml (the base): this base value is used by production and staging"},
		{"environments differ", nil, []string{"--set", "replicaCount=5"}, exitcode.Conflict, "",
			"HelmRelease podinfo takes these values from a different file in each environment (production/podinfo/podinfo from apps/production/podinfo-values.yaml; staging/podinfo/podinfo from apps/base/podinfo/release.yaml): pick one with --env production or --env staging"},
		{"single cluster: its patch", single, []string{"--set", "replicaCount=5"}, exitcode.OK, "apps/production/podinfo-values.yaml",
			"editing apps/production/podinfo-values.yaml (the patch that sets it in production): it is used by production only"},
		{"single cluster: its base", single, []string{"-n", "podinfo", "--set", "ui.color=red"}, exitcode.OK, "apps/base/podinfo/release.yaml",
			"editing apps/base/podinfo/release.yaml (the base): it is used by production only"},
		{"archived copy not applied", single, []string{"--set", "interval=1m"}, exitcode.OK, "apps/base/podinfo/release.yaml", "(the base)"},
		{"not applied in that namespace", nil, []string{"-n", "other", "--set", "a=1"}, exitcode.NotFound, "",
			"HelmRelease podinfo is not applied in namespace other by any cluster; the repository applies production/podinfo/podinfo, staging/podinfo/podinfo: use -n podinfo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, work := overlayRepo(t, tc.repo)
			r := plugintest.Run(t, plugintest.Env{Dir: work}, append([]string{"override", "podinfo", "--no-commit", "--validate=false"}, tc.args...)...)
			if r.Code != tc.code || !strings.Contains(r.Stderr, tc.notes) {
				t.Fatalf("exit %d, want %d saying %q\n%s%s", r.Code, tc.code, tc.notes, r.Stdout, r.Stderr)
			}
			if got := strings.TrimSpace(binarytest.Git(t, env, work, "diff", "--name-only")); got != tc.file {
				t.Errorf("edited %q, want %q", got, tc.file)
			}
		})
	}
}

// A Flux Kustomization's targetNamespace and namePrefix give the release
// its identity: it is found as the cluster holds it (team-a/prod-web),
// which no file says.
func TestOverrideFindsTheAppliedNamespace(t *testing.T) {
	env := binarytest.Env(t.TempDir(), "Setup", "setup@example.com")
	work := filepath.Join(t.TempDir(), "work")
	binarytest.CopyTree(t, "../../internal/fluxmodel/testdata/targetns", work)
	binarytest.Commit(t, env, work, "init")
	r := plugintest.Run(t, plugintest.Env{Dir: work}, "override", "prod-web", "-n", "team-a", "--set", "replicaCount=2", "--validate=false", "-o", "json")
	if r.Code != exitcode.OK {
		t.Fatalf("exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	var res struct {
		HelmRelease struct{ Name, Namespace string }
		Path        string
	}
	if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil {
		t.Fatalf("%v\n%s", err, r.Stdout)
	}
	if res.HelmRelease.Namespace != "team-a" || res.HelmRelease.Name != "prod-web" || res.Path != "apps/web.yaml" {
		t.Errorf("result %+v, want team-a/prod-web in apps/web.yaml", res)
	}
	if got := binarytest.Git(t, env, work, "log", "-1", "--format=%s"); got != "override team-a/prod-web: replicaCount=2\n" {
		t.Errorf("commit subject %q", got)
	}
	if got := binarytest.Git(t, env, work, "show", "HEAD:apps/web.yaml"); !strings.Contains(got, "  name: web\n") || !strings.Contains(got, "    replicaCount: 2\n") {
		t.Errorf("apps/web.yaml:\n%s", got)
	}
}

// --in-patch where the environment has no patch of the release yet: a new
// patch file beside the overlay, listed in its kustomization.yaml's
// patches, and the model of the result gives that environment (only) the
// new value from the new file.
func TestOverrideInPatchCreatesAPatch(t *testing.T) {
	env, work := overlayRepo(t, func(work string) {
		if err := os.Remove(filepath.Join(work, "apps/staging/podinfo-values.yaml")); err != nil {
			t.Fatal(err)
		}
		k := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../base/podinfo # the app\n"
		if err := os.WriteFile(filepath.Join(work, "apps/staging/kustomization.yaml"), []byte(k), 0o644); err != nil {
			t.Fatal(err)
		}
	})
	r := plugintest.Run(t, plugintest.Env{Dir: work}, "override", "podinfo", "--env", "staging", "--in-patch", "--set", "replicaCount=2", "--dry-run", "--validate=false")
	if r.Code != exitcode.OK || !strings.Contains(r.Stdout, "+    replicaCount: 2") || !strings.Contains(r.Stdout, "+patches:") {
		t.Fatalf("--dry-run: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if got := binarytest.Git(t, env, work, "status", "--porcelain"); got != "" {
		t.Fatalf("--dry-run changed files:\n%s", got)
	}
	r = plugintest.Run(t, plugintest.Env{Dir: work}, "override", "podinfo", "--env", "staging", "--in-patch", "--set", "replicaCount=2", "--validate=false")
	want := "creating apps/staging/podinfo-values.yaml (a new patch of staging, listed in apps/staging/kustomization.yaml): it is used by staging only"
	if r.Code != exitcode.OK || !strings.Contains(r.Stderr, want) {
		t.Fatalf("exit %d, want 0 saying %q\n%s%s", r.Code, want, r.Stdout, r.Stderr)
	}
	if got := binarytest.Git(t, env, work, "show", "--name-only", "--format=", "HEAD"); got != "apps/staging/kustomization.yaml\napps/staging/podinfo-values.yaml\n" {
		t.Errorf("commit holds %q", got)
	}
	if got := binarytest.Git(t, env, work, "status", "--porcelain"); got != "" {
		t.Errorf("left uncommitted:\n%s", got)
	}
	wantK := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../base/podinfo # the app\npatches:\n  - path: podinfo-values.yaml\n"
	if got := binarytest.Git(t, env, work, "show", "HEAD:apps/staging/kustomization.yaml"); got != wantK {
		t.Errorf("kustomization.yaml:\n%s\nwant\n%s", got, wantK)
	}
	m, err := fluxmodel.Load(context.Background(), work)
	if err != nil {
		t.Fatal(err)
	}
	for cluster, want := range map[string]float64{"staging": 2, "production": 3} {
		rel := m.Cluster(cluster).Release("podinfo", "podinfo")
		if rel == nil || rel.Err != nil {
			t.Fatalf("%s: %+v", cluster, rel)
		}
		if got := rel.HR.GetValues()["replicaCount"]; got != want {
			t.Errorf("%s: replicaCount %v, want %v", cluster, got, want)
		}
	}
	if s, _ := m.Cluster("staging").Release("podinfo", "podinfo").ValueSetter("replicaCount"); s.File != "apps/staging/podinfo-values.yaml" || !s.Patch {
		t.Errorf("staging's replicaCount is set by %+v, want the new patch", s)
	}
	if errs := m.Errors(); len(errs) > 0 {
		t.Errorf("the model has errors after the new patch: %v", errs)
	}
}
