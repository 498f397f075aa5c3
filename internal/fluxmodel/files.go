package fluxmodel

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	fluxfs "github.com/fluxcd/pkg/kustomize/filesys"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/readlimit"
)

// files is a checkout as the model reads it: the disk under root, or the
// tree of a commit (gitrepo.Tree) shown at root, which is then a name only,
// not a folder on disk. Every read of the model goes through it, with
// absolute paths under root as kustomize uses them, so that one model can
// be built from either.
type files struct {
	root string
	tree *gitrepo.Tree // nil: the disk
}

func disk(root string) *files { return &files{root: root} }

// onTree is commit's tree shown at root.
func onTree(root string, tree *gitrepo.Tree) *files {
	if abs, err := filepath.Abs(root); err == nil {
		root = abs
	}
	return &files{root: root, tree: tree}
}

// abs is the absolute path of rel (a slash path relative to the root).
func (f *files) abs(rel string) string { return filepath.Join(f.root, filepath.FromSlash(rel)) }

// inTree is the tree's name for the absolute path p ("." for the root);
// ok is false for a path outside the root.
func (f *files) inTree(p string) (string, bool) {
	rel, err := filepath.Rel(f.root, filepath.Clean(p))
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

func (f *files) outside(op, p string) error {
	return &fs.PathError{Op: op, Path: p, Err: fs.ErrNotExist}
}

func (f *files) readFile(p string) ([]byte, error) {
	if f.tree == nil {
		return os.ReadFile(p)
	}
	rel, ok := f.inTree(p)
	if !ok {
		return nil, f.outside("open", p)
	}
	return f.tree.ReadFile(rel)
}

// readInto is the bytes of p, a file that is regular and not larger than
// readlimit allows: readInto (read_unix.go) on the disk, the same checks
// before a tree's blob is read.
func (f *files) readInto(ctx context.Context, p string, buf []byte) ([]byte, error) {
	if f.tree == nil {
		return readInto(ctx, p, buf)
	}
	st, err := f.stat(p)
	if err != nil {
		return nil, err
	}
	if err := readlimit.Check(ctx, p, st); err != nil {
		return nil, err
	}
	return f.readFile(p)
}

func (f *files) stat(p string) (fs.FileInfo, error) {
	if f.tree == nil {
		return os.Stat(p)
	}
	rel, ok := f.inTree(p)
	if !ok {
		return nil, f.outside("stat", p)
	}
	return f.tree.Stat(rel)
}

func (f *files) lstat(p string) (fs.FileInfo, error) {
	if f.tree == nil {
		return os.Lstat(p)
	}
	rel, ok := f.inTree(p)
	if !ok {
		return nil, f.outside("lstat", p)
	}
	return f.tree.Lstat(rel)
}

func (f *files) isDir(p string) bool {
	st, err := f.stat(p)
	return err == nil && st.IsDir()
}

func (f *files) readDir(p string) ([]fs.DirEntry, error) {
	if f.tree == nil {
		return os.ReadDir(p)
	}
	rel, ok := f.inTree(p)
	if !ok {
		return nil, f.outside("open", p)
	}
	return f.tree.ReadDir(rel)
}

// walkDir is filepath.WalkDir over the checkout: fn gets absolute paths.
func (f *files) walkDir(p string, fn fs.WalkDirFunc) error {
	if f.tree == nil {
		return filepath.WalkDir(p, fn)
	}
	rel, ok := f.inTree(p)
	if !ok {
		return fn(p, nil, f.outside("lstat", p))
	}
	return fs.WalkDir(f.tree, rel, func(q string, d fs.DirEntry, err error) error {
		return fn(f.abs(q), d, err)
	})
}

// kustomize is the checkout as kustomize reads it, confined to the root.
func (f *files) kustomize() (filesys.FileSystem, error) {
	if f.tree == nil {
		return fluxfs.MakeFsOnDiskSecure(f.root)
	}
	return &treeFS{f: f}, nil
}

// buildable reports whether kustomize can build under the root (see
// buildablePath); a tree's root is a name chosen to be.
func (f *files) buildable() bool { return f.tree != nil || buildablePath(f.root) }

// fsys is the checkout as an io/fs file system rooted at the root.
func (f *files) fsys() fs.FS {
	if f.tree == nil {
		return os.DirFS(f.root)
	}
	return f.tree
}
