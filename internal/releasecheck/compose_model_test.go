package releasecheck

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The base of a patch is the release a cluster applies, not an archived
// copy of it that no kustomization.yaml lists (which names another chart:
// the scan of every file that mentioned the name found two bases that
// "differ" and left the chart unresolved).
func TestComposeTakesTheAppliedBaseOverAnArchivedCopy(t *testing.T) {
	repo := founding(t, foundingHR(t))
	base := strings.Replace(foundingHR(t), "  namespace: sample-app\n", "", 1)
	base = base[strings.Index(base, "---\n")+4:]
	writeFile(t, repo.Root, "base/helmrelease.yaml", base)
	writeFile(t, repo.Root, "base/kustomization.yaml", "resources: [helmrelease.yaml]\n")
	writeFile(t, repo.Root, "staging/kustomization.yaml", "namespace: sample-app\nresources: [../base]\npatches: [{path: values.yaml}]\n")
	writeFile(t, repo.Root, "archive/old-sample-app.yaml", strings.Replace(base, "chart: ./charts/sample-app", "chart: ./charts/retired", 1))
	patch := "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: sample-app\nspec:\n  values:\n    replicaCount: 2\n"
	writeFile(t, repo.Root, "staging/values.yaml", patch)
	if err := os.Remove(filepath.Join(repo.Root, "helmrelease/sample-app-helmrelease.yaml")); err != nil {
		t.Fatal(err)
	}
	run(t, repo.Root, "add", "-A")
	run(t, repo.Root, "commit", "--quiet", "-m", "overlay and an archived copy")
	doc := docIn(t, repo, "staging/values.yaml", "sample-app", "sample-app")
	_, a, err := Compose(context.Background(), repo, doc, nil, []byte(patch))
	if err != nil {
		t.Fatal(err)
	}
	if a.Spec.Chart == nil || a.Spec.Chart.Spec.Chart != "./charts/sample-app" {
		t.Fatalf("base = %+v, want the applied one's chart", a.Spec.Chart)
	}
}
