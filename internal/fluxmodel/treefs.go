package fluxmodel

import (
	"bytes"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// treeFS is a commit's tree (files with a tree) as kustomize reads a
// checkout: read-only, confined to the root by construction (a path
// outside it does not exist), symbolic links followed within the tree as
// the disk's CleanedAbs follows them.
type treeFS struct{ f *files }

func (t *treeFS) Create(string) (filesys.File, error) { return nil, errReadOnly }
func (t *treeFS) Mkdir(string) error                  { return errReadOnly }
func (t *treeFS) MkdirAll(string) error               { return errReadOnly }
func (t *treeFS) RemoveAll(string) error              { return errReadOnly }
func (t *treeFS) WriteFile(string, []byte) error      { return errReadOnly }

func (t *treeFS) Open(path string) (filesys.File, error) {
	data, err := t.f.readFile(path)
	if err != nil {
		return nil, err
	}
	return &memFile{Reader: bytes.NewReader(data), name: filepath.Base(path), size: int64(len(data))}, nil
}

func (t *treeFS) IsDir(path string) bool { return t.f.isDir(path) }

func (t *treeFS) Exists(path string) bool {
	_, err := t.f.stat(path)
	return err == nil
}

func (t *treeFS) ReadFile(path string) ([]byte, error) { return t.f.readFile(path) }

func (t *treeFS) ReadDir(path string) ([]string, error) {
	entries, err := t.f.readDir(path)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names, nil
}

// CleanedAbs splits path into a folder and a file name ("" when path is a
// folder), symbolic links resolved, as kustomize's disk does.
func (t *treeFS) CleanedAbs(path string) (filesys.ConfirmedDir, string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", "", fmt.Errorf("abs path error on '%s' : %v", path, err)
	}
	rel, ok := t.f.inTree(abs)
	if !ok {
		return "", "", fmt.Errorf("'%s' is not in or below '%s'", path, t.f.root)
	}
	if rel, err = t.f.tree.Resolve(rel); err != nil {
		return "", "", fmt.Errorf("evalsymlink failure on '%s' : %w", path, err)
	}
	abs = t.f.abs(rel)
	if t.IsDir(abs) {
		return filesys.ConfirmedDir(abs), "", nil
	}
	if !t.Exists(abs) {
		return "", "", fmt.Errorf("evalsymlink failure on '%s' : %w", path, fs.ErrNotExist)
	}
	return filesys.ConfirmedDir(filepath.Dir(abs)), filepath.Base(abs), nil
}

func (t *treeFS) Glob(pattern string) ([]string, error) {
	rel, ok := t.f.inTree(pattern)
	if !ok {
		return nil, nil
	}
	matches, err := fs.Glob(t.f.tree, rel)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(matches))
	for _, m := range matches {
		out = append(out, t.f.abs(m))
	}
	sort.Strings(out)
	return out, nil
}

func (t *treeFS) Walk(path string, fn filepath.WalkFunc) error {
	return t.f.walkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fn(p, nil, err)
		}
		info, err := d.Info()
		return fn(p, info, err)
	})
}
