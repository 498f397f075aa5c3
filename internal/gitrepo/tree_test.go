package gitrepo

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// A Tree is a commit's files as an io/fs file system: the content of each
// file as the commit holds it (not the checkout's), folders listed sorted,
// symbolic links followed within the tree (and not out of it), a blob
// larger than inMemory read when asked for, and a blob two commits share
// held once. fstest.TestFS checks the fs.FS contract itself.
func TestReadTrees(t *testing.T) {
	tr := newTestRepo(t)
	big := strings.Repeat("x", inMemory+1)
	first := tr.commit("first", map[string]string{
		"apps/base/app.yaml":   "kind: HelmRelease\n",
		"apps/staging/kz.yaml": "resources: [../base]\n",
		"charts/big.tgz":       big,
		"shared.yaml":          "same: in both\n",
	})
	for name, target := range map[string]string{"apps/link": "base", "apps/out": "../../elsewhere", "loop": "loop"} {
		if err := os.Symlink(target, filepath.Join(tr.dir, filepath.FromSlash(name))); err != nil {
			t.Fatal(err)
		}
	}
	second := tr.commit("second", map[string]string{"apps/base/app.yaml": "kind: HelmRelease # second\n"})
	// The checkout's own edit is not the commit's.
	if err := os.WriteFile(filepath.Join(tr.dir, "apps/base/app.yaml"), []byte("edited\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	trees, err := tr.r.ReadTrees(context.Background(), first, second)
	if err != nil {
		t.Fatal(err)
	}
	a, b := trees[0], trees[1]
	// The first commit has no links (fstest opens every entry it lists,
	// and a link out of the tree or a loop is meant to fail).
	if err := fstest.TestFS(a, "apps/base/app.yaml", "apps/staging/kz.yaml", "charts/big.tgz", "shared.yaml"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tree       *Tree
		file, want string
	}{
		{a, "apps/base/app.yaml", "kind: HelmRelease\n"},
		{b, "apps/base/app.yaml", "kind: HelmRelease # second\n"},
		{b, "apps/link/app.yaml", "kind: HelmRelease # second\n"},
		{b, "charts/big.tgz", big},
	} {
		got, err := c.tree.ReadFile(c.file)
		if err != nil || string(got) != c.want {
			t.Errorf("%s: %.40q (%v), want %.40q", c.file, got, err, c.want)
		}
	}
	if _, err := a.Stat("apps/link"); err == nil {
		t.Errorf("apps/link exists in the first commit, which has no link")
	}
	if st, err := b.Lstat("apps/link"); err != nil || st.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("Lstat apps/link: %v, %v; want a symbolic link", st, err)
	}
	if st, err := b.Stat("apps/link"); err != nil || !st.IsDir() {
		t.Errorf("Stat apps/link: %v, %v; want the folder it points to", st, err)
	}
	if p, err := b.Resolve("apps/link/app.yaml"); err != nil || p != "apps/base/app.yaml" {
		t.Errorf("Resolve apps/link/app.yaml = %q, %v", p, err)
	}
	for _, p := range []string{"apps/out", "loop", "missing.yaml"} {
		if _, err := b.ReadFile(p); err == nil {
			t.Errorf("ReadFile %s: no error; a link out of the tree, a loop or a missing file must fail", p)
		}
	}
	entries, err := b.ReadDir("apps")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, " "); got != "base link out staging" {
		t.Errorf("ReadDir apps = %s", got)
	}
	// Held once: the trees share the blob of shared.yaml.
	if &a.files["shared.yaml"].data[0] != &b.files["shared.yaml"].data[0] {
		t.Errorf("shared.yaml is held twice")
	}
	if b.files["charts/big.tgz"].data != nil {
		t.Errorf("a blob over %d bytes was read up front", inMemory)
	}
	// Callers may change what ReadFile returns.
	got, _ := b.ReadFile("shared.yaml")
	got[0] = 'X'
	if again, _ := b.ReadFile("shared.yaml"); string(again) != "same: in both\n" {
		t.Errorf("ReadFile handed out the tree's own bytes: now %q", again)
	}
}
