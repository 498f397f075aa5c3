package live

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/release"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	dynfake "k8s.io/client-go/dynamic/fake"
)

// secretData encodes a release as a Helm release Secret's data.release
// reads through the API: base64(base64(gzip(JSON))).
func secretData(t *testing.T, rel *release.Release, zip bool) string {
	t.Helper()
	b, err := json.Marshal(rel)
	if err != nil {
		t.Fatal(err)
	}
	if zip {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		w.Write(b)
		w.Close()
		b = buf.Bytes()
	}
	helm := base64.StdEncoding.EncodeToString(b)
	return base64.StdEncoding.EncodeToString([]byte(helm))
}

func storedRelease(name string, version int, status release.Status) *release.Release {
	return &release.Release{
		Name: name, Namespace: "apps", Version: version,
		Info:     &release.Info{Status: status},
		Chart:    &chart.Chart{Metadata: &chart.Metadata{Name: "app", Version: fmt.Sprintf("0.1.%d", version)}},
		Manifest: fmt.Sprintf("---\n# Source: app/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  v: \"%d\"\n", name, version),
	}
}

func TestDecodeSecretData(t *testing.T) {
	for _, zip := range []bool{true, false} {
		rel, err := DecodeSecretData(secretData(t, storedRelease("app", 3, release.StatusDeployed), zip))
		if err != nil {
			t.Fatalf("gzip %v: %v", zip, err)
		}
		if rel.Version != 3 || rel.Info.Status != release.StatusDeployed || !strings.Contains(rel.Manifest, "kind: ConfigMap") {
			t.Errorf("gzip %v: decoded %+v", zip, rel)
		}
	}
	if _, err := DecodeSecretData("not base64!"); err == nil {
		t.Error("garbage decoded")
	}
}

func helmSecret(t *testing.T, rel *release.Release) runtime.Object {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{
			"name": fmt.Sprintf("sh.helm.release.v1.%s.v%d", rel.Name, rel.Version), "namespace": "apps",
			"labels": map[string]any{"owner": "helm", "name": rel.Name, "status": string(rel.Info.Status), "version": fmt.Sprint(rel.Version)},
		},
		"type": "helm.sh/release.v1",
		"data": map[string]any{"release": secretData(t, rel, true)},
	}}
}

// The deployed revision is compared with, even when a newer upgrade failed;
// another release's Secrets are not read.
func TestReadHistoryPicksDeployed(t *testing.T) {
	dyn := dynfake.NewSimpleDynamicClient(runtime.NewScheme(),
		helmSecret(t, storedRelease("app", 1, release.StatusSuperseded)),
		helmSecret(t, storedRelease("app", 2, release.StatusDeployed)),
		helmSecret(t, storedRelease("app", 3, release.StatusFailed)),
		helmSecret(t, storedRelease("other", 7, release.StatusDeployed)),
	)
	h, err := ReadHistory(context.Background(), dyn, Target{Name: "app", Namespace: "apps", Storage: "apps"})
	if err != nil {
		t.Fatal(err)
	}
	if h.Deployed == nil || h.Deployed.Version != 2 || h.Latest == nil || h.Latest.Version != 3 || h.Versions != 3 {
		t.Fatalf("deployed %v, latest %v, versions %d; want v2 deployed, v3 latest, 3", h.Deployed, h.Latest, h.Versions)
	}
	objs, err := manifestObjects(h.Deployed.Manifest)
	if err != nil || len(objs) != 1 || objs[0]["kind"] != "ConfigMap" {
		t.Fatalf("deployed manifest objects %v, %v", objs, err)
	}
}

