package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
)

// rangeCommits is the length of the range of issue #18's target: `diff` of
// a 100-commit range.
const rangeCommits = 100

// diffRangeRatioLimit: diff of the range (two models, the checks of every
// changed release) against one `kustomize build` of the paths the range
// changes. diff builds only the Flux Kustomizations the range can affect
// (fluxmodel.LoadRange), on both sides, so its floor is two builds of the
// changed paths plus the levels above them, a worktree of BASE and the
// checks. See docs/model.md for the figures.
var diffRangeRatioLimit = map[string]float64{
	"per-cluster": 4, // the three changed overlays at BASE and at HEAD, against HEAD's
	"per-app":     6, // issue #18's 5 s: the changed apps at BASE and at HEAD, against HEAD's
}

// writePerAppRepo writes the home-ops layout at scale: one Flux
// Kustomization per app per cluster.
//
//	clusters/<cluster>/apps.yaml                 Flux Kustomization, path ./apps/<cluster>
//	clusters/<cluster>/sources.yaml              the HelmRepository
//	apps/base/app-NNN/                           HelmRelease + kustomization.yaml
//	apps/<cluster>/kustomization.yaml            resources: app-NNN/ks.yaml, ...
//	apps/<cluster>/app-NNN/ks.yaml               Flux Kustomization, path ./apps/<cluster>/app-NNN/app
//	apps/<cluster>/app-NNN/app/                  the base + a patch of version and values
//
// It returns the path of each app's folder per cluster, for kustomize
// alone.
func writePerAppRepo(tb testing.TB, root string, releases int) map[string][]string {
	tb.Helper()
	writeModelBases(tb, root, releases)
	paths := map[string][]string{}
	for ci, c := range modelClusters {
		writeClusterEntry(tb, root, c)
		var k strings.Builder
		k.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n")
		for i := 0; i < releases; i++ {
			app := fmt.Sprintf("app-%03d", i)
			fmt.Fprintf(&k, "  - %s/ks.yaml\n", app)
			dir := "apps/" + c + "/" + app
			writeRel(tb, root, dir+"/ks.yaml", fmt.Sprintf(`apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: %s
  namespace: flux-system
spec:
  interval: 1h
  path: ./%s/app
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
`, app, dir))
			writeRel(tb, root, dir+"/app/kustomization.yaml", fmt.Sprintf("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../../../base/%s\npatches:\n  - path: values.yaml\n    target:\n      kind: HelmRelease\n      name: %s\n", app, app))
			writeRel(tb, root, dir+"/app/values.yaml", patchDoc(app, ci, i))
			paths[app] = append(paths[app], dir+"/app")
		}
		writeRel(tb, root, "apps/"+c+"/kustomization.yaml", k.String())
	}
	return paths
}

