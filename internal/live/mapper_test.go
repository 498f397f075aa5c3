package live

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// countingMapper stands in for discovery: it counts what it is asked and
// knows one custom kind.
type countingMapper struct {
	meta.RESTMapper
	asked int
}

func (c *countingMapper) RESTMapping(gk schema.GroupKind, versions ...string) (*meta.RESTMapping, error) {
	c.asked++
	return c.RESTMapper.RESTMapping(gk, versions...)
}

func TestBuiltinKindsNeedNoDiscovery(t *testing.T) {
	custom := schema.GroupVersion{Group: "example.com", Version: "v1"}
	inner := meta.NewDefaultRESTMapper([]schema.GroupVersion{custom, {Group: "policy", Version: "v1beta1"}})
	inner.Add(custom.WithKind("Widget"), meta.RESTScopeNamespace)
	inner.Add(schema.GroupVersionKind{Group: "policy", Version: "v1beta1", Kind: "PodDisruptionBudget"}, meta.RESTScopeNamespace)
	discovery := &countingMapper{RESTMapper: inner}
	m := withBuiltins(discovery)

	for _, c := range []struct {
		group, version, kind string
		resource             string
		namespaced           bool
	}{
		{"apps", "v1", "Deployment", "deployments", true},
		{"", "v1", "Service", "services", true},
		{"networking.k8s.io", "v1", "Ingress", "ingresses", true},
		{"networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", true},
		{"rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", false},
		{"autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", true},
	} {
		mapping, err := m.RESTMapping(schema.GroupKind{Group: c.group, Kind: c.kind}, c.version)
		if err != nil {
			t.Fatalf("%s: %v", c.kind, err)
		}
		if mapping.Resource.Resource != c.resource || mapping.Resource.Version != c.version {
			t.Errorf("%s maps to %v, want %s at %s", c.kind, mapping.Resource, c.resource, c.version)
		}
		if got := mapping.Scope.Name() == meta.RESTScopeNameNamespace; got != c.namespaced {
			t.Errorf("%s namespaced = %v, want %v", c.kind, got, c.namespaced)
		}
	}
	if discovery.asked != 0 {
		t.Errorf("discovery was asked %d times for built-in kinds, want 0", discovery.asked)
	}

	// A custom kind, and a built-in one at a version the table does not
	// hold, are discovery's to answer.
	if mapping, err := m.RESTMapping(schema.GroupKind{Group: "example.com", Kind: "Widget"}, "v1"); err != nil || mapping.Resource.Resource != "widgets" {
		t.Errorf("Widget: %v, %v", mapping, err)
	}
	if mapping, err := m.RESTMapping(schema.GroupKind{Group: "policy", Kind: "PodDisruptionBudget"}, "v1beta1"); err != nil || mapping.Resource.Version != "v1beta1" {
		t.Errorf("PodDisruptionBudget v1beta1: %v, %v", mapping, err)
	}
	if discovery.asked != 2 {
		t.Errorf("discovery was asked %d times, want 2 (the custom kind and the old version)", discovery.asked)
	}
	if _, err := m.RESTMapping(schema.GroupKind{Group: "example.com", Kind: "Gadget"}, "v1"); err == nil {
		t.Error("a kind neither knows mapped without an error")
	}
}

// The read of the live object and the dry run of the deployed one go out
// together: the API server (an httptest one) answers the GET only once the
// dry run has arrived, which a comparer that waits for the GET before it
// applies never gets to.
func TestObjectReadAndDryRunInOneRound(t *testing.T) {
	patched := make(chan struct{})
	var once sync.Once
	concurrent := false
	cm := func(v string) []byte {
		return []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"app","namespace":"apps"},"data":{"v":"` + v + `"}}`)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/namespaces/apps/configmaps/app" {
			http.Error(w, "unexpected "+r.URL.Path, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.Method {
		case http.MethodPatch:
			once.Do(func() { close(patched) })
			w.Write(cm("1"))
		case http.MethodGet:
			// Not a speed limit: a guard so that the sequential order
			// fails instead of hanging the test binary.
			select {
			case <-patched:
				concurrent = true
			case <-time.After(30 * time.Second):
			}
			w.Write(cm("2"))
		}
	}))
	defer srv.Close()
	dyn, err := dynamic.NewForConfig(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	c := &Comparer{Dynamic: dyn, Mapper: withBuiltins(meta.NewDefaultRESTMapper(nil))}
	deployed := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "app"}, "data": map[string]any{"v": "1"}}
	got := c.object(context.Background(), "apps", nil, deployed, Input{})
	if !concurrent {
		t.Fatal("the GET of the live object was answered before the dry run was sent: two round trips per object")
	}
	if len(got.Drift) != 1 || got.Drift[0] != "data.v" {
		t.Errorf("drift %v (error %q), want [data.v]", got.Drift, got.Error)
	}
	if got.Diff == "" {
		t.Error("no diff of the object that the render no longer has")
	}
	// trace asks for the drift alone: the same answer, no diff rendered.
	drift := c.object(context.Background(), "apps", nil, deployed, Input{DriftOnly: true})
	if drift.Diff != "" || drift.Change != got.Change || !reflect.DeepEqual(drift.Drift, got.Drift) {
		t.Errorf("DriftOnly: change %q drift %v diff %q; want change %q drift %v and no diff", drift.Change, drift.Drift, drift.Diff, got.Change, got.Drift)
	}
}
