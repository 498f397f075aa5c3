package gitrepo

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var testEnv = []string{"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com",
	"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com", "GIT_CONFIG_NOSYSTEM=1"}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), testEnv...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v: %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// remoteAndClones makes a bare remote with one commit and n clones of it.
func remoteAndClones(t *testing.T, n int) (string, []*Repo) {
	t.Helper()
	base := t.TempDir()
	bare := filepath.Join(base, "remote.git")
	git(t, base, "init", "-q", "--bare", "-b", "main", bare)
	seed := filepath.Join(base, "seed")
	git(t, base, "clone", "-q", bare, seed)
	write(t, seed, "a.yaml", "a: 1\n")
	write(t, seed, "b.yaml", "b: 1\n")
	write(t, seed, "c.yaml", "c: 1\n")
	git(t, seed, "add", ".")
	git(t, seed, "commit", "-q", "-m", "seed")
	git(t, seed, "push", "-q", "origin", "HEAD:main")
	var repos []*Repo
	for i := 0; i < n; i++ {
		dir := filepath.Join(base, "clone"+string(rune('a'+i)))
		git(t, base, "clone", "-q", bare, dir)
		r, err := Open(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		r.Env = testEnv
		repos = append(repos, r)
	}
	return bare, repos
}

func TestCommitFileLeavesOtherChangesAlone(t *testing.T) {
	ctx := context.Background()
	_, rs := remoteAndClones(t, 1)
	r := rs[0]
	write(t, r.Root, "a.yaml", "a: 2\n")
	write(t, r.Root, "b.yaml", "b: staged\n")
	git(t, r.Root, "add", "b.yaml")
	write(t, r.Root, "b.yaml", "b: staged and more\n")
	if dirty, err := r.Dirty(ctx, "a.yaml"); err != nil || !dirty {
		t.Fatalf("Dirty(a.yaml) = %v, %v", dirty, err)
	}
	sha, err := r.CommitFiles(ctx, []string{"a.yaml"}, "override: a=2", "Changed-By: kubectl-gitops override")
	if err != nil {
		t.Fatal(err)
	}
	if files := git(t, r.Root, "show", "--name-only", "--format=", sha); files != "a.yaml" {
		t.Errorf("commit holds %q, want only a.yaml", files)
	}
	if msg := git(t, r.Root, "log", "-1", "--format=%B"); msg != "override: a=2\n\nChanged-By: kubectl-gitops override" {
		t.Errorf("message = %q", msg)
	}
	if st := git(t, r.Root, "status", "--porcelain"); st != "MM b.yaml" {
		t.Errorf("status after commit = %q, want b.yaml still staged and modified", st)
	}
	if dirty, _ := r.Dirty(ctx, "a.yaml"); dirty {
		t.Error("a.yaml still dirty after commit")
	}
	if b, _ := r.CurrentBranch(ctx); b != "main" {
		t.Errorf("branch = %q", b)
	}
	remote, rb, err := r.Upstream(ctx, "main")
	if err != nil || remote != "origin" || rb != "main" {
		t.Errorf("Upstream = %s %s %v", remote, rb, err)
	}
	if n, _ := r.Ahead(ctx, remote, rb); n != 1 {
		t.Errorf("Ahead = %d, want 1", n)
	}
}

// Without Redo a moved remote is not retried: the commit stays local.
func TestPushWithoutRedoRefusesAMovedRemote(t *testing.T) {
	ctx := context.Background()
	_, rs := remoteAndClones(t, 2)
	a, b := rs[0], rs[1]
	write(t, a.Root, "a.yaml", "a: from-a\n")
	write(t, b.Root, "b.yaml", "b: from-b\n")
	if _, err := a.CommitFiles(ctx, []string{"a.yaml"}, "a"); err != nil {
		t.Fatal(err)
	}
	sha, err := b.CommitFiles(ctx, []string{"b.yaml"}, "b")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Push(ctx, PushOptions{Remote: "origin", RemoteBranch: "main"}); err != nil {
		t.Fatal(err)
	}
	res, err := b.Push(ctx, PushOptions{Remote: "origin", RemoteBranch: "main"})
	if !errors.Is(err, ErrPushRejected) || res.Attempts != 1 || !strings.Contains(err.Error(), "kept locally") {
		t.Fatalf("want ErrPushRejected after one attempt, got %+v %v", res, err)
	}
	if head, _ := b.Head(ctx); head != sha {
		t.Errorf("local commit moved: %s != %s", head, sha)
	}
}

func TestPushRefusedForGood(t *testing.T) {
	ctx := context.Background()
	bare, rs := remoteAndClones(t, 1)
	r := rs[0]
	hook := filepath.Join(bare, "hooks", "pre-receive")
	if err := os.WriteFile(hook, []byte("#!/bin/sh\necho protected branch >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, r.Root, "a.yaml", "a: 3\n")
	sha, err := r.CommitFiles(ctx, []string{"a.yaml"}, "a")
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Push(ctx, PushOptions{Remote: "origin", RemoteBranch: "main"})
	if !errors.Is(err, ErrPushRejected) || !strings.Contains(err.Error(), "git pull --rebase origin main") {
		t.Fatalf("want ErrPushRejected with a retry hint, got %v", err)
	}
	if head, _ := r.Head(ctx); head != sha {
		t.Errorf("local commit moved: %s != %s", head, sha)
	}
}

func TestPushRedo(t *testing.T) {
	ctx := context.Background()
	bare, rs := remoteAndClones(t, 2)
	a, b := rs[0], rs[1]
	// Both change the same line: a text rebase would conflict, a redo of
	// the intent does not.
	write(t, a.Root, "a.yaml", "a: 1\nx: from-a\n")
	write(t, b.Root, "a.yaml", "a: 1\ny: from-b\n")
	a.CommitFiles(ctx, []string{"a.yaml"}, "a")
	b.CommitFiles(ctx, []string{"a.yaml"}, "b")
	write(t, b.Root, "c.yaml", "c: local scribble\n")
	if _, err := a.Push(ctx, PushOptions{Remote: "origin", RemoteBranch: "main"}); err != nil {
		t.Fatal(err)
	}
	redo := func(ctx context.Context) (bool, error) {
		data, err := os.ReadFile(filepath.Join(b.Root, "a.yaml"))
		if err != nil {
			return false, err
		}
		write(t, b.Root, "a.yaml", string(data)+"y: from-b\n")
		_, err = b.CommitFiles(ctx, []string{"a.yaml"}, "b again")
		return err == nil, err
	}
	res, err := b.Push(ctx, PushOptions{Remote: "origin", RemoteBranch: "main", Redo: redo})
	if err != nil || !res.Rebased || res.Attempts != 2 {
		t.Fatalf("push b: %+v %v", res, err)
	}
	if got := git(t, bare, "show", "main:a.yaml"); got != "a: 1\nx: from-a\ny: from-b" {
		t.Errorf("remote a.yaml = %q", got)
	}
	if data, _ := os.ReadFile(filepath.Join(b.Root, "c.yaml")); string(data) != "c: local scribble\n" {
		t.Errorf("uncommitted change lost: %q", data)
	}

	// A failing redo puts the original commit back.
	git(t, a.Root, "pull", "-q", "--rebase", "origin", "main")
	write(t, a.Root, "b.yaml", "b: 2\n")
	a.CommitFiles(ctx, []string{"b.yaml"}, "a2")
	if _, err := a.Push(ctx, PushOptions{Remote: "origin", RemoteBranch: "main"}); err != nil {
		t.Fatal(err)
	}
	write(t, b.Root, "b.yaml", "b: 3\n")
	orig, _ := b.CommitFiles(ctx, []string{"b.yaml"}, "b2")
	_, err = b.Push(ctx, PushOptions{Remote: "origin", RemoteBranch: "main", Redo: func(context.Context) (bool, error) {
		return false, errors.New("the HelmRelease is gone")
	}})
	if err == nil || !strings.Contains(err.Error(), "kept locally") {
		t.Fatalf("want a kept-locally error, got %v", err)
	}
	if head, _ := b.Head(ctx); head != orig {
		t.Errorf("HEAD = %s, want the original commit %s back", head, orig)
	}
}

func TestPushGivesUpAfterAttempts(t *testing.T) {
	ctx := context.Background()
	_, rs := remoteAndClones(t, 2)
	a, b := rs[0], rs[1]
	write(t, a.Root, "a.yaml", "a: A\n")
	write(t, b.Root, "b.yaml", "b: B\n")
	a.CommitFiles(ctx, []string{"a.yaml"}, "a")
	b.CommitFiles(ctx, []string{"b.yaml"}, "b")
	if _, err := a.Push(ctx, PushOptions{Remote: "origin", RemoteBranch: "main"}); err != nil {
		t.Fatal(err)
	}
	res, err := b.Push(ctx, PushOptions{Remote: "origin", RemoteBranch: "main", Attempts: 1})
	if !errors.Is(err, ErrPushRejected) || res.Attempts != 1 || !strings.Contains(err.Error(), "kept locally") {
		t.Fatalf("want ErrPushRejected after 1 attempt, got %+v %v", res, err)
	}
	if got := git(t, b.Root, "log", "-1", "--format=%s"); got != "b" {
		t.Errorf("local commit lost: HEAD is %q", got)
	}
}