func writeRel(tb testing.TB, root, rel, content string) {
	tb.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// benchChart is the chart every generated release names (podinfo), small
// enough that rendering is not what is measured: diff gets it with
// --chart-dir.
func benchChart(tb testing.TB, dir string) {
	tb.Helper()
	writeRel(tb, dir, "Chart.yaml", "apiVersion: v2\nname: podinfo\nversion: 6.5.0\n")
	writeRel(tb, dir, "values.yaml", "replicaCount: 1\nimage:\n  tag: \"1.0.0\"\nresources:\n  limits:\n    memory: 64Mi\n")
	writeRel(tb, dir, "templates/configmap.yaml", `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}
data:
  replicas: {{ .Values.replicaCount | quote }}
  tag: {{ .Values.image.tag | quote }}
  memory: {{ .Values.resources.limits.memory | quote }}
`)
}

// touch makes commit n of the range: three apps get new values in staging's
// patch, and every tenth commit one app's base changes (all clusters).
func touch(tb testing.TB, root, layout string, n, releases int, changed map[string]bool) {
	tb.Helper()
	for k := 0; k < 3; k++ {
		i := (n*7 + k*13) % releases
		app := fmt.Sprintf("app-%03d", i)
		rel := "apps/staging/" + app + "-values.yaml"
		if layout == "per-app" {
			rel = "apps/staging/" + app + "/app/values.yaml"
		}
		writeRel(tb, root, rel, strings.Replace(patchDoc(app, 1, i), "replicaCount: 3", fmt.Sprintf("replicaCount: %d", 10+n), 1))
		changed["staging\x00"+app] = true
	}
	if n%10 == 0 {
		i := (n * 31) % releases
		app := fmt.Sprintf("app-%03d", i)
		p := filepath.Join(root, "apps", "base", app, "helmrelease.yaml")
		data, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		writeRel(tb, root, "apps/base/"+app+"/helmrelease.yaml", strings.Replace(string(data), "memory: 128Mi", fmt.Sprintf("memory: %dMi", 128+n), 1))
		for _, c := range modelClusters {
			changed[c+"\x00"+app] = true
		}
	}
}

// BenchmarkDiffRange makes rangeCommits commits on a generated repository
// (3 clusters x GITOPS_BENCH_RELEASES releases, 500 by default; three apps'
// staging values per commit, one app's base every tenth), then times, in
// the same iteration, the built binary's `diff BASE..HEAD` (worktrees, the
// two models, the render and check of every changed release) and
// `kustomize build` (krusty alone) of the paths the range changes, at
// HEAD. Two layouts: per-cluster (one Flux Kustomization per cluster on an
// overlay of 500 patches, flux2-kustomize-helm-example at scale) and
// per-app (one Flux Kustomization per app, as home-ops repositories do).
//
//	go test ./bench/ -run '^$' -bench DiffRange -benchtime 1x -timeout 60m
//
// GITOPS_BENCH_DIR=<dir> keeps the generated repositories in <dir>/<layout>
// (to profile a diff by hand).
func BenchmarkDiffRange(b *testing.B) {
	releases := modelReleases
	if s := os.Getenv("GITOPS_BENCH_RELEASES"); s != "" {
		if _, err := fmt.Sscan(s, &releases); err != nil {
			b.Fatalf("GITOPS_BENCH_RELEASES=%q: %v", s, err)
		}
	}
	bin := binarytest.Build(b, "-trimpath", "-ldflags=-s -w")
	for _, layout := range []string{"per-cluster", "per-app"} {
		b.Run(layout, func(b *testing.B) {
			base := b.TempDir()
			if keep := os.Getenv("GITOPS_BENCH_DIR"); keep != "" { // kept, to profile by hand
				base = filepath.Join(keep, layout)
			}
			env := binarytest.Env(base, "Bench", "bench@example.com")
			root := filepath.Join(base, "work")
			chart := filepath.Join(base, "chart")
			benchChart(b, chart)
			var overlays []string
			var perApp map[string][]string
			if layout == "per-app" {
				perApp = writePerAppRepo(b, root, releases)
			} else {
				overlays = writeModelRepo(b, root, releases)
			}
			binarytest.Commit(b, env, root, "generated")
			changed := map[string]bool{} // cluster \x00 app
			for n := 1; n <= rangeCommits; n++ {
				touch(b, root, layout, n, releases, changed)
				binarytest.Git(b, env, root, "commit", "-qam", fmt.Sprintf("change %d", n))
			}
			// The paths the range changes, as kustomize alone builds them.
			var paths []string
			if layout == "per-app" {
				for k := range changed {
					c, app, _ := strings.Cut(k, "\x00")
					for _, p := range perApp[app] {
						if strings.HasPrefix(p, "apps/"+c+"/") {
							paths = append(paths, p)
						}
					}
				}
			} else {
				for _, o := range overlays {
					for k := range changed {
						if c, _, _ := strings.Cut(k, "\x00"); o == "apps/"+c {
							paths = append(paths, o)
							break
						}
					}
				}
			}
			sort.Strings(paths)
			// Every path: what one side's model whole would cost.
			all := overlays
			if layout == "per-app" {
				all = nil
				for _, ps := range perApp {
					all = append(all, ps...)
				}
			}
			rng := fmt.Sprintf("HEAD~%d..HEAD", rangeCommits)
			// kustomize's first build in a process parses its OpenAPI
			// schema (about 0.2 s of CPU): paid once here, before timing,
			// so that the baseline is the same whichever layout runs
			// first; diff, a process of its own, pays it in every run.
			warmKustomize(b)

			// Wall time, and CPU time (user+sys; of diff with the git
			// processes it waits for): on a shared machine the wall time
			// grows with the load, the CPU time much less, so the ratio
			// is taken on CPU time.
			var diffT, kustT, diffCPU, kustCPU, fullCPU time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r := binarytest.Run(b, env, root, bin, "diff", rng, "--chart-dir", chart, "-o", "json")
				diffT += r.Wall
				diffCPU += r.CPU
				if r.ExitCode != 7 {
					b.Fatalf("diff %s: exit %d, want 7 (changes, all valid)\n%.2000s\n%.2000s", rng, r.ExitCode, r.Stdout, r.Stderr)
				}
				if n := strings.Count(r.Stdout, `"status": "changed"`); n != len(changed) {
					b.Fatalf("diff %s: %d releases changed, want %d\n%.2000s", rng, n, len(changed), r.Stderr)
				}

				start, cpu0 := time.Now(), cpuTime(b)
				for _, p := range paths {
					k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
					if _, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(root, filepath.FromSlash(p))); err != nil {
						b.Fatalf("kustomize build %s: %v", p, err)
					}
				}
				kustT += time.Since(start)
				changedCPU := cpuTime(b) - cpu0
				kustCPU += changedCPU

				if len(all) == len(paths) {
					fullCPU += changedCPU
					continue
				}
				cpu0 = cpuTime(b)
				for _, p := range all {
					k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
					if _, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(root, filepath.FromSlash(p))); err != nil {
						b.Fatalf("kustomize build %s: %v", p, err)
					}
				}
				fullCPU += cpuTime(b) - cpu0
			}
			b.StopTimer()
			per := func(d time.Duration) float64 { return float64(d.Milliseconds()) / float64(b.N) }
			avg := func(d time.Duration) time.Duration { return (d / time.Duration(b.N)).Round(time.Millisecond) }
			ratio := float64(diffCPU) / float64(kustCPU)
			b.ReportMetric(per(diffT), "diff-ms")
			b.ReportMetric(per(diffCPU), "diff-cpu-ms")
			b.ReportMetric(per(kustT), "kustomize-ms")
			b.ReportMetric(per(kustCPU), "kustomize-cpu-ms")
			b.ReportMetric(ratio, "diff/kustomize-cpu")
			// Reported, not a limit: diff against kustomize build of every
			// path (the cost of one side's model with kustomize alone).
			b.ReportMetric(float64(diffCPU)/float64(fullCPU), "diff/full-kustomize-cpu")
			b.Logf("%s, 3 clusters x %d releases, %d commits, %d releases changed: diff %v wall, %v CPU; kustomize build of the %d changed paths %v wall, %v CPU; CPU ratio %.2f; kustomize build of all %d paths %v CPU (diff/all %.2f)",
				layout, releases, rangeCommits, len(changed), avg(diffT), avg(diffCPU), len(paths), avg(kustT), avg(kustCPU), ratio, len(all), avg(fullCPU), float64(diffCPU)/float64(fullCPU))
			if ratio > diffRangeRatioLimit[layout] {
				b.Fatalf("diff of the range takes %.2fx kustomize build of the changed paths; the limit is %.1fx", ratio, diffRangeRatioLimit[layout])
			}
		})
	}
}

// cpuTime is the user+sys time this process used so far.
func cpuTime(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// warmKustomize builds a resource with a strategic-merge patch once, which
// makes kustomize load what it keeps for the life of the process.
func warmKustomize(tb testing.TB) {
	tb.Helper()
	dir := tb.TempDir()
	writeRel(tb, dir, "kustomization.yaml", "resources:\n  - cm.yaml\npatches:\n  - path: patch.yaml\n")
	writeRel(tb, dir, "cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: warm\ndata:\n  a: \"1\"\n")
	writeRel(tb, dir, "patch.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: warm\ndata:\n  a: \"2\"\n")
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	if _, err := k.Run(filesys.MakeFsOnDisk(), dir); err != nil {
		tb.Fatalf("kustomize build of the warm-up: %v", err)
	}
}
