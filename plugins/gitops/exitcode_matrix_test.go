package gitops_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/plugins/plugintest"
)

// Every shared error class exits with the same code from every command it
// can reach, through the real root command: the errors own their codes
// (internal/exitcode), so no command can give the same fact another one.
// The classes are README's "Exit codes".
func TestExitCodeMatrix(t *testing.T) {
	env := binarytest.Env(t.TempDir(), "Matrix", "matrix@example.com")
	// fixture is a committed, pushed copy of the multi-env example; prep
	// (if any) changes it for one class.
	fixture := func(prep func(work string)) string {
		work := filepath.Join(t.TempDir(), "work")
		binarytest.CopyTree(t, "../../examples/flux-multi-env", work)
		binarytest.Commit(t, env, work, "init")
		binarytest.Publish(t, env, work)
		if prep != nil {
			prep(work)
		}
		return work
	}
	write := func(path, content string) {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	notRepo := t.TempDir()
	big := filepath.Join(t.TempDir(), "big.yaml")
	write(big, "a: "+strings.Repeat("x", 4096)+"\n")

	promote := []string{"promote", "sample-app", "--from", "staging", "--to", "production"}
	classes := []struct {
		name string
		code exitcode.Code
		// says is in every run's stderr: the run failed for this class.
		says string
		prep func(work string)
		runs [][]string
	}{
		{name: "unknown flag", says: "unknown flag", code: exitcode.Usage, runs: [][]string{
			{"override", "sample-app", "--set", "a=1", "--no-such-flag"},
			append(promote, "--no-such-flag"),
			{"promote", "status", "--no-such-flag"},
			{"trace", "--no-such-flag"},
			{"diff", "--no-such-flag"},
			{"version", "--no-such-flag"},
		}},
		{name: "too many arguments", says: "for usage", code: exitcode.Usage, runs: [][]string{
			{"override", "sample-app", "other", "--set", "a=1"},
			{"promote", "sample-app", "other", "--from", "staging", "--to", "production"},
			{"promote", "status", "a", "b"},
			{"trace", "HEAD", "HEAD~1"},
			{"diff", "main..HEAD", "x"},
			{"version", "x"},
			{"no-such-command"},
		}},
		{name: "unknown output format", says: "bogus", code: exitcode.Usage, runs: [][]string{
			{"override", "sample-app", "-n", "sample-app-staging", "--set", "a=1", "-o", "bogus"},
			{"promote", "status", "-o", "bogus"},
			{"trace", "-o", "bogus"},
			{"diff", "-o", "bogus"},
			{"version", "-o", "bogus"},
		}},
		{name: "--repo is not a checkout", says: "not a git repository", code: exitcode.Usage, runs: [][]string{
			{"override", "sample-app", "--set", "a=1", "--repo", notRepo},
			append(promote, "--repo", notRepo),
			{"promote", "status", "--repo", notRepo},
			{"trace", "--repo", notRepo},
			{"trace", "--env", "staging", "--gitops-repo", notRepo},
			{"diff", "--repo", notRepo},
		}},
		{name: "unknown environment", says: "qa", code: exitcode.NotFound, runs: [][]string{
			{"override", "sample-app", "--env", "qa", "--set", "a=1"},
			{"promote", "sample-app", "--from", "staging", "--to", "qa"},
			{"promote", "sample-app", "--from", "qa", "--to", "production"},
			{"trace", "--env", "qa"},
		}},
		{name: "unknown revision", says: "unknown revision", code: exitcode.NotFound, runs: [][]string{
			{"trace", "no-such-revision"},
			{"diff", "no-such-revision..HEAD"},
			{"diff", "main..no-such-revision"},
			{"diff", "--base", "no-such-revision"},
		}},
		{name: "HelmRelease not found", says: "sample-ap", code: exitcode.NotFound, runs: [][]string{
			{"override", "sample-ap", "--set", "a=1"},
			{"override", "sample-ap", "--env", "staging", "--set", "a=1"},
			{"promote", "sample-ap", "--from", "staging", "--to", "production"},
		}},
		// Each environment's patch sets replicaCount (a key no patch sets
		// is the base's, for both: not ambiguous).
		{name: "ambiguous HelmRelease", says: "pick one with --env", code: exitcode.Conflict, runs: [][]string{
			{"override", "sample-app", "--set", "replicaCount=1"},
		}},
		{name: "bad .gitops.yaml", says: "invalid YAML", code: exitcode.Usage, prep: func(work string) {
			write(filepath.Join(work, ".gitops.yaml"), "environments: [\n")
		}, runs: [][]string{
			append(promote, "--dry-run"),
			{"promote", "status"},
			{"trace", "--env", "staging"},
		}},
		{name: "uncommitted change in the file to edit", says: "uncommitted changes", code: exitcode.Conflict, prep: func(work string) {
			for _, e := range []string{"staging", "production"} {
				p := filepath.Join(work, "apps", e, "sample-app-values.yaml")
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				write(p, string(b)+"# local edit\n")
			}
		}, runs: [][]string{
			{"override", "sample-app", "-n", "sample-app-staging", "--set", "replicaCount=3"},
			{"override", "sample-app", "--env", "staging", "--set", "replicaCount=3"},
			{"promote", "sample-app", "--from", "staging", "--to", "production", "--values", "replicaCount"},
		}},
		{name: "input above --max-input-size", says: "--max-input-size", code: exitcode.Usage, runs: [][]string{
			{"override", "sample-app", "-n", "sample-app-staging", "-f", big, "--max-input-size", "1Ki"},
			{"override", "sample-app", "--env", "staging", "-f", big, "--max-input-size", "1Ki"},
		}},
	}
	for _, c := range classes {
		t.Run(c.name, func(t *testing.T) {
			work := fixture(c.prep)
			for _, args := range c.runs {
				r := plugintest.Run(t, plugintest.Env{Dir: work}, args...)
				if r.Code != c.code || !strings.Contains(r.Stderr, c.says) {
					t.Errorf("%s: exit %d, want %d saying %q\n%s%s", strings.Join(args, " "), r.Code, c.code, c.says, r.Stdout, r.Stderr)
				}
			}
		})
	}
}
