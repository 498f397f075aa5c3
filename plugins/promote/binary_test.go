package promote

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
)

func TestMain(m *testing.M) { os.Exit(binarytest.Main(m)) }

// runBinary runs the built kubectl-gitops in dir as a user would: a
// cleared environment with a fresh HOME and a Git identity.
func runBinary(t *testing.T, dir string, args ...string) binarytest.Result {
	t.Helper()
	env := binarytest.Env(t.TempDir(), "Promoter", "promoter@example.com")
	if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--validate") || a == "--status" }) {
		// The example's sources point at github.com: validation is tested
		// in check_test.go against a local chart repository.
		args = append(args, "--validate=false")
	}
	return binarytest.Run(t, env, dir, binarytest.Build(t), args...)
}

func TestBinaryPushAndTrailers(t *testing.T) {
	work, remote := fixtureRepo(t, "../../examples/flux-multi-env")
	r := runBinary(t, work, "promote", "sample-app", "--from", "staging", "--to", "production", "--values", "image.tag", "--push")
	if r.ExitCode != 0 {
		t.Fatalf("exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	if !strings.Contains(r.Stdout, "Pushed ") || !strings.Contains(r.Stdout, "origin/main") {
		t.Fatalf("stdout does not report the push:\n%s", r.Stdout)
	}
	trailers := git(t, remote, "log", "-1", "--format=%(trailers:only,unfold)", "main")
	src := strings.TrimSpace(git(t, work, "rev-parse", "HEAD~1"))
	for _, want := range []string{"Promoted-From: staging", "Promoted-To: production", "Promoted-Version: tag v0.1.3",
		"Promoted-HelmRelease: sample-app-production/sample-app", "Promoted-Source-Commit: " + src} {
		if !strings.Contains(trailers, want) {
			t.Errorf("remote commit trailers lack %q:\n%s", want, trailers)
		}
	}
	if got := git(t, remote, "show", "main:apps/production/sample-app-source.yaml"); !strings.Contains(got, "tag: v0.1.3\n") {
		t.Fatalf("the remote does not have the promoted tag:\n%s", got)
	}
	// Promoting again is a no-op that says so and exits 0.
	r = runBinary(t, work, "promote", "sample-app", "--from", "staging", "--to", "production", "--values", "image.tag", "--push")
	if r.ExitCode != 0 || !strings.Contains(r.Stdout, "nothing to promote") {
		t.Fatalf("second promotion: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	if n := strings.TrimSpace(git(t, remote, "rev-list", "--count", "main")); n != "2" {
		t.Fatalf("remote has %s commits, want 2 (no empty commit for a no-op)", n)
	}
}

func TestBinaryPushRebasesOnAMovedRemote(t *testing.T) {
	work, remote := fixtureRepo(t, "../../examples/flux-multi-env")
	// Someone else changes staging and pushes first.
	other := filepath.Join(t.TempDir(), "other")
	git(t, filepath.Dir(other), "clone", "-q", remote, other)
	replaceIn(t, other, "apps/staging/sample-app-values.yaml", "replicaCount: 2", "replicaCount: 4")
	git(t, other, "commit", "-q", "-am", "staging: 4 replicas")
	git(t, other, "push", "-q", "origin", "main")

	r := runBinary(t, work, "promote", "sample-app", "--from", "staging", "--to", "production", "--push")
	if r.ExitCode != 0 {
		t.Fatalf("exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	if !strings.Contains(r.Stderr, "promoted again on top") {
		t.Fatalf("stderr does not mention the rebase:\n%s", r.Stderr)
	}
	log := git(t, remote, "log", "--format=%s", "main")
	if !strings.HasPrefix(log, "Promote sample-app to production: tag v0.1.3 (from staging)\nstaging: 4 replicas\n") {
		t.Fatalf("remote history:\n%s", log)
	}
}

func TestBinaryBranchPrintsRequestURL(t *testing.T) {
	work, remote := fixtureRepo(t, "../../examples/flux-multi-env")
	// The remote looks like GitHub to the user; git is told to use the
	// local bare repository for it, so nothing leaves the machine.
	git(t, work, "remote", "set-url", "origin", "https://github.com/acme/fleet.git")
	git(t, work, "config", "url."+remote+".insteadOf", "https://github.com/acme/fleet.git")
	mainBefore := git(t, work, "rev-parse", "main")

	r := runBinary(t, work, "promote", "sample-app", "--from", "staging", "--to", "production", "--branch", "promote/sample-app-v0.1.3")
	if r.ExitCode != 0 {
		t.Fatalf("exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	want := "Open a pull/merge request: https://github.com/acme/fleet/compare/main...promote/sample-app-v0.1.3?expand=1\n"
	if !strings.Contains(r.Stdout, want) {
		t.Fatalf("stdout lacks %q:\n%s", want, r.Stdout)
	}
	if b := strings.TrimSpace(git(t, work, "symbolic-ref", "--short", "HEAD")); b != "main" {
		t.Fatalf("checked out %s after --branch, want main", b)
	}
	if git(t, work, "rev-parse", "main") != mainBefore || git(t, work, "status", "--porcelain") != "" {
		t.Fatal("main or the work tree changed: the promotion belongs on the branch only")
	}
	if got := git(t, remote, "show", "promote/sample-app-v0.1.3:apps/production/sample-app-source.yaml"); !strings.Contains(got, "tag: v0.1.3\n") {
		t.Fatalf("the pushed branch lacks the promotion:\n%s", got)
	}
	// The same branch name again is refused, and nothing changes.
	r = runBinary(t, work, "promote", "sample-app", "--from", "staging", "--to", "production", "--branch", "promote/sample-app-v0.1.3")
	if r.ExitCode != 6 || !strings.Contains(r.Stderr, "already exists") {
		t.Fatalf("reusing the branch: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
}

func TestBinaryDryRunAndNoCommit(t *testing.T) {
	work, _ := fixtureRepo(t, "../../examples/flux-multi-env")
	head := git(t, work, "rev-parse", "HEAD")
	r := runBinary(t, work, "promote", "sample-app", "--from", "staging", "--to", "production", "--dry-run")
	if r.ExitCode != 0 || !strings.Contains(r.Stdout, "+    tag: v0.1.3") || !strings.Contains(r.Stdout, "Dry run: nothing written.") {
		t.Fatalf("dry run: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	if git(t, work, "status", "--porcelain") != "" || git(t, work, "rev-parse", "HEAD") != head {
		t.Fatal("--dry-run changed the checkout")
	}
	r = runBinary(t, work, "promote", "sample-app", "--from", "staging", "--to", "production", "--no-commit")
	if r.ExitCode != 0 {
		t.Fatalf("--no-commit: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	if s := git(t, work, "status", "--porcelain"); s != " M apps/production/sample-app-source.yaml\n" || git(t, work, "rev-parse", "HEAD") != head {
		t.Fatalf("--no-commit: status %q", s)
	}
	// Now the target file is dirty: a real promotion is refused.
	r = runBinary(t, work, "promote", "sample-app", "--from", "staging", "--to", "production", "--version", "v0.1.4")
	if r.ExitCode != 6 || !strings.Contains(r.Stderr, "uncommitted changes") {
		t.Fatalf("dirty target: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
}

func TestBinaryExitCodes(t *testing.T) {
	work, _ := fixtureRepo(t, "../../examples/flux-multi-env")
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"promote", "sample-app", "--from", "staging", "--to", "qa"}, 3, "known environments are staging, production"},
		{[]string{"promote", "sample-app", "--from", "staging"}, 2, "missing --to"},
		{[]string{"promote", "--status", "-o", "table"}, 2, "unknown output format"},
		{[]string{"promote", "sample-app", "--from", "production", "--to", "staging"}, 6, "--allow-downgrade"},
	} {
		r := runBinary(t, work, tc.args...)
		if r.ExitCode != tc.code || !strings.Contains(r.Stderr, tc.says) {
			t.Errorf("%v: exit %d, want %d saying %q\n%s%s", tc.args, r.ExitCode, tc.code, tc.says, r.Stdout, r.Stderr)
		}
	}
	if s := git(t, work, "status", "--porcelain"); s != "" {
		t.Fatalf("bad input changed the checkout:\n%s", s)
	}
}
