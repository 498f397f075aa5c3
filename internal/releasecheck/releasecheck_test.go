package releasecheck

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/version"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/openapi"

	"github.com/kubectl-gitops/kubectl-gitops/internal/chartsource"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
)

var gitEnv = []string{
	"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
	"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
}

func run(t testing.TB, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), gitEnv...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// founding pushes the founding example's chart (examples/sample-app-helm-chart)
// to a bare remote and returns a GitOps checkout whose GitRepository points at it.
func founding(t testing.TB, hrFile string) *gitrepo.Repo {
	t.Helper()
	root := t.TempDir()
	bare := filepath.Join(root, "app.git")
	run(t, root, "init", "--quiet", "--bare", "-b", "main", bare)
	app := filepath.Join(root, "app")
	if err := os.CopyFS(app, os.DirFS("../../examples/sample-app-helm-chart")); err != nil {
		t.Fatal(err)
	}
	run(t, app, "init", "--quiet", "-b", "main")
	run(t, app, "add", "-A")
	run(t, app, "commit", "--quiet", "-m", "chart")
	run(t, app, "push", "--quiet", bare, "main")

	ops := filepath.Join(root, "gitops")
	if err := os.MkdirAll(ops, 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("../../examples/flux-app-delivery/sources/sample-app-helm-chart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src = bytes.Replace(src, []byte("https://github.com/example/sample-app-helm-chart.git"), []byte("file://"+bare), 1)
	writeFile(t, ops, "sources/sample-app-helm-chart.yaml", string(src))
	writeFile(t, ops, "helmrelease/sample-app-helmrelease.yaml", hrFile)
	run(t, ops, "init", "--quiet", "-b", "main")
	run(t, ops, "add", "-A")
	run(t, ops, "commit", "--quiet", "-m", "gitops")
	repo, err := gitrepo.Open(context.Background(), ops)
	if err != nil {
		t.Fatal(err)
	}
	return repo
}

func writeFile(t testing.TB, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func foundingHR(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("../../examples/flux-app-delivery/helmrelease/sample-app-helmrelease.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func check(t *testing.T, repo *gitrepo.Repo, before, after string) *Report {
	t.Helper()
	ctx := context.Background()
	doc := docIn(t, repo, "helmrelease/sample-app-helmrelease.yaml", "sample-app", "")
	b, a, err := Compose(ctx, repo, doc, []byte(before), []byte(after))
	if err != nil {
		t.Fatal(err)
	}
	c := &Checker{Resolver: &chartsource.Resolver{Repo: repo, CacheDir: t.TempDir(), GitEnv: gitEnv}, Offline: "no cluster in unit tests"}
	rep, err := c.Check(ctx, b, a)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestCheckFindsWhatTheChangeBreaks(t *testing.T) {
	hr := foundingHR(t)
	repo := founding(t, hr)
	tests := []struct {
		name, add string
		field     string // "" for valid
		msg       string
		object    string
	}{
		{name: "valid", add: "    replicaCount: 3\n"},
		{name: "bad quantity", add: "    resources:\n      limits:\n        memory: not-a-quantity\n",
			object: "Deployment sample-app/sample-app", field: "spec.template.spec.containers[0].resources.limits.memory", msg: "quantities must match"},
		{name: "wrong type", add: "    replicaCount: three\n",
			object: "Deployment sample-app/sample-app", field: "spec.replicas", msg: "must be an integer"},
		{name: "unknown field", add: "    resources:\n      limit:\n        memory: 1Gi\n",
			object: "Deployment sample-app/sample-app", field: "spec.template.spec.containers[0].resources.limit", msg: "unknown field"},
		{name: "enum", add: "    image:\n      pullPolicy: Sometimes\n",
			object: "Deployment sample-app/sample-app", field: "spec.template.spec.containers[0].imagePullPolicy", msg: "must be one of"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			after := strings.Replace(hr, "  values:\n", "  values:\n"+tt.add, 1)
			rep := check(t, repo, hr, after)
			if rep.Schema != "the bundled Kubernetes v1.34.4 schema" || rep.KubeVersion != "v1.34.4" {
				t.Errorf("schema %q, kube %q", rep.Schema, rep.KubeVersion)
			}
			if len(rep.After.Objects) != 2 {
				t.Fatalf("rendered %d objects, want the Deployment and the Service", len(rep.After.Objects))
			}
			if tt.field == "" {
				if !rep.Valid() {
					t.Fatalf("want valid, got %v", rep.New)
				}
				return
			}
			if len(rep.New) != 1 {
				t.Fatalf("want one new problem, got %v", rep.New)
			}
			f := rep.New[0]
			if f.Object != tt.object || f.Field != tt.field || !strings.Contains(f.Message, tt.msg) || f.Template != "sample-app/templates/deployment.yaml" {
				t.Errorf("got %+v", f)
			}
		})
	}
}

func TestCheckSeparatesExistingProblems(t *testing.T) {
	hr := strings.Replace(foundingHR(t), "  values:\n", "  values:\n    replicaCount: three\n", 1)
	repo := founding(t, hr)
	after := strings.Replace(hr, "team: \"web\"", "team: \"ops\"", 1)
	rep := check(t, repo, hr, after)
	if !rep.Valid() || len(rep.Existing) != 1 {
		t.Fatalf("want the old problem as existing only: new %v, existing %v", rep.New, rep.Existing)
	}
	if notes := strings.Join(rep.Notes(), "\n"); !strings.Contains(notes, "already failing before this change") {
		t.Errorf("notes do not mention the existing problem: %s", notes)
	}
}

func TestExplainAndDiff(t *testing.T) {
	hr := foundingHR(t)
	repo := founding(t, hr)
	after := strings.Replace(hr, "  values:\n", "  values:\n    resources:\n      limits:\n        memory: not-a-quantity\n", 1)
	rep := check(t, repo, hr, after)
	var b bytes.Buffer
	rep.Explain(&b, []Change{
		{Path: "replicaCount", Value: 3, File: "hr.yaml", Line: 30},
		{Path: "resources.limits.memory", Value: "not-a-quantity", File: "hr.yaml", Line: 34},
	})
	out := b.String()
	for _, want := range []string{
		"HelmRelease sample-app/sample-app: the change does not validate",
		"Deployment sample-app/sample-app (sample-app/templates/deployment.yaml) spec.template.spec.containers[0].resources.limits.memory: \"not-a-quantity\": quantities must match",
		"caused by resources.limits.memory=\"not-a-quantity\" (hr.yaml:34)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Explain lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "replicaCount=3") {
		t.Errorf("Explain blames an unrelated change:\n%s", out)
	}
	b.Reset()
	changed, err := rep.WriteDiff(&b, false)
	if err != nil || !changed {
		t.Fatalf("WriteDiff: %v %v", changed, err)
	}
	if !strings.Contains(b.String(), "-            memory: 128Mi\n+            memory: not-a-quantity\n") || strings.Contains(b.String(), "Service") {
		t.Errorf("rendered diff:\n%s", b.String())
	}
}

func TestComposePatchOverBase(t *testing.T) {
	repo := founding(t, foundingHR(t))
	// The multi-env layout: a base names the chart, an overlay patches values.
	base := strings.Replace(foundingHR(t), "  namespace: sample-app\n", "", 1)
	writeFile(t, repo.Root, "base/helmrelease.yaml", base[strings.Index(base, "---\n")+4:])
	writeFile(t, repo.Root, "staging/kustomization.yaml", "namespace: sample-app\nresources: [../base]\npatches: [{path: values.yaml}]\n")
	patch := "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: sample-app\nspec:\n  values:\n    replicaCount: 2\n"
	writeFile(t, repo.Root, "staging/values.yaml", patch)
	if err := os.Remove(filepath.Join(repo.Root, "helmrelease/sample-app-helmrelease.yaml")); err != nil {
		t.Fatal(err)
	}
	run(t, repo.Root, "add", "-A")
	run(t, repo.Root, "commit", "--quiet", "-m", "overlay")
	ctx := context.Background()
	doc := docIn(t, repo, "staging/values.yaml", "sample-app", "sample-app")
	after := strings.Replace(patch, "replicaCount: 2", "replicaCount: 2\n    resources: {limits: {memory: lots}}", 1)
	b, a, err := Compose(ctx, repo, doc, []byte(patch), []byte(after))
	if err != nil {
		t.Fatal(err)
	}
	if a.Spec.Chart == nil || a.Spec.Chart.Spec.Chart != "./charts/sample-app" || a.Namespace != "sample-app" {
		t.Fatalf("base not merged: %+v", a.Spec.Chart)
	}
	if v := a.GetValues(); v["podAnnotations"] == nil || v["replicaCount"] == nil {
		t.Errorf("values not deep-merged: %v", v)
	}
	c := &Checker{Resolver: &chartsource.Resolver{Repo: repo, CacheDir: t.TempDir(), GitEnv: gitEnv}}
	rep, err := c.Check(ctx, b, a)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.New) != 1 || !strings.Contains(rep.New[0].Field, "limits.memory") {
		t.Errorf("want the bad quantity, got %v", rep.New)
	}

	// Without a base, the chart is unresolvable (a warning for callers).
	if err := os.Remove(filepath.Join(repo.Root, "base/helmrelease.yaml")); err != nil {
		t.Fatal(err)
	}
	run(t, repo.Root, "add", "-A")
	run(t, repo.Root, "commit", "--quiet", "-m", "no base")
	_, _, err = Compose(ctx, repo, doc, []byte(patch), []byte(after))
	var ue *chartsource.UnresolvableError
	if !errors.As(err, &ue) {
		t.Errorf("want UnresolvableError, got %v", err)
	}
}

func TestValuesFrom(t *testing.T) {
	hr := strings.Replace(foundingHR(t), "  values:\n", `  valuesFrom:
    - kind: ConfigMap
      name: sample-app-values
    - kind: Secret
      name: sample-app-secret
      valuesKey: memory
      targetPath: resources.limits.memory
    - kind: ConfigMap
      name: optional-missing
      optional: true
  values:
`, 1)
	repo := founding(t, hr)
	ctx := context.Background()
	doc := docIn(t, repo, "helmrelease/sample-app-helmrelease.yaml", "sample-app", "")
	b, a, err := Compose(ctx, repo, doc, nil, []byte(hr))
	if err != nil {
		t.Fatal(err)
	}
	if b != nil {
		t.Fatal("before should be nil for a new file")
	}
	resolver := &chartsource.Resolver{Repo: repo, CacheDir: t.TempDir(), GitEnv: gitEnv}

	// Offline: the references are left out and named.
	rep, err := (&Checker{Resolver: resolver, Offline: "no cluster: test"}).Check(ctx, nil, a)
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(rep.Notes(), "\n")
	if !strings.Contains(notes, "valuesFrom left out of the render (no cluster: test): ConfigMap sample-app/sample-app-values key values.yaml, Secret sample-app/sample-app-secret key memory") {
		t.Errorf("notes: %s", notes)
	}

	// With a cluster: merged in order, spec.values on top; a Secret's value
	// never shows, not in findings nor in the diff.
	kc := fake.NewSimpleClientset(
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "sample-app-values", Namespace: "sample-app"},
			Data: map[string]string{"values.yaml": "replicaCount: 4\npodAnnotations:\n  team: platform\n  tier: gold\n"}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sample-app-secret", Namespace: "sample-app"},
			Data: map[string][]byte{"memory": []byte("s3cr3t-quantity")}},
	)
	dc := &testDiscovery{FakeDiscovery: kc.Discovery().(*fakediscovery.FakeDiscovery)}
	dc.FakedServerVersion = &version.Info{GitVersion: "v1.33.2", Major: "1", Minor: "33"}
	c := &Checker{Resolver: resolver, Cluster: &Cluster{Discovery: dc, Kube: kc}}
	rep, err = c.Check(ctx, nil, a)
	if err != nil {
		t.Fatal(err)
	}
	v := rep.After.Values
	ann, _ := v["podAnnotations"].(map[string]any)
	if v["replicaCount"] != int64(4) && v["replicaCount"] != float64(4) || ann["team"] != "web" || ann["tier"] != "gold" {
		t.Errorf("values not composed as helm-controller does: %v", v)
	}
	if len(rep.New) != 1 || rep.New[0].Value != "<redacted>" {
		t.Fatalf("want the Secret-fed bad quantity, redacted: %v", rep.New)
	}
	if rep.KubeVersion != "v1.33.2" || !strings.Contains(strings.Join(rep.Warnings, "\n"), "using the bundled schema: listing the cluster's OpenAPI v3 documents") {
		t.Errorf("kube %s, warnings %v", rep.KubeVersion, rep.Warnings)
	}
	var out bytes.Buffer
	if _, err := rep.WriteDiff(&out, false); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "s3cr3t") || !strings.Contains(out.String(), "memory: <redacted>") {
		t.Errorf("diff shows the Secret's value:\n%s", out.String())
	}
}

