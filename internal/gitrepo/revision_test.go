package gitrepo

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// testRepo is a work tree with a bare "origin" next to it.
type testRepo struct {
	t    *testing.T
	dir  string
	bare string
	r    *Repo
}

func newTestRepo(t *testing.T) *testRepo {
	t.Helper()
	root := t.TempDir()
	tr := &testRepo{t: t, dir: filepath.Join(root, "work"), bare: filepath.Join(root, "origin.git")}
	tr.run(root, "init", "-q", "--bare", "-b", "main", tr.bare)
	tr.run(root, "init", "-q", "-b", "main", tr.dir)
	tr.run(tr.dir, "remote", "add", "origin", tr.bare)
	r, err := Open(context.Background(), tr.dir)
	if err != nil {
		t.Fatal(err)
	}
	r.Env = commitEnv
	tr.r = r
	return tr
}

var commitEnv = []string{
	"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
	"GIT_AUTHOR_DATE=2026-11-25T18:00:00Z", "GIT_COMMITTER_DATE=2026-11-25T18:00:00Z", "GIT_CONFIG_NOSYSTEM=1", "HOME=/nonexistent",
}

func (tr *testRepo) run(dir string, args ...string) string {
	tr.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), commitEnv...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		tr.t.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit writes files (path -> content) and commits them; returns the SHA.
func (tr *testRepo) commit(msg string, files map[string]string) string {
	tr.t.Helper()
	for p, c := range files {
		full := filepath.Join(tr.dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			tr.t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			tr.t.Fatal(err)
		}
	}
	tr.run(tr.dir, "add", "-A")
	tr.run(tr.dir, "commit", "-q", "-m", msg)
	return tr.run(tr.dir, "rev-parse", "HEAD")
}

func chartYAML(v string) string { return "apiVersion: v2\nname: sample-app\nversion: " + v + "\n" }

func TestResolveAndAncestry(t *testing.T) {
	ctx := context.Background()
	tr := newTestRepo(t)
	a := tr.commit("chart 0.1.2", map[string]string{"charts/sample-app/Chart.yaml": chartYAML("0.1.2"), "charts/sample-app/values.yaml": "tag: 1.21\n"})
	b := tr.commit("nginx 1.22", map[string]string{"charts/sample-app/values.yaml": "tag: 1.22\n"})
	tr.run(tr.dir, "tag", "v1", a)
	c := tr.commit("bump 0.1.3", map[string]string{"charts/sample-app/Chart.yaml": chartYAML("0.1.3")})
	d := tr.commit("docs", map[string]string{"README.md": "hi\n"})

	for rev, want := range map[string]string{"HEAD": d, "main": d, "v1": a, b[:7]: b, b: b, "HEAD~1": c} {
		got, err := tr.r.ResolveCommit(ctx, rev)
		if err != nil || got.SHA != want {
			t.Errorf("ResolveCommit(%q) = %v, %v; want %s", rev, got, err, want)
		}
	}
	got, _ := tr.r.ResolveCommit(ctx, b)
	if got.Subject != "nginx 1.22" || got.CommittedAt.UTC().Format("15:04") != "18:00" || len(got.Parents) != 1 || got.Parents[0] != a {
		t.Errorf("commit = %+v", got)
	}
	if _, err := tr.r.ResolveCommit(ctx, "nope"); !errors.Is(err, ErrUnknownRevision) {
		t.Errorf("unknown revision: %v", err)
	}
	if _, err := tr.r.ResolveCommit(ctx, "--all"); !errors.Is(err, ErrUnknownRevision) {
		t.Errorf("option-looking revision: %v", err)
	}
	// A superseded commit is contained in the later one, not the reverse.
	if in, err := tr.r.IsAncestor(ctx, b, d); err != nil || !in {
		t.Errorf("IsAncestor(b, d) = %v, %v", in, err)
	}
	if in, err := tr.r.IsAncestor(ctx, d, b); err != nil || in {
		t.Errorf("IsAncestor(d, b) = %v, %v", in, err)
	}
	if _, err := tr.r.IsAncestor(ctx, strings.Repeat("e", 40), d); err == nil {
		t.Error("IsAncestor with a missing commit should fail")
	}
	if full, ok := tr.r.HasCommit(ctx, c[:12]); !ok || full != c {
		t.Errorf("HasCommit(short) = %s, %v", full, ok)
	}
	if _, ok := tr.r.HasCommit(ctx, strings.Repeat("e", 12)); ok {
		t.Error("HasCommit of a missing commit")
	}

	paths, err := tr.r.ChangedPaths(ctx, b)
	if err != nil || strings.Join(paths, ",") != "charts/sample-app/values.yaml" {
		t.Errorf("ChangedPaths(b) = %v, %v", paths, err)
	}
	if paths, _ := tr.r.ChangedPaths(ctx, a); len(paths) != 2 {
		t.Errorf("ChangedPaths(root) = %v", paths)
	}

	// ChartVersion strategy: which commit set the version the chart has.
	for _, tc := range []struct{ rev, version, want string }{
		{d, "0.1.3", c}, {b, "0.1.2", a}, {d, "0.1.2", ""},
	} {
		got, err := tr.r.VersionIntroducedBy(ctx, tc.rev, "charts/sample-app", tc.version)
		if err != nil || got != tc.want {
			t.Errorf("VersionIntroducedBy(%s, %s) = %q, %v; want %q", tc.rev[:7], tc.version, got, err, tc.want)
		}
	}
	if v, err := tr.r.ChartVersionAt(ctx, b, "charts/sample-app"); err != nil || v != "0.1.2" {
		t.Errorf("ChartVersionAt = %q, %v", v, err)
	}

	if p, err := tr.r.IsPushed(ctx, b); err != nil || p {
		t.Errorf("IsPushed before push = %v, %v", p, err)
	}
	tr.run(tr.dir, "push", "-q", "origin", "main")
	if p, err := tr.r.IsPushed(ctx, b); err != nil || !p {
		t.Errorf("IsPushed after push = %v, %v", p, err)
	}
}

