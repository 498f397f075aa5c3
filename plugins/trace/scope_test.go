package trace

import (
	"context"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxstatus"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kube/kubefake"
)

// The default scope follows the sources: a HelmRelease the checkout's source
// reaches is traced wherever it lives, whatever namespace the kubeconfig
// names; -n narrows it.
func TestScopeFollowsSources(t *testing.T) {
	r := newAppRepo(t)
	trace := func(ns string, fromKubeconfig bool, args ...string) (*fluxstatus.Report, string, error) {
		t.Helper()
		c := newCluster(t, fixtureObjects(t, "revision-deployed.yaml", r))
		f := &kubefake.Factory{Dyn: c, Clk: clocktesting.NewFakeClock(testNow), NS: ns, NSFromKubeconfig: fromKubeconfig}
		out, _, err := runFactory(context.Background(), t, f, nil, append([]string{r.C, "--repo", r.dir, "-o", "json"}, args...)...)
		var rep fluxstatus.Report
		if err == nil || exitcode.From(err) != exitcode.NotFound {
			if yerr := yaml.Unmarshal([]byte(out), &rep); yerr != nil {
				t.Fatalf("%v\n%s", yerr, out)
			}
		}
		return &rep, out, err
	}
	// The kubeconfig says "default"; the release lives in sample-app.
	rep, out, err := trace("default", true)
	if err != nil || len(rep.Releases) != 1 || rep.Releases[0].Namespace != "sample-app" {
		t.Fatalf("kubeconfig namespace default: err %v, want the release in sample-app traced\n%s", err, out)
	}
	// -n default (explicit) narrows to a namespace without it.
	_, _, err = trace("default", false)
	if exitcode.From(err) != exitcode.NotFound || !strings.Contains(err.Error(), "drop -n") {
		t.Fatalf("-n default: %v, want NotFound saying to drop -n", err)
	}
	// -n sample-app keeps it.
	if rep, out, err = trace("sample-app", false); err != nil || len(rep.Releases) != 1 {
		t.Fatalf("-n sample-app: %v\n%s", err, out)
	}
}

// A release applied by hand (no Kustomization, found because the commit
// changed its manifest) counts in the current namespace, and anywhere with -A.
func TestScopeManualReleases(t *testing.T) {
	r := newAppRepo(t)
	// The GitOps-repo fixture, its Kustomization gone (applied by hand), with
	// the app repo's URL so this checkout's commit is the traced one, and the
	// commit touching the HelmRelease's manifest.
	gitopsRepo(t, r)
	trace := func(ns string, args ...string) ([]fluxstatus.Release, error) {
		t.Helper()
		objs := fixtureObjects(t, "kustomization.yaml", r, "https://github.com/example/flux-app-delivery.git", "git@github.com:example/sample-app-helm-chart")
		var keep = objs[:0]
		for _, o := range objs {
			if o.GetKind() != "Kustomization" {
				keep = append(keep, o)
			}
		}
		c := newCluster(t, keep)
		f := &kubefake.Factory{Dyn: c, Clk: clocktesting.NewFakeClock(testNow), NS: ns, NSFromKubeconfig: true}
		out, _, err := runFactory(context.Background(), t, f, nil, append([]string{"HEAD", "--repo", r.dir, "-o", "json"}, args...)...)
		if exitcode.From(err) == exitcode.NotFound {
			return nil, err
		}
		var rep fluxstatus.Report
		if yerr := yaml.Unmarshal([]byte(out), &rep); yerr != nil {
			t.Fatalf("%v\n%s", yerr, out)
		}
		return rep.Releases, err
	}
	if rels, err := trace("sample-app"); len(rels) != 1 || rels[0].Via[0] != "manual" {
		t.Fatalf("current namespace sample-app: %v %+v, want the hand-applied release", err, rels)
	}
	if _, err := trace("default"); exitcode.From(err) != exitcode.NotFound || !strings.Contains(err.Error(), "-A") {
		t.Fatalf("current namespace default: %v, want NotFound pointing at -A", err)
	}
	if rels, err := trace("default", "-A"); len(rels) != 1 {
		t.Fatalf("-A: %v %+v, want the hand-applied release", err, rels)
	}
}

