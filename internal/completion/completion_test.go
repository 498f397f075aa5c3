package completion

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-gitops/kubectl-gitops/internal/kube/kubefake"
)

func write(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestScanHelmReleases(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "apps/staging/release.yaml", `# comment
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: sample-app
  namespace: staging
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: not-a-release
---
apiVersion: helm.toolkit.fluxcd.io/v2beta2
kind: HelmRelease
metadata:
  name: sample-api
`)
	write(t, dir, "apps/prod/release.yml", "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: sample-app\n  namespace: prod\n")
	// A chart template does not parse as YAML; it is skipped, not an error.
	write(t, dir, "charts/x/templates/deploy.yaml", "{{- if .Values.x }}\nkind: {{ .Values.kind }\n")
	// Hidden directories (.git) are not scanned.
	write(t, dir, ".git/hr.yaml", "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: hidden\n")
	// Another API group's HelmRelease is not Flux's.
	write(t, dir, "other.yaml", "apiVersion: example.com/v1\nkind: HelmRelease\nmetadata:\n  name: other\n")

	got, err := ScanHelmReleases(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []HelmRelease{
		{Name: "sample-app", Namespace: "prod", Path: "apps/prod/release.yml"},
		{Name: "sample-app", Namespace: "staging", Path: "apps/staging/release.yaml"},
		{Name: "sample-api", Path: "apps/staging/release.yaml"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ScanHelmReleases:\n got %+v\nwant %+v", got, want)
	}
}

func TestScanHelmReleasesMissingDir(t *testing.T) {
	if _, err := ScanHelmReleases(filepath.Join(t.TempDir(), "nope")); err == nil {
		t.Fatal("want an error for a missing directory")
	}
}

func newCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "override"}
	cmd.Flags().StringP("namespace", "n", "", "")
	return cmd
}

func TestHelmReleaseNames(t *testing.T) {
	list := func(dir string) ([]HelmRelease, error) {
		if dir != "/repo" {
			t.Errorf("lister got dir %q, want /repo", dir)
		}
		return []HelmRelease{
			{Name: "sample-app", Namespace: "staging", Path: "a.yaml"},
			{Name: "sample-api", Namespace: "prod", Path: "b.yaml"},
			{Name: "other", Namespace: "prod", Path: "b.yaml"},
		}, nil
	}
	dir := func(*cobra.Command) string { return "/repo" }
	fn := HelmReleaseNames(list, dir)

	tests := []struct {
		name       string
		args       []string
		toComplete string
		namespace  string
		want       []cobra.Completion
	}{
		{name: "prefix", toComplete: "sample", want: []cobra.Completion{
			"sample-api\tnamespace prod, b.yaml", "sample-app\tnamespace staging, a.yaml"}},
		{name: "namespace filter", toComplete: "", namespace: "prod", want: []cobra.Completion{
			"other\tnamespace prod, b.yaml", "sample-api\tnamespace prod, b.yaml"}},
		{name: "second argument gets nothing", args: []string{"sample-app"}, want: nil},
		{name: "no match", toComplete: "zzz", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := newCmd()
			if tt.namespace != "" {
				if err := cmd.Flags().Set("namespace", tt.namespace); err != nil {
					t.Fatal(err)
				}
			}
			got, directive := fn(cmd, tt.args, tt.toComplete)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if directive != cobra.ShellCompDirectiveNoFileComp {
				t.Errorf("directive %v, want NoFileComp", directive)
			}
		})
	}
}

func TestHelmReleaseNamesListerError(t *testing.T) {
	fn := HelmReleaseNames(func(string) ([]HelmRelease, error) { return nil, errors.New("boom") }, RepoDir)
	got, directive := fn(newCmd(), nil, "")
	if got != nil || directive != cobra.ShellCompDirectiveNoFileComp {
		t.Errorf("got %q %v, want no candidates and NoFileComp", got, directive)
	}
}

func TestRepoDir(t *testing.T) {
	cmd := &cobra.Command{Use: "x"}
	if got := RepoDir(cmd); got != "." {
		t.Errorf("no flag: got %q, want .", got)
	}
	cmd.Flags().String("repo", "", "")
	if err := cmd.Flags().Set("repo", "/gitops"); err != nil {
		t.Fatal(err)
	}
	if got := RepoDir(cmd); got != "/gitops" {
		t.Errorf("--repo: got %q, want /gitops", got)
	}
}

func TestNamespaces(t *testing.T) {
	client := fake.NewClientset(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "staging"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "prod"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "flux-system"}},
	)
	fn := Namespaces(&kubefake.Factory{Kube: client})
	got, directive := fn(newCmd(), nil, "")
	if want := []cobra.Completion{"flux-system", "prod", "staging"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if directive != cobra.ShellCompDirectiveNoFileComp {
		t.Errorf("directive %v, want NoFileComp", directive)
	}
	got, _ = fn(newCmd(), nil, "st")
	if want := []cobra.Completion{"staging"}; !reflect.DeepEqual(got, want) {
		t.Errorf("prefix st: got %q, want %q", got, want)
	}
}

func TestNamespacesNoCluster(t *testing.T) {
	fn := Namespaces(&kubefake.Factory{Err: errors.New("no kubeconfig")})
	got, directive := fn(newCmd(), nil, "")
	if got != nil || directive != cobra.ShellCompDirectiveNoFileComp {
		t.Errorf("got %q %v, want no candidates and NoFileComp", got, directive)
	}
}

func TestEnvironments(t *testing.T) {
	fn := Environments(func(dir string) ([]string, error) {
		return []string{"staging", "prod", "preview"}, nil
	}, RepoDir)
	got, _ := fn(newCmd(), nil, "pr")
	if want := []cobra.Completion{"preview", "prod"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