// ReadTree reads a commit's files, as the commit holds them, without
// touching the checkout: later commits, uncommitted edits and export-ignore
// attributes do not show.
func TestReadTreeIsTheCommit(t *testing.T) {
	ctx := context.Background()
	tr := newTestRepo(t)
	tr.commit("attributes", map[string]string{".gitattributes": "apps/** export-ignore\n"})
	for p, c := range map[string]string{"apps/base/hr.yaml": "kind: HelmRelease\n", "apps/run.sh": "#!/bin/sh\n", "clusters/a/k.yaml": "kind: Kustomization\n", "empty.yaml": ""} {
		full := filepath.Join(tr.dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(tr.dir, "apps", "run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("base/hr.yaml", filepath.Join(tr.dir, "apps", "link.yaml")); err != nil {
		t.Fatal(err)
	}
	sha := tr.commit("apps", nil)
	tr.commit("later", map[string]string{"apps/base/hr.yaml": "kind: Changed\n"})
	if err := os.WriteFile(filepath.Join(tr.dir, "clusters/a/k.yaml"), []byte("dirty\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tree, err := tr.r.ReadTree(ctx, sha)
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{"apps/base/hr.yaml": "kind: HelmRelease\n", "clusters/a/k.yaml": "kind: Kustomization\n", "empty.yaml": "", "apps/link.yaml": "kind: HelmRelease\n"} {
		got, err := tree.ReadFile(p)
		if err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", p, got, err, want)
		}
	}
	if st, err := tree.Lstat("apps/link.yaml"); err != nil || st.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("apps/link.yaml: %v, %v; want a symbolic link", st, err)
	}
	if st, err := tree.Stat("apps/run.sh"); err != nil || st.Mode()&0o100 == 0 {
		t.Errorf("apps/run.sh: %v, %v; want executable", st, err)
	}
	if _, err := tree.Stat(".git"); err == nil {
		t.Errorf(".git is in the tree")
	}
	if status := tr.run(tr.dir, "status", "--porcelain"); status != "M clusters/a/k.yaml" {
		t.Errorf("checkout after ReadTree: status %q", status)
	}
	if _, err := tr.r.ReadTree(ctx, "no-such-rev"); err == nil {
		t.Error("ReadTree of an unknown revision: no error")
	}
}

// Answers about objects named by a full SHA are kept for the life of the
// Repo (a trace asks them repeatedly); answers about short SHAs are not.
// Moving .git away shows which calls still reach git.
func TestObjectAnswersAreMemoized(t *testing.T) {
	ctx := context.Background()
	tr := newTestRepo(t)
	a := tr.commit("chart 0.1.2", map[string]string{"charts/sample-app/Chart.yaml": chartYAML("0.1.2")})
	if v, err := tr.r.ChartVersionAt(ctx, a, "charts/sample-app"); err != nil || v != "0.1.2" {
		t.Fatalf("ChartVersionAt = %q, %v", v, err)
	}
	if _, ok, err := tr.r.ShowFile(ctx, a, "missing.yaml"); ok || err != nil {
		t.Fatalf("ShowFile(missing) = %v, %v", ok, err)
	}
	if full, ok := tr.r.HasCommit(ctx, a); !ok || full != a {
		t.Fatalf("HasCommit(full) = %s, %v", full, ok)
	}
	if err := os.Rename(filepath.Join(tr.dir, ".git"), filepath.Join(tr.dir, "moved.git")); err != nil {
		t.Fatal(err)
	}
	if v, err := tr.r.ChartVersionAt(ctx, a, "charts/sample-app"); err != nil || v != "0.1.2" {
		t.Errorf("ChartVersionAt after .git moved = %q, %v; want the memoized 0.1.2", v, err)
	}
	if _, ok, err := tr.r.ShowFile(ctx, a, "missing.yaml"); ok || err != nil {
		t.Errorf("ShowFile(missing) after .git moved = %v, %v; want the memoized absence", ok, err)
	}
	if _, ok := tr.r.HasCommit(ctx, a); !ok {
		t.Error("HasCommit(full) after .git moved: want the memoized answer")
	}
	if _, ok := tr.r.HasCommit(ctx, a[:12]); ok {
		t.Error("HasCommit(short) after .git moved answered from memory; short SHAs must ask git")
	}
}
