package promote_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/plugins/plugintest"
)

// `promote status` is the subcommand; `promote --status` stays as its
// alias and prints the same, in-process through the root command.
func TestStatusSubcommandAndAlias(t *testing.T) {
	env := binarytest.Env(t.TempDir(), "Setup", "setup@example.com")
	work := filepath.Join(t.TempDir(), "work")
	binarytest.CopyTree(t, "../../examples/flux-multi-env", work)
	binarytest.Commit(t, env, work, "init")

	for _, args := range [][]string{nil, {"sample-app", "-o", "json"}, {"-o", "yaml"}} {
		sub := plugintest.Run(t, plugintest.Env{Dir: work}, append([]string{"promote", "status"}, args...)...)
		alias := plugintest.Run(t, plugintest.Env{Dir: work}, append([]string{"promote", "--status"}, args...)...)
		if sub.Code != exitcode.OK || sub.Stdout == "" || !strings.Contains(sub.Stdout, "sample-app-production") {
			t.Fatalf("promote status %v: exit %d\n%s%s", args, sub.Code, sub.Stdout, sub.Stderr)
		}
		if sub != alias {
			t.Errorf("promote status %v and promote --status differ:\n%s%s\n---\n%s%s", args, sub.Stdout, sub.Stderr, alias.Stdout, alias.Stderr)
		}
	}
	// --repo works on the subcommand too, from anywhere.
	if r := plugintest.Run(t, plugintest.Env{Dir: t.TempDir()}, "promote", "status", "--repo", work); r.Code != exitcode.OK {
		t.Errorf("status --repo: exit %d\n%s", r.Code, r.Stderr)
	}
	for _, tc := range []struct {
		args []string
		code exitcode.Code
		says string
	}{
		{[]string{"promote", "status", "--from", "staging"}, exitcode.Usage, "unknown flag: --from"},
		{[]string{"promote", "status", "-o", "table"}, exitcode.Usage, "unknown output format"},
		{[]string{"promote", "status", "sample-ap"}, exitcode.NotFound, "did you mean sample-app?"},
		{[]string{"promote", "status", "a", "b"}, exitcode.Usage, "accepts at most 1 arg"},
	} {
		r := plugintest.Run(t, plugintest.Env{Dir: work}, tc.args...)
		if r.Code != tc.code || !strings.Contains(r.Stderr, tc.says) {
			t.Errorf("%v: exit %d, want %d saying %q\n%s%s", tc.args, r.Code, tc.code, tc.says, r.Stdout, r.Stderr)
		}
	}
}
