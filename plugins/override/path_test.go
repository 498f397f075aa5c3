package override_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/plugins/plugintest"
)

// --path with a folder builds it as Flux builds a Kustomization with that
// path: the release is the overlay's patch merged over its base, so the
// check sees the base's chart source (the file scan took the patch alone
// and warned "charts from a  are not resolved yet", with no kind), and the
// edit goes where that build sets the key, else into the folder's patch.
func TestOverridePathBuildsTheFolder(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		code  exitcode.Code
		file  string
		notes string
	}{
		{"a key the base sets goes to the folder's patch", []string{"--path", "apps/staging", "--set", "replicaCount=2"}, exitcode.OK, "apps/staging/podinfo-values.yaml",
			"editing apps/staging/podinfo-values.yaml (the patch of apps/staging): it is used by staging only"},
		{"a key the patch sets", []string{"--path", "apps/production", "--set", "replicaCount=5"}, exitcode.OK, "apps/production/podinfo-values.yaml",
			"editing apps/production/podinfo-values.yaml (the patch that sets it in --path apps/production): it is used by production only"},
		{"the base folder", []string{"--path", "apps/base/podinfo", "--set", "ui.color=red"}, exitcode.OK, "apps/base/podinfo/release.yaml",
			"editing apps/base/podinfo/release.yaml (the base): this base value is used by production and staging"},
		{"a patch file", []string{"--path", "apps/staging/podinfo-values.yaml", "--set", "replicaCount=2"}, exitcode.OK, "apps/staging/podinfo-values.yaml",
			"editing apps/staging/podinfo-values.yaml (a patch of staging): it is used by staging only"},
		{"the archived copy, named", []string{"--path", "archive/podinfo-old/release.yaml", "--set", "replicaCount=2"}, exitcode.OK, "archive/podinfo-old/release.yaml",
			"warning: no cluster of the repository"},
		{"applied namespace", []string{"--path", "apps/staging", "-n", "other", "--set", "a=1"}, exitcode.NotFound, "",
			"HelmRelease podinfo is not in what a Flux Kustomization with path apps/staging applies (podinfo/podinfo)"},
		{"missing path", []string{"--path", "apps/qa", "--set", "a=1"}, exitcode.NotFound, "", "--path apps/qa: not in the repository"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, work := overlayRepo(t, nil)
			r := plugintest.Run(t, plugintest.Env{Dir: work}, append([]string{"override", "podinfo", "--no-commit"}, tc.args...)...)
			if r.Code != tc.code || !strings.Contains(r.Stderr, tc.notes) {
				t.Fatalf("exit %d, want %d saying %q\n%s%s", r.Code, tc.code, tc.notes, r.Stdout, r.Stderr)
			}
			if strings.Contains(r.Stderr, "charts from a  are") {
				t.Errorf("the check took the patch for the release:\n%s", r.Stderr)
			}
			if got := strings.TrimSpace(binarytest.Git(t, env, work, "diff", "--name-only")); got != tc.file {
				t.Errorf("edited %q, want %q", got, tc.file)
			}
		})
	}
}

// A folder kustomize refuses is an error naming the file, and nothing is
// written.
func TestOverridePathFolderThatDoesNotBuild(t *testing.T) {
	env, work := overlayRepo(t, func(work string) {
		if err := os.WriteFile(filepath.Join(work, "apps/staging/kustomization.yaml"), []byte("resources:\n  - ../base/podinfo\n  - missing.yaml\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	})
	r := plugintest.Run(t, plugintest.Env{Dir: work}, "override", "podinfo", "--no-commit", "--validate=false", "--path", "apps/staging", "--set", "a=1")
	if r.Code != exitcode.Error || !strings.Contains(r.Stderr, "--path apps/staging does not build") || !strings.Contains(r.Stderr, "missing.yaml") {
		t.Fatalf("exit %d, want 1 naming the file\n%s", r.Code, r.Stderr)
	}
	if got := binarytest.Git(t, env, work, "status", "--porcelain"); got != "" {
		t.Errorf("changed files:\n%s", got)
	}
}
