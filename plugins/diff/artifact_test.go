package diff_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
)

// gitApps is the apps Kustomization of the artifact fixture as it was
// before Flux 2.7: this repository's GitRepository, the folder's own path.
const gitApps = `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 1h
  sourceRef:
    kind: GitRepository
    name: flux-system
  path: ./apps/staging
  prune: true
`

// artifactRange commits BASE with the apps Kustomization on the
// GitRepository, then HEAD with apps.yaml as given.
func artifactRange(t *testing.T, head string) (string, []string) {
	t.Helper()
	work, env := fixture(t, "artifact")
	apps := filepath.Join(work, "clusters/staging/apps.yaml")
	write(t, work, "clusters/staging/apps.yaml", gitApps)
	binarytest.Git(t, env, work, "commit", "-qam", "apps from the GitRepository")
	binarytest.Git(t, env, work, "push", "-q", "origin", "HEAD:main")
	binarytest.Git(t, env, work, "fetch", "-q", "origin")
	if err := os.WriteFile(apps, []byte(head), 0o644); err != nil {
		t.Fatal(err)
	}
	binarytest.Git(t, env, work, "commit", "-qam", "apps from an artifact")
	return work, env
}

// Moving a Kustomization onto an ExternalArtifact that an ArtifactGenerator
// copies out of this repository (flux2-kustomize-helm-example's move to
// Flux 2.7) changes nothing the cluster applies: no release is reported
// removed; the Kustomization the model cannot follow is named on stderr.
func TestDiffExternalArtifactIsFollowed(t *testing.T) {
	head, err := os.ReadFile("../../internal/fluxmodel/testdata/artifact/clusters/staging/apps.yaml")
	if err != nil {
		t.Fatal(err)
	}
	work, env := artifactRange(t, string(head))
	r := binarytest.Run(t, env, work, binarytest.Build(t), "diff")
	if r.ExitCode != 0 || !strings.Contains(r.Stdout, "no HelmRelease changes") {
		t.Errorf("exit %d, want 0 and no changes\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	if !strings.Contains(r.Stderr, `note: staging: Kustomization flux-system/vendor (clusters/staging/apps.yaml:14): source ExternalArtifact flux-system/vendor`) {
		t.Errorf("stderr does not name the Kustomization that is not followed:\n%s", r.Stderr)
	}
}

// A Kustomization that HEAD moves onto a source the model cannot read (an
// OCI artifact) is still applied by Flux: its releases are an error row
// saying so, never "removed"; exit 4.
func TestDiffUnfollowedSourceIsNotARemoval(t *testing.T) {
	work, env := artifactRange(t, strings.Replace(strings.Replace(gitApps, "kind: GitRepository", "kind: OCIRepository", 1),
		"name: flux-system\n  path", "name: apps-oci\n  path", 1))
	r := binarytest.Run(t, env, work, binarytest.Build(t), "diff")
	if r.ExitCode != 4 || strings.Contains(r.Stdout, "): removed") ||
		!strings.Contains(r.Stdout, "HelmRelease staging/podinfo/podinfo (apps/base/podinfo/release.yaml): error") ||
		!strings.Contains(r.Stdout, "source OCIRepository/apps-oci is not this repository: not followed; what it applies is not known here") {
		t.Errorf("exit %d, want 4 and an error row\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
}
