package promote

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// binary builds kubectl-gitops once per test run: these tests run it as a
// user would, in a cleared environment.
func binary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kubectl-gitops-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "kubectl-gitops")
		out, err := exec.Command("go", "build", "-o", binPath, "../../cmd/kubectl-gitops").CombinedOutput()
		if err != nil {
			binErr = errors.New(string(out))
		}
	})
	if binErr != nil {
		t.Fatalf("building the binary: %v", binErr)
	}
	return binPath
}

type result struct {
	stdout, stderr string
	code           int
}

func runBinary(t *testing.T, dir string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Dir = dir
	home := t.TempDir()
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home,
		"GIT_AUTHOR_NAME=Promoter", "GIT_AUTHOR_EMAIL=promoter@example.com",
		"GIT_COMMITTER_NAME=Promoter", "GIT_COMMITTER_EMAIL=promoter@example.com",
		"GIT_CONFIG_NOSYSTEM=1", "KUBECONFIG=" + filepath.Join(home, "no-kubeconfig"),
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errOut.String(), code}
}

func TestBinaryPushAndTrailers(t *testing.T) {
	work, remote := fixtureRepo(t, "../../examples/flux-multi-env")
	r := runBinary(t, work, "promote", "sample-app", "--from", "staging", "--to", "production", "--values", "image.tag", "--push")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "Pushed ") || !strings.Contains(r.stdout, "origin/main") {
		t.Fatalf("stdout does not report the push:\n%s", r.stdout)
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
	if r.code != 0 || !strings.Contains(r.stdout, "nothing to promote") {
		t.Fatalf("second promotion: exit %d\n%s%s", r.code, r.stdout, r.stderr)
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
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, "rebased the promotion") {
		t.Fatalf("stderr does not mention the rebase:\n%s", r.stderr)
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
	if r.code != 0 {
		t.Fatalf("exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	want := "Open a pull/merge request: https://github.com/acme/fleet/compare/main...promote/sample-app-v0.1.3?expand=1\n"
	if !strings.Contains(r.stdout, want) {
		t.Fatalf("stdout lacks %q:\n%s", want, r.stdout)
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
	if r.code != 6 || !strings.Contains(r.stderr, "already exists") {
		t.Fatalf("reusing the branch: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestBinaryDryRunAndNoCommit(t *testing.T) {
	work, _ := fixtureRepo(t, "../../examples/flux-multi-env")
	head := git(t, work, "rev-parse", "HEAD")
	r := runBinary(t, work, "promote", "sample-app", "--from", "staging", "--to", "production", "--dry-run")
	if r.code != 0 || !strings.Contains(r.stdout, "+    tag: v0.1.3") || !strings.Contains(r.stdout, "Dry run: nothing written.") {
		t.Fatalf("dry run: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if git(t, work, "status", "--porcelain") != "" || git(t, work, "rev-parse", "HEAD") != head {
		t.Fatal("--dry-run changed the checkout")
	}
	r = runBinary(t, work, "promote", "sample-app", "--from", "staging", "--to", "production", "--no-commit")
	if r.code != 0 {
		t.Fatalf("--no-commit: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if s := git(t, work, "status", "--porcelain"); s != " M apps/production/sample-app-source.yaml\n" || git(t, work, "rev-parse", "HEAD") != head {
		t.Fatalf("--no-commit: status %q", s)
	}
	// Now the target file is dirty: a real promotion is refused.
	r = runBinary(t, work, "promote", "sample-app", "--from", "staging", "--to", "production", "--version", "v0.1.4")
	if r.code != 6 || !strings.Contains(r.stderr, "uncommitted changes") {
		t.Fatalf("dirty target: exit %d\n%s%s", r.code, r.stdout, r.stderr)
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
		if r.code != tc.code || !strings.Contains(r.stderr, tc.says) {
			t.Errorf("%v: exit %d, want %d saying %q\n%s%s", tc.args, r.code, tc.code, tc.says, r.stdout, r.stderr)
		}
	}
	if s := git(t, work, "status", "--porcelain"); s != "" {
		t.Fatalf("bad input changed the checkout:\n%s", s)
	}
}
