package render

import (
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"k8s.io/apimachinery/pkg/version"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/kubernetes/fake"
)

func tpl(name, body string) *chart.File { return &chart.File{Name: name, Data: []byte(body)} }

func testChart() *chart.Chart {
	sub := &chart.Chart{
		Metadata:  &chart.Metadata{APIVersion: "v2", Name: "db", Version: "1.0.0"},
		Values:    map[string]any{"port": 5432},
		Templates: []*chart.File{tpl("templates/svc.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}-db\nspec:\n  ports: [{port: {{ .Values.port }}}]\n")},
	}
	ch := &chart.Chart{
		Metadata: &chart.Metadata{APIVersion: "v2", Name: "app", Version: "1.2.3",
			Dependencies: []*chart.Dependency{{Name: "db", Version: "1.0.0", Condition: "db.enabled"}}},
		Values: map[string]any{"replicas": 1, "db": map[string]any{"enabled": false}},
		Templates: []*chart.File{
			tpl("templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n  namespace: {{ .Release.Namespace }}\ndata:\n  kube: {{ .Capabilities.KubeVersion.Version | quote }}\n  replicas: {{ .Values.replicas | quote }}\n"),
			tpl("templates/list.yaml", "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ServiceAccount, metadata: {name: a}}\n- {apiVersion: v1, kind: ServiceAccount, metadata: {name: b}}\n"),
			tpl("templates/job.yaml", "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations: {helm.sh/hook: pre-upgrade}\n"),
			tpl("templates/test.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: smoke\n  annotations: {helm.sh/hook: test}\n"),
			tpl("templates/NOTES.txt", "Thanks for installing {{ .Release.Name }}"),
			tpl("templates/_helpers.tpl", "{{- define \"x\" -}}x{{- end -}}"),
		},
	}
	ch.SetDependencies(sub)
	return ch
}

func ids(objs []Object) []string {
	var out []string
	for _, o := range objs {
		id := o.ID("")
		if o.Hook != "" {
			id += " [" + o.Hook + "]"
		}
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

func TestRender(t *testing.T) {
	ch := testChart()
	objs, err := Render(ch, map[string]any{"replicas": 3}, Options{ReleaseName: "web", Namespace: "apps"})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(ids(objs), ", ")
	want := "ConfigMap apps/web, Job migrate [pre-upgrade], ServiceAccount a, ServiceAccount b"
	if got != want {
		t.Errorf("rendered %s\nwant     %s (hooks in, test hooks and NOTES.txt out, Lists expanded, disabled subchart out)", got, want)
	}
	for _, o := range objs {
		if o.Kind == "ConfigMap" {
			data := o.Object["data"].(map[string]any)
			if data["kube"] != DefaultKubeVersion || data["replicas"] != "3" {
				t.Errorf("ConfigMap data %v: want the default Kubernetes version and the values given", data)
			}
		}
	}
	// The chart is not modified: the same chart renders other values.
	objs, err = Render(ch, map[string]any{"db": map[string]any{"enabled": true}}, Options{ReleaseName: "web", Namespace: "apps"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ids(objs), ", "); !strings.Contains(got, "Service web-db") {
		t.Errorf("enabled subchart not rendered: %s", got)
	}
	if len(ch.Dependencies()) != 1 || ch.Values["replicas"] != 1 {
		t.Errorf("Render changed the chart")
	}
}

func TestRenderError(t *testing.T) {
	ch := testChart()
	ch.Templates = append(ch.Templates, tpl("templates/bad.yaml", "{{ required \"image.tag is required\" .Values.image }}"))
	_, err := Render(ch, nil, Options{ReleaseName: "web", Namespace: "apps"})
	if err == nil || !strings.Contains(err.Error(), "image.tag is required") {
		t.Errorf("got %v", err)
	}
}

func TestClusterCapabilities(t *testing.T) {
	dc := fake.NewSimpleClientset().Discovery().(*fakediscovery.FakeDiscovery)
	// An API server built without version stamps, as the sandbox's.
	dc.FakedServerVersion = &version.Info{GitVersion: "v0.0.0-master+$Format:%H$", Major: "1", Minor: "34"}
	caps, err := ClusterCapabilities(dc)
	if err != nil {
		t.Fatal(err)
	}
	if caps.KubeVersion.Version != "v1.34.0" {
		t.Errorf("KubeVersion %s, want v1.34.0 from major/minor", caps.KubeVersion.Version)
	}
}