func TestSecretsMaskedInDiff(t *testing.T) {
	secret := func(pw string) render.Object {
		return render.Object{APIVersion: "v1", Kind: "Secret", Name: "db", Object: map[string]any{
			"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "db"},
			"data": map[string]any{"password": pw, "user": "YWRtaW4="}}}
	}
	var out bytes.Buffer
	changed, err := WriteObjectDiff(&out, []render.Object{secret("b2xk")}, []render.Object{secret("bmV3")}, "apps", nil, false)
	if err != nil || !changed {
		t.Fatalf("%v %v", changed, err)
	}
	s := out.String()
	if strings.Contains(s, "b2xk") || strings.Contains(s, "bmV3") || strings.Contains(s, "YWRtaW4=") {
		t.Errorf("Secret data shown:\n%s", s)
	}
	if !strings.Contains(s, "-  password: <redacted>\n+  password: <redacted, changed>\n") || strings.Contains(s, "+  user:") {
		t.Errorf("want only the changed key marked:\n%s", s)
	}
}

// testDiscovery is the fake clientset's discovery with an /openapi/v3 that
// fails, so the check falls back to the bundled schema.
type testDiscovery struct{ *fakediscovery.FakeDiscovery }

func (testDiscovery) OpenAPIV3() openapi.Client { return noOpenAPI{} }

type noOpenAPI struct{}

func (noOpenAPI) Paths() (map[string]openapi.GroupVersion, error) {
	return nil, errors.New("the fake serves no /openapi/v3")
}

// docIn is HelmRelease name in file, as a command pointed at the file
// reads it; namespace is the one it is applied in when the file writes
// none.
func docIn(t testing.TB, repo *gitrepo.Repo, file, name, namespace string) manifest.Doc {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repo.Root, file))
	if err != nil {
		t.Fatal(err)
	}
	docs, bad := manifest.Headers(file, data)
	if bad != nil {
		t.Fatal(bad)
	}
	for _, d := range docs {
		if d.Kind == "HelmRelease" && d.Name == name {
			if d.Namespace == "" {
				d.Namespace = namespace
			}
			return d
		}
	}
	t.Fatalf("no HelmRelease %s in %s", name, file)
	return manifest.Doc{}
}
