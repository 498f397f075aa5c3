package override_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/plugins/plugintest"
)

// override's Run, reached in-process through the real root command (the
// binary tests cover the same paths as a user runs them).
func TestOverrideInProcess(t *testing.T) {
	env := binarytest.Env(t.TempDir(), "Setup", "setup@example.com")
	work := filepath.Join(t.TempDir(), "work")
	binarytest.CopyTree(t, "../../examples/flux-multi-env", work)
	binarytest.Commit(t, env, work, "init")
	remote := binarytest.Publish(t, env, work)

	for _, tc := range []struct {
		name string
		args []string
		code exitcode.Code
		says string
	}{
		{"not found", []string{"override", "sample-ap", "--set", "a=1"}, exitcode.NotFound, "did you mean"},
		{"bad --set", []string{"override", "sample-app", "-n", "sample-app-staging", "--set", "a"}, exitcode.Usage, "invalid --set"},
		// Each environment's patch sets replicaCount: which one is meant?
		{"ambiguous", []string{"override", "sample-app", "--set", "replicaCount=1"}, exitcode.Conflict,
			"HelmRelease sample-app takes these values from a different file in each environment (production/sample-app-production/sample-app from apps/production/sample-app-values.yaml; staging/sample-app-staging/sample-app from apps/staging/sample-app-values.yaml): pick one with --env production or --env staging"},
		// No patch sets a: both environments take it from the base.
		{"one base", []string{"override", "sample-app", "--set", "a=1", "--dry-run", "--validate=false"}, exitcode.OK,
			"editing apps/base/sample-app/helmrelease.yaml (the base): this base value is used by production and staging"},
		{"no values", []string{"override", "sample-app"}, exitcode.Usage, "nothing to override"},
	} {
		r := plugintest.Run(t, plugintest.Env{Dir: work}, tc.args...)
		if r.Code != tc.code || !strings.Contains(r.Stderr, tc.says) {
			t.Errorf("%s: exit %d, want %d saying %q\n%s%s", tc.name, r.Code, tc.code, tc.says, r.Stdout, r.Stderr)
		}
	}

	r := plugintest.Run(t, plugintest.Env{Dir: work}, "override", "sample-app", "-n", "sample-app-production", "--set", "replicaCount=7", "--push")
	if r.Code != exitcode.OK || !strings.Contains(r.Stdout, "and pushed to origin/main: override sample-app-production/sample-app: replicaCount=7") {
		t.Fatalf("exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	got := binarytest.Git(t, env, remote, "show", "main:apps/production/sample-app-values.yaml")
	if !strings.Contains(got, "    replicaCount: 7\n") || !strings.Contains(got, "# Production carries more traffic.") {
		t.Fatalf("remote file:\n%s", got)
	}
	if log := binarytest.Git(t, env, remote, "log", "-1", "--format=%an|%(trailers:only,unfold)", "main"); !strings.HasPrefix(log, "Plugin Test|Changed-with: kubectl-gitops override ") {
		t.Errorf("commit author and trailer: %q", log)
	}
}
