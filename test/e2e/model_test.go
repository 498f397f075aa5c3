//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxmodel"
	"github.com/kubectl-gitops/kubectl-gitops/test/e2e/e2eutil"
)

// These tests hold the model (internal/fluxmodel) against what Flux really applied: after the
// controllers reconciled an example, every HelmRelease of the model's cluster is in that cluster, at
// the namespace and name the model says, with the chart (name, version, sourceRef) and values the
// model composed; and every HelmRelease the example put in the test's namespaces is in the model.
//
// They were checked to fail on a wrong model: with generate.go's targetNamespace line replaced
// (`k.Namespace = s` by `_ = s`), TestModelMatchesClusterSingle fails after the targetNamespace
// commit with "model has default/sample-app, which the cluster does not hold"; with collect's
// postBuild variables dropped (`vars = nil`) it fails on values.podAnnotations.team ("${TEAM}" in
// the model, "platform" in the cluster); with the folder's own patches dropped from the generated
// kustomization (`k.Patches = nil`), TestModelMatchesClusterFleet fails on both clusters' values
// (replicaCount and image.tag of each overlay missing from the model).

// appliedRelease is what the model and a cluster are compared on.
type appliedRelease struct {
	Chart, Version               string
	SrcKind, SrcName, SrcNS      string
	Values                       any
	ChartRefKind, ChartRefName   string
	ReleaseName, TargetNamespace string
}

func releaseOf(obj map[string]any) appliedRelease {
	str := func(fields ...string) string {
		s, _, _ := unstructured.NestedString(obj, fields...)
		return s
	}
	r := appliedRelease{
		Chart:           str("spec", "chart", "spec", "chart"),
		Version:         str("spec", "chart", "spec", "version"),
		SrcKind:         str("spec", "chart", "spec", "sourceRef", "kind"),
		SrcName:         str("spec", "chart", "spec", "sourceRef", "name"),
		SrcNS:           str("spec", "chart", "spec", "sourceRef", "namespace"),
		ChartRefKind:    str("spec", "chartRef", "kind"),
		ChartRefName:    str("spec", "chartRef", "name"),
		ReleaseName:     str("spec", "releaseName"),
		TargetNamespace: str("spec", "targetNamespace"),
	}
	// Values through JSON on both sides: the model's numbers are Go ints,
	// the API server's int64 or float64.
	if v, ok, _ := unstructured.NestedFieldNoCopy(obj, "spec", "values"); ok {
		b, _ := json.Marshal(v)
		_ = json.Unmarshal(b, &r.Values)
	}
	return r
}

