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
