// Package commitcache keeps, on disk, what a command derived from a
// commit's content alone: a commit never changes, so the answer for one
// SHA holds until the program that derived it changes. trace keeps the
// paths a commit changed and the HelmReleases they reach there, which
// otherwise cost three git processes and a model of the whole repository
// on every run (`trace --wait` in a CI loop, or a user asking again).
//
// Entries live under ${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-gitops/commits,
// one small JSON file per commit and executable. The executable is part of
// the key (its path, size and modification time): a rebuilt binary, whose
// model may answer differently, starts afresh. A cache that cannot be read
// or written is no cache; the caller computes the answer as before.
package commitcache

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// maxEntries bounds the directory: when a write finds more, the older half
// is removed (each entry is a few hundred bytes).
const maxEntries = 2000

// Store is a cache directory for one executable.
type Store struct {
	dir string
	exe string // identifies the executable in every key
}

// Open returns the store under root (cachedir.Root) for the running
// executable. It creates nothing until Put.
func Open(root string) (*Store, error) {
	exe, err := executableKey()
	if err != nil {
		return nil, err
	}
	return &Store{dir: filepath.Join(root, "commits"), exe: exe}, nil
}

func executableKey() (string, error) {
	path, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding the executable for the commit cache: %w", err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("reading the executable for the commit cache: %w", err)
	}
	return fmt.Sprintf("%s\x00%d\x00%d", path, info.Size(), info.ModTime().UnixNano()), nil
}

// file is where what kind of answer for sha is kept.
func (s *Store) file(kind, sha string) string {
	h := sha256.Sum256([]byte(s.exe + "\x00" + kind + "\x00" + sha))
	return filepath.Join(s.dir, kind+"-"+hex.EncodeToString(h[:16])+".json")
}

// Get decodes the answer kept for (kind, sha) into v, and reports whether
// there was one.
func (s *Store) Get(kind, sha string, v any) bool {
	if s == nil {
		return false
	}
	b, err := os.ReadFile(s.file(kind, sha))
	if err != nil {
		return false
	}
	return json.Unmarshal(b, v) == nil
}

// Put keeps v as the answer for (kind, sha). The file is written whole
// under a temporary name and renamed, so a reader never sees half of it
// and two runs writing at once both leave a whole file.
func (s *Store) Put(kind, sha string, v any) error {
	if s == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(s.dir, ".tmp-*")
	if err != nil {
		return err
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), s.file(kind, sha)); err != nil {
		_ = os.Remove(tmp.Name())
		return err
	}
	s.prune()
	return nil
}

// prune removes the older half of the entries when there are more than
// maxEntries.
func (s *Store) prune() {
	entries, err := os.ReadDir(s.dir)
	if err != nil || len(entries) <= maxEntries {
		return
	}
	type aged struct {
		name string
		mod  int64
	}
	var files []aged
	for _, e := range entries {
		if info, err := e.Info(); err == nil && !e.IsDir() {
			files = append(files, aged{e.Name(), info.ModTime().UnixNano()})
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].mod < files[j].mod })
	for _, f := range files[:len(files)/2] {
		_ = os.Remove(filepath.Join(s.dir, f.name))
	}
}
