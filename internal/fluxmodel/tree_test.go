package fluxmodel

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/readlimit"
)

// The model of a commit's tree (LoadTree, what diff and trace build from
// git's objects) is the model of the same files on disk, for every
// fixture layout: the same clusters, releases composed the same with the
// same provenance, the same build errors and notes, and the same
// environments and unapplied documents read through it. Nothing is read
// from the tree's root on disk: the fixture's checkout is gone before the
// tree is modelled.
func TestTreeModelIsTheDiskModel(t *testing.T) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			ctx := context.Background()
			root := checkout(t, e.Name(), nil)
			want, err := Load(ctx, root)
			if err != nil {
				t.Fatal(err)
			}
			wu, werr := want.ReadUnapplied(ctx, "")
			tree := commitTree(t, root)
			if err := os.RemoveAll(root); err != nil {
				t.Fatal(err)
			}
			got, err := LoadTree(ctx, TreeRoot("0123456789abcdef"), tree)
			if err != nil {
				t.Fatal(err)
			}
			if got.Layout != want.Layout || got.Plain != want.Plain {
				t.Errorf("layout %q (plain %v), want %q (plain %v)", got.Layout, got.Plain, want.Layout, want.Plain)
			}
			sameModel(t, got, want)
			if g, w := errorTexts(got.Errors(), got.Root), errorTexts(want.Errors(), want.Root); !reflect.DeepEqual(g, w) {
				t.Errorf("errors\n%v\nwant\n%v", g, w)
			}
			if g, w := strings.ReplaceAll(strings.Join(got.Notes(), "\n"), got.Root, ""), strings.ReplaceAll(strings.Join(want.Notes(), "\n"), want.Root, ""); g != w {
				t.Errorf("notes\n%s\nwant\n%s", g, w)
			}
			gu, gerr := got.ReadUnapplied(ctx, "")
			if (gerr == nil) != (werr == nil) || (gerr == nil && !reflect.DeepEqual(gu.Docs, wu.Docs)) {
				t.Errorf("unapplied documents %v (%v), want %v (%v)", gu, gerr, wu, werr)
			}
		})
	}
}

// errorTexts are the build errors as a user reads them, with the root
// (the tree's is not the checkout's) left out.
func errorTexts(errs []error, root string) []string {
	var out []string
	for _, e := range errs {
		out = append(out, strings.ReplaceAll(e.Error(), root+string(filepath.Separator), ""))
	}
	return out
}

// A file over readlimit's bound is refused from a commit's tree as it is
// from the disk, before its bytes are read: the tree is no way around the
// bound.
func TestTreeReadsKeepTheBound(t *testing.T) {
	ctx := readlimit.WithMax(context.Background(), 64)
	root := checkout(t, "plain", func(root string) {
		binarytest.WriteFile(t, root, "releases/big.yaml", "kind: HelmRelease\n"+strings.Repeat("# padding\n", 20))
	})
	want, err := Load(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	_, werr := want.ReadUnapplied(ctx, "", "HelmRelease")
	var tooLarge *readlimit.TooLargeError
	if !errors.As(werr, &tooLarge) {
		t.Fatalf("disk: ReadUnapplied = %v, want a TooLargeError", werr)
	}
	got, err := LoadTree(context.Background(), TreeRoot("0123456789abcdef"), commitTree(t, root))
	if err != nil {
		t.Fatal(err)
	}
	if _, gerr := got.ReadUnapplied(ctx, "", "HelmRelease"); !errors.As(gerr, &tooLarge) {
		t.Fatalf("tree: ReadUnapplied = %v, want a TooLargeError as from the disk", gerr)
	}
}

// commitTree commits the folder root as a new repository and reads the
// commit's tree.
func commitTree(t *testing.T, root string) *gitrepo.Tree {
	t.Helper()
	ctx := context.Background()
	env := binarytest.Env(t.TempDir(), "Setup", "setup@example.com")
	binarytest.Commit(t, env, root, "fixture")
	repo, err := gitrepo.Open(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := repo.ReadTree(ctx, strings.TrimSpace(binarytest.Git(t, env, root, "rev-parse", "HEAD")))
	if err != nil {
		t.Fatal(err)
	}
	return tree
}
