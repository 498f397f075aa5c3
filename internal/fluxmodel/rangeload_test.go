package fluxmodel_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxmodel"
	"github.com/kubectl-gitops/kubectl-gitops/internal/releasecheck"
)

// rangeClusters are the clusters of rangeRepo.
var rangeClusters = []string{"production", "staging"}

// rangeRepo writes a repository with one Flux Kustomization per app per
// cluster, where each rule of LoadRange's static closure has something to
// catch:
//
//	clusters/<c>/flux.yaml        Flux Kustomizations sources, settings, apps
//	infra/sources/                the HelmRepository (kustomization.yaml)
//	settings/<c>/vars.yaml        ConfigMap cluster-vars (no kustomization.yaml)
//	apps/<c>/kustomization.yaml   resources: web.yaml, api.yaml, worker.yaml, gen.yaml
//	apps/<c>/<app>.yaml           Flux Kustomization of the app (web: substituteFrom cluster-vars)
//	apps/<c>/web/                 ../../../base/web + patches: ../patches/web.yaml
//	apps/<c>/api/                 ../../../base/api + components: ../../../components/monitoring
//	apps/<c>/worker/, worker2/    ../../../base/worker, worker2 with a patch (not applied);
//	                              the Flux Kustomization adds components/logging
//	apps/<c>/gen/                 HelmRelease files, no kustomization.yaml
//	apps/<c>/extras/              a ConfigMap no release needs: never built
//	base/<app>/                   the HelmReleases, shared by both clusters
func rangeRepo(t *testing.T, root string) {
	t.Helper()
	hr := func(name, extra string) string {
		return fmt.Sprintf(`apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: %s
  namespace: apps
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
%s`, name, extra)
	}
	ks := func(name, path, extra string) string {
		return fmt.Sprintf(`apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: %s
  namespace: flux-system
spec:
  interval: 10m
  path: %s
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
%s`, name, path, extra)
	}
	files := map[string]string{
		"infra/sources/kustomization.yaml": "resources:\n  - podinfo.yaml\n",
		"infra/sources/podinfo.yaml": `apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: podinfo
  namespace: flux-system
spec:
  interval: 1h
  url: https://stefanprodan.github.io/podinfo
`,
		"base/web/kustomization.yaml":              "resources:\n  - release.yaml\n",
		"base/web/release.yaml":                    hr("web", "    host: web.${DOMAIN}\n"),
		"base/api/kustomization.yaml":              "resources:\n  - release.yaml\n",
		"base/api/release.yaml":                    hr("api", ""),
		"base/worker/kustomization.yaml":           "resources:\n  - release.yaml\n",
		"base/worker/release.yaml":                 hr("worker", ""),
		"components/monitoring/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n  - path: monitor.yaml\n",
		"components/logging/kustomization.yaml":    "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\npatches:\n  - path: logs.yaml\n",
		"components/logging/logs.yaml":             "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: worker\n  namespace: apps\nspec:\n  values:\n    logLevel: info\n",
		"components/monitoring/monitor.yaml":       "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: api\n  namespace: apps\nspec:\n  values:\n    serviceMonitor:\n      enabled: true\n",
	}
	for _, c := range rangeClusters {
		files["clusters/"+c+"/flux.yaml"] = ks("sources", "./infra/sources", "") + "---\n" +
			ks("settings", "./settings/"+c, "") + "---\n" + ks("apps", "./apps/"+c, "")
		files["settings/"+c+"/vars.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cluster-vars\n  namespace: flux-system\ndata:\n  DOMAIN: " + c + ".example.org\n"
		files["apps/"+c+"/kustomization.yaml"] = "resources:\n  - web.yaml\n  - api.yaml\n  - worker.yaml\n  - gen.yaml\n  - extras.yaml\n"
		files["apps/"+c+"/extras.yaml"] = ks("extras", "./apps/"+c+"/extras", "")
		files["apps/"+c+"/extras/dashboard.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: dashboard\n  namespace: monitoring\ndata:\n  json: \"{}\"\n"
		files["apps/"+c+"/web.yaml"] = ks("web", "./apps/"+c+"/web", "  postBuild:\n    substituteFrom:\n      - kind: ConfigMap\n        name: cluster-vars\n")
		files["apps/"+c+"/api.yaml"] = ks("api", "./apps/"+c+"/api", "")
		files["apps/"+c+"/worker.yaml"] = ks("worker", "./apps/"+c+"/worker", "  components:\n    - ../../../components/logging\n")
		files["apps/"+c+"/gen.yaml"] = ks("gen", "./apps/"+c+"/gen", "")
		files["apps/"+c+"/web/kustomization.yaml"] = "resources:\n  - ../../../base/web\npatches:\n  - path: ../patches/web.yaml\n    target:\n      kind: HelmRelease\n      name: web\n"
		files["apps/"+c+"/patches/web.yaml"] = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: web\n  namespace: apps\nspec:\n  values:\n    replicaCount: 2\n"
		files["apps/"+c+"/api/kustomization.yaml"] = "resources:\n  - ../../../base/api\ncomponents:\n  - ../../../components/monitoring\n"
		files["apps/"+c+"/worker/kustomization.yaml"] = "resources:\n  - ../../../base/worker\n"
		files["apps/"+c+"/worker2/kustomization.yaml"] = "resources:\n  - ../../../base/worker\npatches:\n  - path: values.yaml\n"
		files["apps/"+c+"/worker2/values.yaml"] = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: worker\n  namespace: apps\nspec:\n  values:\n    replicaCount: 5\n"
		files["apps/"+c+"/gen/a.yaml"] = hr("gen-a", "")
	}
	for rel, content := range files {
		binarytest.WriteFile(t, root, rel, content)
	}
}

func editRange(t *testing.T, root, rel, old, new string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s lacks %q", rel, old)
	}
	binarytest.WriteFile(t, root, rel, strings.Replace(string(b), old, new, 1))
}

// changedPaths is what `git diff --no-renames --name-only` lists between
// two trees: every file added, removed or changed.
func changedPaths(t *testing.T, a, b string) []string {
	t.Helper()
	read := func(root string) map[string][]byte {
		out := map[string][]byte{}
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(p)
			rel, _ := filepath.Rel(root, p)
			out[filepath.ToSlash(rel)] = data
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	fa, fb := read(a), read(b)
	var out []string
	for p, d := range fa {
		if e, ok := fb[p]; !ok || !bytes.Equal(d, e) {
			out = append(out, p)
		}
	}
	for p := range fb {
		if _, ok := fa[p]; !ok {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// rangeDiff is what diff reports of two models: every release that is not
// the same on both sides (releasecheck.Same, as diff skips them), with
// both sides composed, and HEAD's notes.
func rangeDiff(t *testing.T, base, head *fluxmodel.Model) (map[string]string, []string) {
	t.Helper()
	b, a := releasecheck.ModelReleases(base, head)
	out := map[string]string{}
	for _, k := range releasecheck.Keys(b, a) {
		if b[k].Same(a[k]) {
			continue
		}
		var s strings.Builder
		for _, r := range []*releasecheck.Release{b[k], a[k]} {
			if r == nil {
				s.WriteString("absent\n")
				continue
			}
			hr, _ := json.Marshal(r.HR)
			fmt.Fprintf(&s, "%s %s:%d %s source=%s err=%v\n", r.Key, r.Doc.Path, r.Doc.Line, hr, r.Source, r.Err)
		}
		out[k] = s.String()
	}
	return out, head.Notes()
}

// checkRange builds the range base..head (head is base with edit) both
// ways, full and LoadRange, and fails unless they report the same
// releases, the ones in want (a release the rule under test catches), and
// LoadRange left at least one Flux Kustomization unbuilt.
func checkRange(t *testing.T, edit func(head string), want ...string) {
	t.Helper()
	ctx := context.Background()
	base, head := filepath.Join(t.TempDir(), "base"), filepath.Join(t.TempDir(), "head")
	rangeRepo(t, base)
	rangeRepo(t, head)
	edit(head)
	changed := changedPaths(t, base, head)

	fb, err := fluxmodel.Load(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	fh, err := fluxmodel.Load(ctx, head)
	if err != nil {
		t.Fatal(err)
	}
	full, fullNotes := rangeDiff(t, fb, fh)

	rb, rh, st, err := fluxmodel.LoadRange(ctx, base, head, changed)
	if err != nil {
		t.Fatal(err)
	}
	fast, fastNotes := rangeDiff(t, rb, rh)

	var keys []string
	for k := range full {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, w := range want {
		if _, ok := full[w]; !ok {
			t.Fatalf("the full build does not report %s (the fixture does not test the rule): %v", w, keys)
		}
	}
	if !reflect.DeepEqual(fast, full) {
		var fk []string
		for k := range fast {
			fk = append(fk, k)
		}
		sort.Strings(fk)
		t.Errorf("range %v: LoadRange reports %v, the full build %v", changed, fk, keys)
		for _, k := range keys {
			if fast[k] != full[k] {
				t.Errorf("%s: LoadRange\n%s\nfull build\n%s", k, fast[k], full[k])
			}
		}
	}
	if !reflect.DeepEqual(fastNotes, fullNotes) {
		t.Errorf("notes: LoadRange %q, full build %q", fastNotes, fullNotes)
	}
	if st.Full || st.Unbuilt == 0 {
		t.Errorf("LoadRange built everything (%+v): the test would pass without the rule", st)
	}
}

func TestRangeChangedPatchFile(t *testing.T) {
	checkRange(t, func(head string) {
		editRange(t, head, "apps/staging/patches/web.yaml", "replicaCount: 2", "replicaCount: 3")
	}, "staging/apps/web")
}

func TestRangeChangedBaseOfTwoOverlays(t *testing.T) {
	checkRange(t, func(head string) {
		editRange(t, head, "base/web/release.yaml", `version: "6.5.0"`, `version: "6.5.1"`)
	}, "production/apps/web", "staging/apps/web")
}

func TestRangeChangedComponent(t *testing.T) {
	checkRange(t, func(head string) {
		editRange(t, head, "components/monitoring/monitor.yaml", "enabled: true", "enabled: false")
	}, "production/apps/api", "staging/apps/api")
}

func TestRangeChangedSubstituteFromConfigMap(t *testing.T) {
	checkRange(t, func(head string) {
		editRange(t, head, "settings/staging/vars.yaml", "staging.example.org", "stage.example.org")
	}, "staging/apps/web")
}

func TestRangeNewFileInGeneratedFolder(t *testing.T) {
	checkRange(t, func(head string) {
		b, err := os.ReadFile(filepath.Join(head, "apps/staging/gen/a.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		binarytest.WriteFile(t, head, "apps/staging/gen/sub/b.yaml", strings.Replace(string(b), "name: gen-a", "name: gen-b", 1))
	}, "staging/apps/gen-b")
}

func TestRangeAppRemovedFromOverlay(t *testing.T) {
	checkRange(t, func(head string) {
		editRange(t, head, "apps/staging/kustomization.yaml", "  - worker.yaml\n", "")
	}, "staging/apps/worker")
}

func TestRangeSpecPathChanged(t *testing.T) {
	checkRange(t, func(head string) {
		editRange(t, head, "apps/staging/worker.yaml", "path: ./apps/staging/worker\n", "path: ./apps/staging/worker2\n")
	}, "staging/apps/worker")
}

func TestRangeChangedChartSource(t *testing.T) {
	checkRange(t, func(head string) {
		editRange(t, head, "infra/sources/podinfo.yaml", "interval: 1h", "interval: 2h")
	}, "staging/apps/worker", "production/apps/gen-a")
}

func TestRangeNewKustomizationFileInAFolder(t *testing.T) {
	// A kustomization.yml next to the spec.path's kustomization.yaml:
	// kustomize refuses the folder, on HEAD only.
	checkRange(t, func(head string) {
		binarytest.WriteFile(t, head, "apps/staging/worker/kustomization.yml", "resources:\n  - ../../../base/worker\n")
	}, "staging/apps/worker")
}

func TestRangeChangedSpecComponent(t *testing.T) {
	checkRange(t, func(head string) {
		editRange(t, head, "components/logging/logs.yaml", "logLevel: info", "logLevel: debug")
	}, "production/apps/worker", "staging/apps/worker")
}

func TestRangeReleaseAppliedTwice(t *testing.T) {
	// The range applies worker a second time, from the generated folder:
	// the Kustomization that already applies it is not touched, yet the
	// full build reports the release applied twice.
	checkRange(t, func(head string) {
		b, err := os.ReadFile(filepath.Join(head, "base/worker/release.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		binarytest.WriteFile(t, head, "apps/staging/gen/worker.yaml", strings.Replace(string(b), "replicaCount: 1", "replicaCount: 4", 1))
	}, "staging (apps/staging/gen/worker.yaml)")
}
