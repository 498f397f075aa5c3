package promote_test

import (
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