// compareModel loads the model of checkout and compares its cluster named cluster with what env
// holds: each release of the model must be there, equal; each HelmRelease of the namespaces must be
// in the model. It returns the keys compared, sorted.
func compareModel(t *testing.T, env *e2eutil.Env, checkout, cluster string, namespaces ...string) []string {
	t.Helper()
	m, err := fluxmodel.Load(context.Background(), checkout)
	if err != nil {
		t.Fatalf("model of %s: %v", checkout, err)
	}
	c := m.Cluster(cluster)
	if c == nil {
		t.Fatalf("the model of %s has clusters %v (%s), no %q", checkout, m.Names(), m.Layout, cluster)
	}
	for _, err := range c.Errors {
		t.Errorf("model cluster %s: %v", cluster, err)
	}
	var keys []string
	inModel := map[string]bool{}
	for _, r := range c.Releases {
		if r.Err != nil {
			t.Errorf("model release %s: %v", r.ID(), r.Err)
			continue
		}
		inModel[r.Key()] = true
		keys = append(keys, r.Key())
		u, err := env.Dynamic.Resource(e2eutil.HelmReleases).Namespace(r.Namespace).Get(context.Background(), r.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			t.Errorf("model has %s, which the cluster (context %q) does not hold", r.Key(), env.Context)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		want, got := releaseOf(u.Object), releaseOf(r.Object)
		if got.Version == "" {
			got.Version = "*" // the HelmRelease CRD's default, set by the API server
		}
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%s/%s: the model composed\n  %+v\nthe cluster holds\n  %+v", cluster, r.Key(), got, want)
		}
	}
	for _, ns := range namespaces {
		list, err := env.Dynamic.Resource(e2eutil.HelmReleases).Namespace(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range list.Items {
			if k := u.GetNamespace() + "/" + u.GetName(); !inModel[k] {
				t.Errorf("the cluster (context %q) holds %s; the model of cluster %s does not", env.Context, k, cluster)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

// TestModelMatchesClusterSingle: examples/flux-app-delivery, one cluster (clusters/local). First as
// shipped; then after a commit that moves the namespace from the folder's kustomization.yaml and the
// HelmRelease's metadata to spec.targetNamespace of the Flux Kustomization, and sets a value through
// postBuild substitution (inline, and a ${VAR:=default}).
func TestModelMatchesClusterSingle(t *testing.T) {
	e := e2eutil.Setup(t)
	ns := e.Namespace(t)
	f := e.DeployFounding(t, ns, e2eutil.FoundingOptions{})

	got := compareModel(t, e, f.GitOps.CloneTo(t), "local", ns)
	if want := []string{ns + "/sample-app"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("the model's releases: %v, want %v", got, want)
	}

	rev := f.GitOps.Commit(t, "targetNamespace and postBuild", func(dir string) {
		e2eutil.ReplaceInFile(t, dir, "helmrelease/kustomization.yaml", "namespace: "+ns+"\n", "")
		e2eutil.ReplaceInFile(t, dir, "helmrelease/sample-app-helmrelease.yaml",
			"  name: sample-app\n  namespace: "+ns+"\n", "  name: sample-app\n")
		e2eutil.ReplaceInFile(t, dir, "helmrelease/sample-app-helmrelease.yaml",
			`team: "web"`, "team: \"${TEAM}\"\n      tier: \"${TIER:=frontend}\"")
		e2eutil.ReplaceInFile(t, dir, "clusters/local/flux-app-delivery.yaml", "  path: ./helmrelease\n",
			"  path: ./helmrelease\n  targetNamespace: "+ns+"\n  postBuild:\n    substitute:\n      TEAM: platform\n")
	})
	checkout := f.GitOps.CloneTo(t)
	// clusters/local is applied by hand in this example (nothing reconciles it from Git).
	e.Apply(t, "", filepath.Join(checkout, "clusters", "local"))
	e.RequestReconcile(t, e2eutil.Kustomizations, ns, e2eutil.Kustomization)
	waitApplied(t, e, ns, rev)
	u := e.Get(t, e2eutil.HelmReleases, ns, e2eutil.HelmRelease)
	if team, _, _ := unstructured.NestedString(u.Object, "spec", "values", "podAnnotations", "team"); team != "platform" {
		t.Fatalf("the cluster's HelmRelease has team %q after the commit, want platform (not reconciled?)", team)
	}
	got = compareModel(t, e, checkout, "local", ns)
	if want := []string{ns + "/sample-app"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after the targetNamespace commit, the model's releases: %v, want %v", got, want)
	}
}

// TestModelMatchesClusterFleet: examples/flux-multi-env on two clusters, each applying its overlay
// (apps/<env> patching apps/base) through its own Flux Kustomization: the model's staging and
// production equal what each cluster holds, both from .gitops.yaml and, without it, from the
// clusters/<name> folders.
func TestModelMatchesClusterFleet(t *testing.T) {
	e := e2eutil.Setup(t)
	m := deployFleet(t, e)
	checkout := m.gitops.CloneTo(t)
	for _, c := range []struct {
		name string
		env  *e2eutil.Env
		ns   string
	}{{"staging", m.st, m.staging}, {"production", m.pr, m.production}} {
		got := compareModel(t, c.env, checkout, c.name, c.ns)
		if want := []string{c.ns + "/sample-app"}; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the model's releases %v, want %v", c.name, got, want)
		}
	}
	if err := os.Remove(filepath.Join(checkout, ".gitops.yaml")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		env  *e2eutil.Env
		ns   string
	}{{"staging", m.st, m.staging}, {"production", m.pr, m.production}} {
		got := compareModel(t, c.env, checkout, c.name, c.ns)
		if want := []string{c.ns + "/sample-app"}; !reflect.DeepEqual(got, want) {
			t.Errorf("%s without .gitops.yaml: the model's releases %v, want %v", c.name, got, want)
		}
	}
}
