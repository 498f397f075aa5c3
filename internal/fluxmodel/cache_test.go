package fluxmodel

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
)

// checkout copies a fixture to a new folder, as diff's worktrees are.
func checkout(t *testing.T, fixture string, edit func(root string)) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), fixture)
	if err := os.CopyFS(root, os.DirFS(filepath.Join("testdata", fixture))); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(root)
	}
	return root
}

// sameModel fails unless the two models hold the same releases, composed
// the same.
func sameModel(t *testing.T, got, want *Model) {
	t.Helper()
	g, w := got.Releases(), want.Releases()
	if !reflect.DeepEqual(ids(got), ids(want)) {
		t.Fatalf("releases %v, want %v", ids(got), ids(want))
	}
	for id, r := range w {
		if !reflect.DeepEqual(g[id].Object, r.Object) {
			t.Errorf("%s: composed\n%v\nwant\n%v", id, g[id].Object, r.Object)
		}
		if !reflect.DeepEqual(g[id].Provenance, r.Provenance) {
			t.Errorf("%s: provenance differs", id)
		}
	}
}

// A second checkout reuses every build whose inputs read the same, and
// rebuilds the rest: the model is the one Load builds without the cache.
func TestCacheReusesUnchangedBuilds(t *testing.T) {
	ctx := context.Background()
	base := checkout(t, "overlay", nil)
	head := checkout(t, "overlay", func(root string) {
		binarytest.WriteFile(t, root, "apps/staging/podinfo-values.yaml", `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: podinfo
  namespace: podinfo
spec:
  values:
    replicaCount: 5
`)
	})
	c := NewCache()
	if _, err := LoadCached(ctx, base, c); err != nil {
		t.Fatal(err)
	}
	hits0, misses0 := c.Stats()
	builds := hits0 + misses0 // a build both clusters share is reused already
	got, err := LoadCached(ctx, head, c)
	if err != nil {
		t.Fatal(err)
	}
	hits, misses := c.Stats()
	// Only staging's apps build read the changed file.
	if misses-misses0 != 1 || hits-hits0 != builds-1 {
		t.Errorf("second load: %d reused, %d built (of %d builds), want %d and 1", hits-hits0, misses-misses0, builds, builds-1)
	}
	want, err := Load(ctx, head)
	if err != nil {
		t.Fatal(err)
	}
	sameModel(t, got, want)
	if v := values(t, got.Cluster("staging").Release("podinfo", "podinfo")); v["replicaCount"] != 5 && v["replicaCount"] != int64(5) && v["replicaCount"] != float64(5) {
		t.Errorf("staging values = %v", v)
	}
}

// A file added to a folder without a kustomization.yaml changes what Flux's
// generated kustomization lists: the build is not reused.
func TestCacheSeesANewFileInAGeneratedFolder(t *testing.T) {
	ctx := context.Background()
	base := checkout(t, "single", nil)
	head := checkout(t, "single", func(root string) {
		if err := os.Remove(filepath.Join(root, "kubernetes/apps/media/jellyfin/app/kustomization.yaml")); err != nil {
			t.Fatal(err)
		}
	})
	c := NewCache()
	if _, err := LoadCached(ctx, base, c); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCached(ctx, head, c); err != nil {
		t.Fatal(err)
	}
	// Now both sides lack it; a new release file appears in the folder.
	head2 := checkout(t, "single", func(root string) {
		if err := os.Remove(filepath.Join(root, "kubernetes/apps/media/jellyfin/app/kustomization.yaml")); err != nil {
			t.Fatal(err)
		}
		binarytest.WriteFile(t, root, "kubernetes/apps/media/jellyfin/app/extra.yaml", `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: jellyseerr
  namespace: media
spec:
  interval: 1h
  chart:
    spec:
      chart: jellyseerr
      sourceRef:
        kind: HelmRepository
        name: charts
`)
	})
	got, err := LoadCached(ctx, head2, c)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Load(ctx, head2)
	if err != nil {
		t.Fatal(err)
	}
	sameModel(t, got, want)
	if got.Cluster("cluster").Release("media", "jellyseerr") == nil {
		t.Errorf("the new file's release is not in the model: %v", ids(got))
	}
}

// Builds of one level run side by side: the model is the same as with one
// worker (run with -race to see kustomize's own state is not shared).
func TestParallelBuildsGiveTheSameModel(t *testing.T) {
	ctx := context.Background()
	for _, f := range []string{"overlay", "hubspoke", "artifact", "postbuild", "sharedbase"} {
		par, err := Load(ctx, filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		prev := runtime.GOMAXPROCS(1)
		seq, err := Load(ctx, filepath.Join("testdata", f))
		runtime.GOMAXPROCS(prev)
		if err != nil {
			t.Fatal(err)
		}
		sameModel(t, par, seq)
	}
}