// The releases a commit touches come from the model of what the
// repository applies at that commit: a patch in an overlay reaches the
// release under the overlay's name (namePrefix) and namespace, and an
// archived copy that no kustomization includes reaches nothing, even when
// it names a release the cluster runs.
func TestScopeManualReleasesFromModel(t *testing.T) {
	r := newAppRepo(t)
	hr := func(name, ns, values string) string {
		s := "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: " + name + "\n"
		if ns != "" {
			s += "  namespace: " + ns + "\n"
		}
		return s + "spec:\n  values:\n" + values
	}
	writeAndCommit(t, r.dir, "apps/base/sample-app/release.yaml", hr("sample-app", "", "    replicaCount: 1\n"), "base")
	writeAndCommit(t, r.dir, "apps/base/sample-app/kustomization.yaml", "resources: [release.yaml]\n", "base kustomization")
	writeAndCommit(t, r.dir, "apps/staging/kustomization.yaml", "namespace: sample-app\nnamePrefix: staging-\nresources: [../base/sample-app]\npatches:\n  - path: values.yaml\n", "staging")
	writeAndCommit(t, r.dir, "apps/staging/values.yaml", hr("sample-app", "", "    replicaCount: 2\n"), "staging: 2 replicas")
	trace := func() ([]fluxstatus.Release, error) {
		t.Helper()
		objs := fixtureObjects(t, "kustomization.yaml", r, "https://github.com/example/flux-app-delivery.git", "git@github.com:example/sample-app-helm-chart",
			"metadata: {name: sample-app, namespace: sample-app, generation: 2}", "metadata: {name: staging-sample-app, namespace: sample-app, generation: 2}")
		var keep = objs[:0]
		for _, o := range objs {
			if o.GetKind() != "Kustomization" {
				keep = append(keep, o)
			}
		}
		f := &kubefake.Factory{Dyn: newCluster(t, keep), Clk: clocktesting.NewFakeClock(testNow), NS: "sample-app", NSFromKubeconfig: true}
		out, _, err := runFactory(context.Background(), t, f, nil, "HEAD", "--repo", r.dir, "-o", "json")
		if exitcode.From(err) == exitcode.NotFound {
			return nil, err
		}
		var rep fluxstatus.Report
		if yerr := yaml.Unmarshal([]byte(out), &rep); yerr != nil {
			t.Fatalf("%v\n%s", yerr, out)
		}
		return rep.Releases, err
	}
	if rels, err := trace(); len(rels) != 1 || rels[0].Name != "staging-sample-app" || rels[0].Via[0] != "manual" {
		t.Fatalf("commit patching the overlay: %v %+v, want staging-sample-app, hand-applied", err, rels)
	}
	writeAndCommit(t, r.dir, "archive/sample-app.yaml", hr("staging-sample-app", "sample-app", "    replicaCount: 3\n"), "archive an old copy")
	if rels, err := trace(); exitcode.From(err) != exitcode.NotFound {
		t.Fatalf("commit touching only a file nobody includes: %v %+v, want NotFound", err, rels)
	}
}

// gitopsRepo adds a commit to the app repo that changes a HelmRelease
// manifest, so the hand-applied release is found by its manifest.
func gitopsRepo(t *testing.T, r *appRepo) {
	t.Helper()
	hr := "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: sample-app\n  namespace: sample-app\nspec:\n  values:\n    replicaCount: 2\n"
	writeAndCommit(t, r.dir, "helmrelease/sample-app-helmrelease.yaml", hr, "sample-app: 2 replicas")
}

// With no right to list HelmReleases in all namespaces, the namespaces the
// source's Kustomization names in its inventory are listed one by one.
func TestScopeWithoutClusterWideList(t *testing.T) {
	r := newAppRepo(t)
	objs := fixtureObjects(t, "kustomization.yaml", r, "https://github.com/example/flux-app-delivery.git", "git@github.com:example/sample-app-helm-chart")
	c := newCluster(t, objs)
	var namespaces []string
	c.PrependReactor("list", "helmreleases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		namespaces = append(namespaces, a.GetNamespace())
		if a.GetNamespace() == "" {
			return true, nil, apierrors.NewForbidden(fluxstatus.HelmReleaseGVR.GroupResource(), "", nil)
		}
		return false, nil, nil
	})
	f := &kubefake.Factory{Dyn: c, Clk: clocktesting.NewFakeClock(testNow), NS: "default", NSFromKubeconfig: true}
	out, _, err := runFactory(context.Background(), t, f, nil, "HEAD", "--repo", r.dir, "-o", "json")
	if exitcode.From(err) == exitcode.NotFound {
		t.Fatalf("%v (lists by namespace: %q)", err, namespaces)
	}
	var rep fluxstatus.Report
	if yerr := yaml.Unmarshal([]byte(out), &rep); yerr != nil {
		t.Fatalf("%v\n%s", yerr, out)
	}
	if len(rep.Releases) != 1 || rep.Releases[0].Namespace != "sample-app" || len(rep.Forbidden) != 0 {
		t.Fatalf("releases %+v, forbidden %+v (lists by namespace: %q)", rep.Releases, rep.Forbidden, namespaces)
	}
	if strings.Join(namespaces, ",") != ",default,sample-app" && strings.Join(namespaces, ",") != ",sample-app,default" {
		t.Errorf("HelmRelease lists in namespaces %q, want all, then default and sample-app", namespaces)
	}
}

func writeAndCommit(t *testing.T, dir, path, content, msg string) {
	t.Helper()
	full := filepath.Join(dir, path)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, dir, nil, "add", "-A")
	git(t, dir, nil, "commit", "-q", "-m", msg)
}