func TestReleaseName(t *testing.T) {
	long := strings.Repeat("a", 30) + "-" + strings.Repeat("b", 30)
	for _, c := range []struct{ name, target, release, want string }{
		{name: "app", want: "app"},
		{name: "app", target: "prod", want: "prod-app"},
		{name: "app", target: "prod", release: "custom", want: "custom"},
		{name: long, want: strings.Repeat("a", 30) + "-" + strings.Repeat("b", 9) + "-0d5805a5e727"},
	} {
		hr := &helmv2.HelmRelease{ObjectMeta: metav1.ObjectMeta{Name: c.name, Namespace: "ns"}}
		hr.Spec.TargetNamespace, hr.Spec.ReleaseName = c.target, c.release
		if got := ReleaseName(hr); got != c.want {
			t.Errorf("ReleaseName(%s) = %q, want %q", c.name, got, c.want)
		}
	}
}

func obj(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// What the deployed release had and the new render drops is removed, as
// Helm's three-way merge removes it; what the server added stays.
func TestPruneRemoved(t *testing.T) {
	old := obj(t, `{"data":{"a":"1","gone":"x"},"spec":{"containers":[{"name":"app","env":[{"name":"KEEP","value":"1"},{"name":"DROP","value":"2"}]},{"name":"sidecar"}]}}`)
	new := obj(t, `{"data":{"a":"2"},"spec":{"containers":[{"name":"app","env":[{"name":"KEEP","value":"1"}]}]}}`)
	after := obj(t, `{"data":{"a":"2","gone":"x"},"spec":{"containers":[{"name":"app","imagePullPolicy":"IfNotPresent","env":[{"name":"KEEP","value":"1"},{"name":"DROP","value":"2"}]},{"name":"sidecar"}]}}`)
	got := pruneRemoved(after, old, new)
	want := obj(t, `{"data":{"a":"2"},"spec":{"containers":[{"name":"app","imagePullPolicy":"IfNotPresent","env":[{"name":"KEEP","value":"1"}]}]}}`)
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		t.Errorf("pruned to %s", g)
	}
}

// A Secret's values never reach the diff: the old side is <redacted>, the
// new side says which keys change; Secret-fed values are masked elsewhere.
func TestSecretDiffMasked(t *testing.T) {
	a := obj(t, `{"apiVersion":"v1","kind":"Secret","data":{"password":"b2xkLXNlY3JldA==","same":"eA=="},"metadata":{"name":"s","annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"data\":{\"password\":\"b2xkLXNlY3JldA==\"}}"}}}`)
	b := obj(t, `{"apiVersion":"v1","kind":"Secret","data":{"password":"bmV3LXNlY3JldA==","same":"eA=="},"metadata":{"name":"s"}}`)
	d, _ := unified("Secret ns/s", a, b, true, nil, false)
	for _, leak := range []string{"b2xkLXNlY3JldA==", "bmV3LXNlY3JldA==", "eA=="} {
		if strings.Contains(d, leak) {
			t.Errorf("the diff shows %q:\n%s", leak, d)
		}
	}
	if !strings.Contains(d, "+  password: <redacted, changed>") || strings.Contains(d, "same: <redacted, changed>") {
		t.Errorf("the diff does not say which key changed:\n%s", d)
	}
	cm := obj(t, `{"kind":"ConfigMap","data":{"dsn":"postgres://user:hunter22@db"}}`)
	d, _ = unified("ConfigMap ns/c", nil, cm, false, map[string]bool{"hunter22": true}, false)
	if strings.Contains(d, "hunter22") {
		t.Errorf("a value from a Secret is shown:\n%s", d)
	}
}

func TestChangedPaths(t *testing.T) {
	a := obj(t, `{"spec":{"replicas":1,"template":{"spec":{"containers":[{"name":"a","image":"x:1"}]}}},"metadata":{"labels":{"k":"v"}}}`)
	b := obj(t, `{"spec":{"replicas":3,"template":{"spec":{"containers":[{"name":"a","image":"x:2"}]}}},"metadata":{"labels":{"k":"v","n":"m"}}}`)
	got := changedPaths(a, b)
	want := []string{"metadata.labels.n", "spec.replicas", "spec.template.spec.containers[0].image"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("changedPaths = %v, want %v", got, want)
	}
}
