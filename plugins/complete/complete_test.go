package complete

import (
	"errors"
	"reflect"
	"testing"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/kubectl-gitops/kubectl-gitops/internal/completion"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kube/kubefake"
)

func newCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "override"}
	cmd.Flags().StringP("namespace", "n", "", "")
	return cmd
}

func TestHelmReleaseNames(t *testing.T) {
	list := func(dir string) ([]completion.HelmRelease, error) {
		if dir != "/repo" {
			t.Errorf("lister got dir %q, want /repo", dir)
		}
		return []completion.HelmRelease{
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
	fn := HelmReleaseNames(func(string) ([]completion.HelmRelease, error) { return nil, errors.New("boom") }, RepoDir)
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
