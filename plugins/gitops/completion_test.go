package gitops

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
)

// The scripts must name the executable the shell runs, never the root's
// Use ("gitops"), which is what cobra's default command would write.
func TestCompletionScriptsNameTheProgram(t *testing.T) {
	for _, tt := range []struct{ display, program string }{
		{"kubectl gitops", "kubectl-gitops"},
		{"flux gitops", "flux-gitops"},
	} {
		for shell, marker := range map[string]string{
			"bash":       "-F __start_" + tt.program + " " + tt.program,
			"zsh":        "#compdef " + tt.program,
			"fish":       "complete -c " + tt.program,
			"powershell": "Register-ArgumentCompleter -CommandName '" + tt.program + "'",
		} {
			out, _, err := run(t, tt.display, "completion", shell)
			if err != nil {
				t.Fatalf("%s completion %s: %v", tt.display, shell, err)
			}
			if !strings.Contains(out, marker) {
				t.Errorf("%s completion %s lacks %q", tt.display, shell, marker)
			}
			if !strings.Contains(out, "__complete") {
				t.Errorf("%s completion %s does not call __complete", tt.display, shell)
			}
			if strings.Contains(out, "__start_gitops") || strings.Contains(out, "#compdef gitops\n") {
				t.Errorf("%s completion %s names the bare root command 'gitops'", tt.display, shell)
			}
		}
	}
}

func TestCompletionUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"completion"}, {"completion", "tcsh"}, {"completion", "bash", "zsh"}} {
		_, _, err := run(t, "kubectl gitops", args...)
		if code := exitcode.From(err); code != exitcode.Usage {
			t.Errorf("%v: exit %d (%v), want %d", args, code, err, exitcode.Usage)
		}
	}
}

func TestCompleteSubcommandsAndShells(t *testing.T) {
	out, _, err := run(t, "kubectl gitops", "__complete", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"override\t", "promote\t", "trace\t", "version\t", "completion\t"} {
		if !strings.Contains(out, "\n"+want) && !strings.HasPrefix(out, want) {
			t.Errorf("__complete '' lacks %q:\n%s", want, out)
		}
	}
	out, _, err = run(t, "kubectl gitops", "__complete", "completion", "")
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); strings.Join(lines[:len(lines)-1], ",") != "bash,zsh,fish,powershell" {
		t.Errorf("__complete completion '': got\n%s", out)
	}
}

// HelmRelease names come from the repo in the working directory (or
// --repo, once a command has one).
func TestCompleteHelmReleaseNames(t *testing.T) {
	dir := t.TempDir()
	for file, content := range map[string]string{
		"staging/app.yaml": "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: sample-app\n  namespace: staging\n",
		"prod/api.yaml":    "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: sample-api\n  namespace: prod\n",
	} {
		p := filepath.Join(dir, file)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	for _, args := range [][]string{{"override"}, {"promote"}, {"promote", "status"}, {"trace", "--helmrelease"}} {
		out, _, err := run(t, "kubectl gitops", append(append([]string{"__complete"}, args...), "sample-a")...)
		if err != nil {
			t.Fatal(err)
		}
		want := "sample-api\tnamespace prod, prod/api.yaml\nsample-app\tnamespace staging, staging/app.yaml\n:4\n"
		if !strings.HasPrefix(out, want) {
			t.Errorf("__complete %v sample-a:\n got %q\nwant prefix %q", args, out, want)
		}
		out, _, err = run(t, "kubectl gitops", append(append([]string{"__complete", "-n", "prod"}, args...), "")...)
		if err != nil {
			t.Fatal(err)
		}
		want = "sample-api\tnamespace prod, prod/api.yaml\n:4\n"
		if len(args) == 1 && args[0] == "promote" {
			// The status subcommand is offered with the names.
			want = "status\tPrint each environment's chart source, version and differing values\n" + want
		}
		if !strings.HasPrefix(out, want) {
			t.Errorf("__complete -n prod %v '':\n got %q\nwant prefix %q", args, out, want)
		}
	}
}

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// In a Git checkout, completion reads the model of what the environments
// apply: a namespace set by a kustomization counts, a file no environment
// includes does not, and --repo points at another checkout.
func TestCompleteFromGitCheckout(t *testing.T) {
	repo := t.TempDir()
	files := map[string]string{
		"apps/staging/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: staging\nresources: [release.yaml]\n",
		"apps/staging/release.yaml":       "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: sample-app\n",
		"apps/prod/release.yaml":          "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: sample-app\n  namespace: prod\n",
		".gitops.yaml":                    "environments:\n  - name: staging\n    paths: [apps/staging]\n  - name: prod\n    paths: [apps/prod]\n",
	}
	for file, content := range files {
		p := filepath.Join(repo, file)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git(t, repo, "init", "-q", "-b", "main")
	git(t, repo, "add", ".")
	git(t, repo, "commit", "-q", "-m", "init")
	if err := os.WriteFile(filepath.Join(repo, "untracked.yaml"), []byte("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: sample-untracked\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir()) // not a checkout: --repo must be what counts

	out, _, err := run(t, "kubectl gitops", "__complete", "override", "--repo", repo, "sample")
	if err != nil {
		t.Fatal(err)
	}
	want := "sample-app\tnamespace prod, apps/prod/release.yaml\nsample-app\tnamespace staging, apps/staging/release.yaml\n:4\n"
	if !strings.HasPrefix(out, want) {
		t.Errorf("__complete override --repo R sample:\n got %q\nwant prefix %q", out, want)
	}
	for _, flag := range []string{"--from", "--to"} {
		out, _, err = run(t, "kubectl gitops", "__complete", "promote", "--repo", repo, flag, "")
		if err != nil {
			t.Fatal(err)
		}
		if want := "prod\nstaging\n:4\n"; !strings.HasPrefix(out, want) {
			t.Errorf("__complete promote %s '':\n got %q\nwant prefix %q", flag, out, want)
		}
	}
}

// Without a reachable cluster, -n completion offers nothing and says so to
// the shell (NoFileComp) instead of hanging or printing an error.
func TestCompleteNamespaceWithoutCluster(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "config")
	// Port 1 on loopback refuses at once; nothing listens there.
	cfg := `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
users: [{name: u, user: {token: t}}]
current-context: c
`
	if err := os.WriteFile(kubeconfig, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err := run(t, "kubectl gitops", "__complete", "--kubeconfig", kubeconfig, "version", "-n", "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, ":4\n") {
		t.Errorf("__complete -n '' without a cluster: got %q, want only the :4 directive", out)
	}
}