// Right after `kubectl apply` of a new repo the Kustomization has not created
// the HelmRelease yet: without --wait that is "not found" (exit 3); with
// --wait the trace waits for it to appear and follows it to deployed.
func TestWaitForReleaseToAppear(t *testing.T) {
	r := newAppRepo(t)
	gitopsRepo(t, r)
	all := fixtureObjects(t, "kustomization.yaml", r, "https://github.com/example/flux-app-delivery.git", "git@github.com:example/sample-app-helm-chart")
	var before, later []*unstructured.Unstructured
	for _, o := range all {
		switch o.GetKind() {
		case "GitRepository":
			before = append(before, o)
		case "Kustomization":
			pending := o.DeepCopy()
			if err := unstructured.SetNestedField(pending.Object, "main@sha1:"+r.P, "status", "lastAppliedRevision"); err != nil {
				t.Fatal(err)
			}
			unstructured.RemoveNestedField(pending.Object, "status", "inventory")
			before = append(before, pending)
			later = append(later, o)
		default:
			later = append(later, o)
		}
	}
	// The fixture's source revision is the commit traced: HEAD of the repo.
	head := git(t, r.dir, nil, "rev-parse", "HEAD")
	edit := func(objs []*unstructured.Unstructured) {
		for _, o := range objs {
			if o.GetKind() == "GitRepository" {
				_ = unstructured.SetNestedField(o.Object, "main@sha1:"+head, "status", "artifact", "revision")
			}
			if o.GetKind() == "Kustomization" && o != nil {
				if rev, _, _ := unstructured.NestedString(o.Object, "status", "lastAppliedRevision"); rev != "main@sha1:"+r.P {
					_ = unstructured.SetNestedField(o.Object, "main@sha1:"+head, "status", "lastAppliedRevision")
				}
			}
		}
	}
	edit(before)
	edit(later)

	c := newCluster(t, before)
	if _, _, err := run(t, c, nil, "HEAD", "--repo", r.dir); exitcode.From(err) != exitcode.NotFound {
		t.Fatalf("without --wait: %v, want NotFound", err)
	}
	c = newCluster(t, before)
	done, cancel := startTrace(t, c, nil, nil, "HEAD", "--repo", r.dir, "--wait")
	defer cancel()
	awaitWatches(t, c, 5) // GitRepositories, HelmCharts, Kustomizations, HelmReleases, the source's events
	// In the order the controllers make them: the release's workloads, the
	// HelmRelease, then the Kustomization's status. (The fake's watches do
	// not replay what happened between a list and the watch that resumes
	// from it, as an API server does; in this order no watch needs that.)
	rank := map[string]int{"HelmRelease": 1, "Kustomization": 2}
	sort.SliceStable(later, func(i, j int) bool { return rank[later[i].GetKind()] < rank[later[j].GetKind()] })
	for _, o := range later {
		if o.GetKind() == "Kustomization" {
			c.set(t, o)
			continue
		}
		o.SetResourceVersion("")
		if err := c.Tracker().Create(gvrOf[o.GetKind()], o, o.GetNamespace()); err != nil {
			t.Fatal(err)
		}
	}
	res := finish(t, done)
	if res.err != nil || !strings.Contains(res.out, "DEPLOYED") {
		t.Fatalf("exit %d (%v), want the release that appeared traced to deployed\n%s", exitcode.From(res.err), res.err, res.out)
	}
}

// HelmReleases are listed only after the Kustomizations have been read:
// kustomize-controller applies a HelmRelease before it records the revision,
// so this order never shows a revision applied with the old HelmRelease spec.
func TestFetchReadsKustomizationsBeforeHelmReleases(t *testing.T) {
	r := newAppRepo(t)
	c := newCluster(t, fixtureObjects(t, "kustomization.yaml", r, "https://github.com/example/flux-app-delivery.git", "git@github.com:example/sample-app-helm-chart"))
	var seq atomic.Int64
	var ksDone, hrStart atomic.Int64
	c.PrependReactor("list", "kustomizations", func(k8stesting.Action) (bool, runtime.Object, error) {
		for i := 0; i < 100; i++ {
			goruntime.Gosched() // give a concurrent HelmRelease list every chance to start first
		}
		ksDone.Store(seq.Add(1))
		return false, nil, nil
	})
	c.PrependReactor("list", "helmreleases", func(k8stesting.Action) (bool, runtime.Object, error) {
		hrStart.Store(seq.Add(1))
		return false, nil, nil
	})
	if _, _, err := run(t, c, nil, "HEAD", "--repo", r.dir); exitcode.From(err) == exitcode.NotFound {
		t.Fatal(err)
	}
	if hrStart.Load() < ksDone.Load() {
		t.Fatalf("HelmReleases listed (step %d) before the Kustomization list returned (step %d)", hrStart.Load(), ksDone.Load())
	}
}
