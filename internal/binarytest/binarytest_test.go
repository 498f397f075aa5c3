package binarytest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	env := Env(dir, "T", "t@example.com")
	r := Run(t, env, dir, "sh", "-c", `pwd; echo "$HOME $GIT_AUTHOR_NAME $KUBECONFIG ${GOFLAGS:-unset}"; echo oops >&2; exit 3`)
	if r.ExitCode != 3 || r.Stderr != "oops\n" {
		t.Fatalf("exit %d, stderr %q", r.ExitCode, r.Stderr)
	}
	want := dir + "\n" + dir + " T " + filepath.Join(dir, "no-kubeconfig") + " unset\n"
	if r.Stdout != want {
		t.Fatalf("stdout %q, want %q: the run must see only Env's variables", r.Stdout, want)
	}
	if r.Wall <= 0 {
		t.Fatalf("wall time %v", r.Wall)
	}
}

func TestPublish(t *testing.T) {
	env := Env(t.TempDir(), "T", "t@example.com")
	src := t.TempDir()
	if err := os.MkdirAll(filepath.Join(src, "apps"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "apps", "a.yaml"), []byte("a: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(t.TempDir(), "work")
	CopyTree(t, src, work)
	Commit(t, env, work, "seed")
	remote := Publish(t, env, work)
	if got := Git(t, env, remote, "show", "main:apps/a.yaml"); got != "a: 1\n" {
		t.Fatalf("remote main has %q", got)
	}
	if up := strings.TrimSpace(Git(t, env, work, "rev-parse", "--abbrev-ref", "@{upstream}")); up != "origin/main" {
		t.Fatalf("upstream %q, want origin/main", up)
	}
}
