//go:build unix

package override_test

import (
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
)

// TestKillLeavesCheckoutIntact kills the binary with SIGKILL at random
// moments of 50 runs, alternately committing on a new --branch and on the
// current branch, and checks after each that the checkout is on its
// branch, no index.lock is left, and no temporary file sits in the work
// tree (where a later `git add -A` would commit it). A last run then
// works, and the work trees interrupted runs left under .git are gone.
func TestKillLeavesCheckoutIntact(t *testing.T) {
	_, clones := setup(t, 1, nil)
	dir := clones[0]
	bin := binarytest.Build(t)
	e := env(filepath.Dir(dir))
	start := func(args ...string) *exec.Cmd {
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Env = dir, e
		// Its own process group, to wait for the git processes the
		// binary started, which outlive it.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	args := func(i int) []string {
		a := []string{"override", "sample-app", "--set", "replicaCount=" + strconv.Itoa(10+i), "--validate=false"}
		if i%2 == 0 {
			a = append(a, "--branch", "crash-"+strconv.Itoa(i))
		}
		return a
	}
	// A stale index.lock: the dry run predicts the real run's refusal, and
	// neither writes anything.
	lock := filepath.Join(dir, ".git", "index.lock")
	writeFile(t, lock, "")
	for _, extra := range [][]string{{"--dry-run"}, nil} {
		r := run(t, dir, append(args(0), extra...)...)
		if r.ExitCode != 6 || !strings.Contains(r.Stderr, "index.lock exists") || !strings.Contains(r.Stderr, "remove it, then run again") {
			t.Errorf("%v with index.lock: exit %d\n%s", extra, r.ExitCode, r.Stderr)
		}
	}
	if err := os.Remove(lock); err != nil {
		t.Fatal(err)
	}
	if st := git(t, dir, "status", "--porcelain", "--untracked-files=all"); st != "" {
		t.Fatalf("a refused run changed the checkout:\n%s", st)
	}
	// How long a whole run takes, to kill within it.
	t0 := time.Now()
	if err := start(args(0)...).Wait(); err != nil {
		t.Fatalf("a full run failed: %v", err)
	}
	full := time.Since(t0)
	seed := uint64(time.Now().UnixNano())
	t.Logf("a full run takes %s; seed %d", full, seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	const runs = 50
	for i := 1; i <= runs; i++ {
		cmd := start(args(i)...)
		at := time.Duration(rng.Int64N(int64(full)))
		time.Sleep(at)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		// The git processes it started finish on their own: each runs in
		// a process group of its own (so that a cancel can interrupt its
		// helpers), so they are found by their working directory.
		waitForProcessesIn(t, dir)
		if head := git(t, dir, "symbolic-ref", "--short", "HEAD"); head != "main" {
			t.Fatalf("run %d killed after %s: the checkout is on %s, not main", i, at, head)
		}
		if _, err := os.Stat(filepath.Join(dir, ".git", "index.lock")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("run %d killed after %s: .git/index.lock is left", i, at)
		}
		status := git(t, dir, "status", "--porcelain", "--untracked-files=all")
		for _, line := range strings.Split(status, "\n") {
			if strings.HasPrefix(line, "??") {
				t.Fatalf("run %d killed after %s: %s is left in the work tree", i, at, line)
			}
		}
		if i%2 == 0 && status != "" {
			t.Fatalf("run %d (--branch) killed after %s changed the checkout:\n%s", i, at, status)
		}
		// A run on main may have written without committing: start the
		// next one from a clean checkout.
		git(t, dir, "checkout", "-q", "--", ".")
	}
	r := run(t, dir, "override", "sample-app", "--set", "replicaCount=99", "--validate=false", "--branch", "after-crashes")
	if r.ExitCode != 0 {
		t.Fatalf("the run after the crashes: exit %d\n%s", r.ExitCode, r.Stderr)
	}
	if wt := git(t, dir, "worktree", "list", "--porcelain"); strings.Count(wt, "worktree ") != 1 {
		t.Errorf("work trees left behind:\n%s", wt)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".git", "kubectl-gitops", "*")); len(left) > 0 {
		t.Errorf("scratch files left behind: %v", left)
	}
}

// waitForProcessesIn waits until no process works in dir (Linux: the cwd
// link of each /proc entry), for the git processes a killed binary leaves
// to finish; it fails t after a minute.
func waitForProcessesIn(t *testing.T, dir string) {
	t.Helper()
	dir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		busy := ""
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			if _, err := strconv.Atoi(e.Name()); err != nil {
				continue
			}
			cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
			if err == nil && (cwd == dir || strings.HasPrefix(cwd, dir+string(filepath.Separator))) {
				busy = e.Name()
				break
			}
		}
		if busy == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %s still works in %s a minute after the kill", busy, dir)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
