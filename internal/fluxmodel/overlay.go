package fluxmodel

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"time"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// overlay is the checkout (read-only) with the kustomization.yaml files
// the generator writes kept in memory over it. It replaces
// fluxcd/pkg/kustomize/filesys.MakeFsInMemory, whose in-memory tree
// refuses to create a directory whose name has a character outside
// [a-zA-Z0-9-_.:]: every folder of the checkout's absolute path is
// created there, so a checkout under "/home/j.doe@corp/src" or
// "~/my repos" failed every build with "illegal name ... in directory
// creation".
type overlay struct {
	filesys.FileSystem // the disk, confined to the checkout
	files              map[string][]byte
	// rec, when set, notes every question asked of the disk, for the
	// Cache.
	rec *recorder
}

var errReadOnly = errors.New("the model never writes into the checkout")

func newOverlay(disk filesys.FileSystem) *overlay {
	return &overlay{FileSystem: disk, files: map[string][]byte{}}
}

func (o *overlay) Create(string) (filesys.File, error) { return nil, errReadOnly }
func (o *overlay) Mkdir(string) error                  { return errReadOnly }
func (o *overlay) MkdirAll(string) error               { return errReadOnly }
func (o *overlay) RemoveAll(string) error              { return errReadOnly }

func (o *overlay) WriteFile(path string, data []byte) error {
	o.files[filepath.Clean(path)] = append([]byte(nil), data...)
	return nil
}

func (o *overlay) mem(path string) ([]byte, bool) {
	d, ok := o.files[filepath.Clean(path)]
	return d, ok
}

func (o *overlay) Exists(path string) bool {
	if _, ok := o.mem(path); ok {
		return true
	}
	o.rec.note('e', path)
	return o.FileSystem.Exists(path)
}

func (o *overlay) IsDir(path string) bool {
	if _, ok := o.mem(path); ok {
		return false
	}
	o.rec.note('d', path)
	return o.FileSystem.IsDir(path)
}

func (o *overlay) CleanedAbs(path string) (filesys.ConfirmedDir, string, error) {
	o.rec.note('d', path)
	return o.FileSystem.CleanedAbs(path)
}

func (o *overlay) ReadFile(path string) ([]byte, error) {
	if d, ok := o.mem(path); ok {
		return append([]byte(nil), d...), nil
	}
	o.rec.note('f', path)
	return o.FileSystem.ReadFile(path)
}

func (o *overlay) Open(path string) (filesys.File, error) {
	if d, ok := o.mem(path); ok {
		return &memFile{Reader: bytes.NewReader(d), name: filepath.Base(path), size: int64(len(d))}, nil
	}
	o.rec.note('f', path)
	return o.FileSystem.Open(path)
}

func (o *overlay) Walk(path string, fn filepath.WalkFunc) error {
	o.rec.note('w', path)
	return o.FileSystem.Walk(path, fn)
}

func (o *overlay) ReadDir(path string) ([]string, error) {
	o.rec.note('l', path)
	names, err := o.FileSystem.ReadDir(path)
	seen := map[string]bool{}
	for _, n := range names {
		seen[n] = true
	}
	dir := filepath.Clean(path)
	for p := range o.files {
		if filepath.Dir(p) == dir && !seen[filepath.Base(p)] {
			names = append(names, filepath.Base(p))
			err = nil
		}
	}
	sort.Strings(names)
	return names, err
}

func (o *overlay) Glob(pattern string) ([]string, error) {
	o.rec.spoil() // not recorded: such a build is not reused
	out, err := o.FileSystem.Glob(pattern)
	seen := map[string]bool{}
	for _, p := range out {
		seen[p] = true
	}
	for p := range o.files {
		if ok, _ := filepath.Match(pattern, p); ok && !seen[p] {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, err
}

// memFile is a generated kustomization.yaml opened for reading.
type memFile struct {
	*bytes.Reader
	name string
	size int64
}

func (f *memFile) Write([]byte) (int, error) { return 0, errReadOnly }
func (f *memFile) Close() error              { return nil }
func (f *memFile) Stat() (os.FileInfo, error) {
	return memInfo{name: f.name, size: f.size}, nil
}

type memInfo struct {
	name string
	size int64
}

func (i memInfo) Name() string       { return i.name }
func (i memInfo) Size() int64        { return i.size }
func (i memInfo) Mode() os.FileMode  { return 0o444 }
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return false }
func (i memInfo) Sys() any           { return nil }
