package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxmodel"
)

// modelClusters and modelReleases size the generated repository of
// issue #18: 3 clusters x 500 HelmReleases, base + one patch per release.
var modelClusters = []string{"production", "staging", "testing"}

const modelReleases = 500

// modelRatioLimit is the target: the model within 1.5x of
// kustomize alone on the same paths.
const modelRatioLimit = 1.5

// writeModelRepo writes, under root, the layout of Flux's own
// flux2-kustomize-helm-example at scale:
//
//	clusters/<cluster>/apps.yaml     Flux Kustomization, path ./apps/<cluster>
//	clusters/<cluster>/sources.yaml  the HelmRepository the releases use
//	apps/base/app-NNN/               HelmRelease + kustomization.yaml
//	apps/<cluster>/kustomization.yaml  resources: every base, patches: one per release
//	apps/<cluster>/app-NNN-values.yaml a patch changing version and values
//
// It returns the overlay paths (apps/<cluster>) kustomize alone builds.
func writeModelRepo(tb testing.TB, root string, releases int) []string {
	tb.Helper()
	writeModelBases(tb, root, releases)
	var overlays []string
	for ci, c := range modelClusters {
		writeClusterEntry(tb, root, c)
		var k strings.Builder
		k.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n")
		for i := 0; i < releases; i++ {
			fmt.Fprintf(&k, "  - ../base/app-%03d\n", i)
		}
		k.WriteString("patches:\n")
		for i := 0; i < releases; i++ {
			app := fmt.Sprintf("app-%03d", i)
			fmt.Fprintf(&k, "  - path: %s-values.yaml\n    target:\n      kind: HelmRelease\n      name: %s\n", app, app)
			writeRel(tb, root, "apps/"+c+"/"+app+"-values.yaml", patchDoc(app, ci, i))
		}
		writeRel(tb, root, "apps/"+c+"/kustomization.yaml", k.String())
		overlays = append(overlays, "apps/"+c)
	}
	return overlays
}

// writeModelBases writes apps/base/app-NNN/ for every release.
func writeModelBases(tb testing.TB, root string, releases int) {
	tb.Helper()
	for i := 0; i < releases; i++ {
		app := fmt.Sprintf("app-%03d", i)
		writeRel(tb, root, "apps/base/"+app+"/kustomization.yaml", "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - helmrelease.yaml\n")
		writeRel(tb, root, "apps/base/"+app+"/helmrelease.yaml", fmt.Sprintf(`apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: %s
  namespace: team-%02d
spec:
  interval: 10m
  chart:
    spec:
      chart: podinfo
      version: "6.5.0"
      sourceRef:
        kind: HelmRepository
        name: podinfo
        namespace: flux-system
  values:
    replicaCount: 1
    image:
      tag: "1.0.0"
    resources:
      limits:
        memory: 128Mi
`, app, i%20))
	}
}

// writeClusterEntry writes clusters/<c>/: the Flux Kustomization on
// ./apps/<c> and the HelmRepository the releases use.
func writeClusterEntry(tb testing.TB, root, c string) {
	tb.Helper()
	writeRel(tb, root, "clusters/"+c+"/apps.yaml", fmt.Sprintf(`apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 10m
  path: ./apps/%s
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
`, c))
	writeRel(tb, root, "clusters/"+c+"/sources.yaml", `apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: podinfo
  namespace: flux-system
spec:
  interval: 1h
  url: https://stefanprodan.github.io/podinfo
`)
}

// patchDoc is cluster ci's patch of release i: chart version and values.
func patchDoc(app string, ci, i int) string {
	return fmt.Sprintf(`apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: %s
spec:
  chart:
    spec:
      version: "6.5.%d"
  values:
    replicaCount: %d
    image:
      tag: "1.%d.0"
`, app, ci+1, ci+2, i)
}

// BenchmarkModel builds the model of the generated repository and, in the
// same iteration, `kustomize build` of the same overlay paths with krusty
// alone, and reports their wall and CPU times and the ratio of the CPU
// times. It fails when the ratio is above the 1.5x, or when the model does not hold
// every release.
//
//	go test ./bench/ -run '^$' -bench Model -benchtime 1x
func BenchmarkModel(b *testing.B) {
	releases := modelReleases
	if s := os.Getenv("GITOPS_BENCH_RELEASES"); s != "" { // a smaller repo, to profile
		if _, err := fmt.Sscan(s, &releases); err != nil {
			b.Fatalf("GITOPS_BENCH_RELEASES=%q: %v", s, err)
		}
	}
	root := b.TempDir()
	overlays := writeModelRepo(b, root, releases)
	ctx := context.Background()
	// Wall and CPU time (user+sys of this process): the ratio is taken on
	// CPU time, which the other processes of a shared machine move much
	// less than the wall time.
	var model, kust, modelCPU, kustCPU time.Duration
	warmKustomize(b) // neither side pays kustomize's one-time set-up
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start, cpu0 := time.Now(), cpuTime(b)
		m, err := fluxmodel.Load(ctx, root)
		model += time.Since(start)
		modelCPU += cpuTime(b) - cpu0
		if err != nil {
			b.Fatal(err)
		}
		if errs := m.Errors(); len(errs) > 0 {
			b.Fatalf("model build errors: %v", errs)
		}
		if n := len(m.Releases()); n != len(modelClusters)*releases {
			b.Fatalf("model has %d releases, want %d (clusters %v)", n, len(modelClusters)*releases, m.Names())
		}
		if r := m.Cluster("staging").Release("team-07", "app-007"); r == nil || r.HR == nil || r.HR.Spec.Chart.Spec.Version != "6.5.2" {
			b.Fatalf("staging/team-07/app-007 is not patched: %+v", r)
		}

		start, cpu0 = time.Now(), cpuTime(b)
		n := 0
		for _, o := range overlays {
			k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
			rm, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(root, filepath.FromSlash(o)))
			if err != nil {
				b.Fatalf("kustomize build %s: %v", o, err)
			}
			n += rm.Size()
		}
		kust += time.Since(start)
		kustCPU += cpuTime(b) - cpu0
		if n != len(modelClusters)*releases {
			b.Fatalf("kustomize built %d objects, want %d", n, len(modelClusters)*releases)
		}
	}
	b.StopTimer()
	ratio := float64(modelCPU) / float64(kustCPU)
	per := func(d time.Duration) float64 { return float64(d.Milliseconds()) / float64(b.N) }
	avg := func(d time.Duration) time.Duration { return (d / time.Duration(b.N)).Round(time.Millisecond) }
	b.ReportMetric(per(model), "model-ms")
	b.ReportMetric(per(modelCPU), "model-cpu-ms")
	b.ReportMetric(per(kust), "kustomize-ms")
	b.ReportMetric(per(kustCPU), "kustomize-cpu-ms")
	b.ReportMetric(ratio, "model/kustomize-cpu")
	b.Logf("3 clusters x %d releases: model %v wall, %v CPU; kustomize build of the %d overlays %v wall, %v CPU; CPU ratio %.2f (wall %.2f)",
		releases, avg(model), avg(modelCPU), len(overlays), avg(kust), avg(kustCPU), ratio, float64(model)/float64(kust))
	if ratio > modelRatioLimit {
		b.Fatalf("the model takes %.2fx the CPU time of kustomize build of the same paths (%v vs %v); the target is %.1fx", ratio, avg(modelCPU), avg(kustCPU), modelRatioLimit)
	}
}
