package gitrepo

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestOpen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := Open(ctx, dir); !errors.Is(err, ErrNotRepo) {
		t.Fatalf("Open(non-repo) = %v, want ErrNotRepo", err)
	}
	if out, err := exec.Command("git", "init", "-q", dir).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v: %s", err, out)
	}
	sub := filepath.Join(dir, "a", "b")
	if err := exec.Command("mkdir", "-p", sub).Run(); err != nil {
		t.Fatal(err)
	}
	r, err := Open(ctx, sub)
	if err != nil {
		t.Fatalf("Open(subdir): %v", err)
	}
	want, _ := filepath.EvalSymlinks(dir)
	if r.Root != want {
		t.Fatalf("Root = %q, want %q", r.Root, want)
	}
	if _, err := r.Git(ctx, "rev-parse", "--verify", "nope"); err == nil {
		t.Fatal("expected an error for an unknown revision")
	} else {
		var ge *Error
		if !errors.As(err, &ge) || ge.Stderr == "" {
			t.Fatalf("error %v should carry git's stderr", err)
		}
	}
}

// A git that succeeds but leaves a process holding its output pipes (a
// detached auto gc after a push) is a success, with what git wrote: under
// load, 60 concurrent pushes failed one with "exec: WaitDelay expired".
func TestGitLeavingABackgroundProcessSucceeds(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command("git", "init", "-q", dir).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	r := &Repo{Root: dir}
	// The alias runs a shell that prints and leaves a sleep behind, which
	// keeps stdout open for 3 s after git has exited (WaitDelay is 300 ms).
	out, err := r.Git(context.Background(), "-c", "alias.bg=!sh -c 'sleep 3 & echo done'", "bg")
	if err != nil {
		t.Fatalf("git exited 0 and left a process behind: %v", err)
	}
	if out != "done\n" {
		t.Errorf("output %q, want %q", out, "done\n")
	}
}
