package diff_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
)

// fixture publishes a copy of a fluxmodel fixture repository to a bare
// origin and switches to a branch, ready for a change to diff.
func fixture(t *testing.T, name string) (work string, env []string) {
	t.Helper()
	base := t.TempDir()
	env = binarytest.Env(base, "Differ", "differ@example.com")
	work = filepath.Join(base, "work")
	binarytest.CopyTree(t, filepath.Join("../../internal/fluxmodel/testdata", name), work)
	binarytest.Commit(t, env, work, "initial")
	binarytest.Publish(t, env, work)
	binarytest.Git(t, env, work, "switch", "-q", "-c", "change")
	return work, env
}

func write(t *testing.T, dir, rel, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, rel), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// An app dropped from its overlay's kustomization.yaml but left on disk is
// pruned by Flux: diff says removed, and exits 7.
func TestDiffAppDroppedFromKustomization(t *testing.T) {
	work, env := fixture(t, "sharedbase")
	write(t, work, "clusters/staging/kustomization.yaml", "namespace: staging-apps\nresources:\n  - ../../base/sources\n")
	binarytest.Git(t, env, work, "commit", "-qam", "staging drops the apps")
	r := binarytest.Run(t, env, work, binarytest.Build(t), "diff")
	if r.ExitCode != 7 || !strings.Contains(r.Stdout, "HelmRelease staging/staging-apps/web (base/apps/web.yaml): removed") {
		t.Errorf("exit %d, want 7 and staging web removed\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	if strings.Contains(r.Stdout, "production/") {
		t.Errorf("production still applies web:\n%s", r.Stdout)
	}
}

// Moving the namespace from the file to the Flux Kustomization's
// targetNamespace changes nothing Flux applies: no release is removed.
func TestDiffNamespaceMovedToTargetNamespace(t *testing.T) {
	work, env := fixture(t, "targetns")
	// Before: the namespace in the file, no targetNamespace.
	ks := filepath.Join(work, "clusters/prod/apps.yaml")
	b, _ := os.ReadFile(ks)
	write(t, work, "clusters/prod/apps.yaml", strings.Replace(string(b), "  targetNamespace: team-a\n", "", 1))
	hr, _ := os.ReadFile(filepath.Join(work, "apps/web.yaml"))
	write(t, work, "apps/web.yaml", strings.Replace(string(hr), "  name: web\n", "  name: web\n  namespace: team-a\n", 1))
	binarytest.Git(t, env, work, "commit", "-qam", "namespace in the file")
	binarytest.Git(t, env, work, "push", "-q", "origin", "HEAD:main")
	binarytest.Git(t, env, work, "fetch", "-q", "origin")
	// After: moved to targetNamespace.
	write(t, work, "clusters/prod/apps.yaml", string(b))
	write(t, work, "apps/web.yaml", string(hr))
	binarytest.Git(t, env, work, "commit", "-qam", "namespace from the Kustomization")
	r := binarytest.Run(t, env, work, binarytest.Build(t), "diff")
	if r.ExitCode != 0 || !strings.Contains(r.Stdout, "no HelmRelease changes") {
		t.Errorf("exit %d, want 0 and no changes\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
}

// A kustomization.yaml naming a file that does not exist: the release is an
// error row naming the file and line, not a removal; exit 4.
func TestDiffBrokenBuildIsAnErrorRow(t *testing.T) {
	work, env := fixture(t, "sharedbase")
	write(t, work, "base/apps/kustomization.yaml", "resources:\n  - web.yaml\n  - gone.yaml\n")
	binarytest.Git(t, env, work, "commit", "-qam", "a resource that is not there")
	r := binarytest.Run(t, env, work, binarytest.Build(t), "diff")
	if r.ExitCode != 4 || !strings.Contains(r.Stdout, "HelmRelease staging/staging-apps/web (base/apps/web.yaml): error") ||
		!strings.Contains(r.Stdout, `base/apps/kustomization.yaml:3: resources "gone.yaml": base/apps/gone.yaml does not exist`) {
		t.Errorf("exit %d, want 4 and an error row\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	if strings.Contains(r.Stdout, "removed") {
		t.Errorf("a build error reported as a removal:\n%s", r.Stdout)
	}
}

// A folder of plain HelmRelease files: diff still works, and says once that
// the model is the files.
func TestDiffPlainFiles(t *testing.T) {
	work, env := fixture(t, "plain")
	if err := os.Remove(filepath.Join(work, "releases/worker.yaml")); err != nil {
		t.Fatal(err)
	}
	binarytest.Git(t, env, work, "commit", "-qam", "drop worker")
	r := binarytest.Run(t, env, work, binarytest.Build(t), "diff")
	if r.ExitCode != 7 || !strings.Contains(r.Stdout, "HelmRelease shop/worker (releases/worker.yaml): removed") ||
		strings.Count(r.Stderr, "HelmRelease files themselves") != 1 {
		t.Errorf("exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
}
