package main

import (
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
)

// A --repo that is not a Git checkout is a usage error (exit 2) for every
// command: the flag is what to fix. gitrepo.ErrNotRepo carries that code.
func TestRepoAtANonRepositoryIsUsageForEveryCommand(t *testing.T) {
	env := binarytest.Env(t.TempDir(), "Exit", "exit@example.com")
	notRepo := t.TempDir()
	for _, args := range [][]string{
		{"override", "sample-app", "--set", "a=1", "--repo", notRepo},
		{"promote", "sample-app", "--from", "staging", "--to", "production", "--repo", notRepo},
		{"promote", "--status", "--repo", notRepo},
		{"trace", "--repo", notRepo},
	} {
		r := binarytest.Run(t, env, notRepo, binarytest.Build(t), args...)
		if r.ExitCode != 2 || !strings.Contains(r.Stderr, "not a git repository") || !strings.Contains(r.Stderr, "--repo") {
			t.Errorf("%v: exit %d, want 2 saying it is not a git repository\n%s%s", args, r.ExitCode, r.Stdout, r.Stderr)
		}
	}
}
