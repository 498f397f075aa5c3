package override_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
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
