package gitrepo

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os/exec"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Tree is the files of one commit, read from git's object store into
// memory: a read-only checkout that writes nothing to disk. It implements
// io/fs (fs.ReadFileFS, fs.ReadDirFS, fs.StatFS) on slash paths relative to
// the root; Lstat tells a symbolic link, which Stat, Open and ReadFile
// follow within the tree.
//
// A checkout of a large repository costs a file and a folder created and
// removed per entry (on a journaling disk, seconds for a few thousand);
// reading the same blobs through one git cat-file costs a pipe.
type Tree struct {
	files map[string]*treeFile
	dirs  map[string][]string // folder -> sorted names of its entries
	// large reads a blob left out of memory (larger than inMemory).
	large func(oid string) ([]byte, error)
}

type treeFile struct {
	data []byte
	oid  string // set while a large blob is not read
	size int64
	mode fs.FileMode // 0, 0o111 (executable), or fs.ModeSymlink
}

// inMemory is the largest blob ReadTrees reads up front; a larger one
// (a packaged chart, an image) is read when asked for, so that a
// repository holding one does not cost its size in memory for nothing.
const inMemory = 1 << 20

// ReadTree reads the files of commit sha (submodules left out).
func (r *Repo) ReadTree(ctx context.Context, sha string) (*Tree, error) {
	trees, err := r.ReadTrees(ctx, sha)
	if err != nil {
		return nil, err
	}
	return trees[0], nil
}

// ReadTrees reads the trees of several commits (BASE and HEAD of a
// range) with one git cat-file: a blob the commits share is read once and
// held once.
func (r *Repo) ReadTrees(ctx context.Context, shas ...string) ([]*Tree, error) {
	lists := make([][]treeEntry, len(shas))
	for i, sha := range shas {
		entries, err := r.lsTree(ctx, sha)
		if err != nil {
			return nil, err
		}
		lists[i] = entries
	}
	blobs := map[string][]byte{}
	var want []treeEntry
	for _, entries := range lists {
		for _, e := range entries {
			if _, ok := blobs[e.oid]; !ok && (e.size <= inMemory || e.mode == "120000") {
				blobs[e.oid] = nil
				want = append(want, e)
			}
		}
	}
	err := r.catFile(ctx, want, func(e treeEntry, data []byte) error {
		blobs[e.oid] = data
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the files of %s: %w", Short(shas[0]), err)
	}
	large := func(oid string) ([]byte, error) {
		out, err := r.Git(ctx, "cat-file", "blob", oid)
		return []byte(out), err
	}
	trees := make([]*Tree, len(shas))
	for i, entries := range lists {
		t := &Tree{files: make(map[string]*treeFile, len(entries)), dirs: map[string][]string{".": nil}, large: large}
		for _, e := range entries {
			f := &treeFile{size: e.size}
			if data, ok := blobs[e.oid]; ok {
				f.data = data
			} else {
				f.oid = e.oid
			}
			switch e.mode {
			case "120000":
				f.mode = fs.ModeSymlink
			case "100755":
				f.mode = 0o111
			}
			t.files[e.path] = f
			t.addDir(e.path)
		}
		for d := range t.dirs {
			sort.Strings(t.dirs[d])
		}
		trees[i] = t
	}
	return trees, nil
}

// addDir enters p in its folder, and the folders above it in theirs.
func (t *Tree) addDir(p string) {
	for p != "." {
		dir := path.Dir(p)
		_, known := t.dirs[dir]
		t.dirs[dir] = append(t.dirs[dir], path.Base(p))
		if known {
			return
		}
		p = dir
	}
}

// maxLinks is how many symbolic links one look-up follows, as the kernel
// bounds it (ELOOP).
const maxLinks = 40

// resolve follows the symbolic links on the way to name, and at its end,
// within the tree: a link out of it, or an absolute one, does not exist
// here.
func (t *Tree) resolve(op, name string) (string, error) {
	if !fs.ValidPath(name) {
		return "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	parts := strings.Split(name, "/")
	cur, links := ".", 0
	for i := 0; i < len(parts); i++ {
		p := path.Join(cur, parts[i])
		f, ok := t.files[p]
		if !ok || f.mode != fs.ModeSymlink {
			cur = p
			continue
		}
		if links++; links > maxLinks {
			return "", &fs.PathError{Op: op, Path: name, Err: errors.New("too many levels of symbolic links")}
		}
		target := path.Join(cur, string(f.data))
		if path.IsAbs(string(f.data)) || target == ".." || strings.HasPrefix(target, "../") {
			return "", &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		parts = append(strings.Split(target, "/"), parts[i+1:]...)
		cur, i = ".", -1
	}
	return cur, nil
}

// Resolve is name with every symbolic link on the way followed, as
// filepath.EvalSymlinks gives it on disk.
func (t *Tree) Resolve(name string) (string, error) { return t.resolve("stat", name) }

// Lstat describes name without following a symbolic link.
func (t *Tree) Lstat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return t.info("lstat", name)
	}
	dir, err := t.resolve("lstat", path.Dir(name))
	if err != nil {
		return nil, err
	}
	return t.info("lstat", path.Join(dir, path.Base(name)))
}

// Stat describes name, following a symbolic link.
func (t *Tree) Stat(name string) (fs.FileInfo, error) {
	p, err := t.resolve("stat", name)
	if err != nil {
		return nil, err
	}
	return t.info("stat", p)
}

func (t *Tree) info(op, p string) (fs.FileInfo, error) {
	if f, ok := t.files[p]; ok {
		return treeInfo{name: path.Base(p), size: f.size, mode: f.mode | 0o444}, nil
	}
	if _, ok := t.dirs[p]; ok {
		return treeInfo{name: path.Base(p), mode: fs.ModeDir | 0o555}, nil
	}
	return nil, &fs.PathError{Op: op, Path: p, Err: fs.ErrNotExist}
}

// ReadFile returns the content of name (a copy: callers may change it).
func (t *Tree) ReadFile(name string) ([]byte, error) {
	p, err := t.resolve("open", name)
	if err != nil {
		return nil, err
	}
	f, ok := t.files[p]
	if !ok {
		if _, dir := t.dirs[p]; dir {
			return nil, &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("is a directory")}
		}
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	if f.oid != "" {
		data, err := t.large(f.oid)
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: name, Err: err}
		}
		return data, nil
	}
	return bytes.Clone(f.data), nil
}

// ReadDir lists the folder name, sorted by name.
func (t *Tree) ReadDir(name string) ([]fs.DirEntry, error) {
	p, err := t.resolve("open", name)
	if err != nil {
		return nil, err
	}
	names, ok := t.dirs[p]
	if !ok {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	out := make([]fs.DirEntry, 0, len(names))
	for _, n := range names {
		info, err := t.info("lstat", path.Join(p, n))
		if err != nil {
			return nil, err
		}
		out = append(out, fs.FileInfoToDirEntry(info))
	}
	return out, nil
}

// Open opens name for reading (fs.FS).
func (t *Tree) Open(name string) (fs.File, error) {
	info, err := t.Stat(name)
	if err != nil {
		return nil, err
	}
	if info.IsDir() {
		entries, err := t.ReadDir(name)
		if err != nil {
			return nil, err
		}
		return &treeDir{info: info, entries: entries}, nil
	}
	data, err := t.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return &treeOpen{Reader: bytes.NewReader(data), info: info}, nil
}

type treeInfo struct {
	name string
	size int64
	mode fs.FileMode
}

func (i treeInfo) Name() string       { return i.name }
func (i treeInfo) Size() int64        { return i.size }
func (i treeInfo) Mode() fs.FileMode  { return i.mode }
func (i treeInfo) ModTime() time.Time { return time.Time{} }
func (i treeInfo) IsDir() bool        { return i.mode.IsDir() }
func (i treeInfo) Sys() any           { return nil }

type treeOpen struct {
	*bytes.Reader
	info fs.FileInfo
}

func (f *treeOpen) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *treeOpen) Close() error               { return nil }

type treeDir struct {
	info    fs.FileInfo
	entries []fs.DirEntry
}

func (d *treeDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *treeDir) Close() error               { return nil }
func (d *treeDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.Name(), Err: fmt.Errorf("is a directory")}
}

func (d *treeDir) ReadDir(n int) ([]fs.DirEntry, error) {
	if n <= 0 {
		out := d.entries
		d.entries = nil
		return out, nil
	}
	if len(d.entries) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(d.entries))
	out := d.entries[:n]
	d.entries = d.entries[n:]
	return out, nil
}

// treeEntry is one blob of git ls-tree: its mode, object, size and clean
// slash path.
type treeEntry struct {
	mode, oid, path string
	size            int64
}

// lsTree lists the blobs of commit sha. export-ignore attributes (which
// git archive obeys) cannot hide a file this way; submodules are left out.
func (r *Repo) lsTree(ctx context.Context, sha string) ([]treeEntry, error) {
	out, err := r.Git(ctx, "ls-tree", "-r", "-z", "-l", "--full-tree", "--end-of-options", sha+"^{tree}")
	if err != nil {
		return nil, fmt.Errorf("listing the files of %s: %w", Short(sha), err)
	}
	var entries []treeEntry
	for _, rec := range strings.Split(out, "\x00") {
		meta, p, ok := strings.Cut(rec, "\t")
		if !ok {
			continue
		}
		f := strings.Fields(meta)
		if len(f) != 4 || f[1] != "blob" {
			continue // a submodule (commit) or something unexpected
		}
		size, err := strconv.ParseInt(f[3], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("listing the files of %s: size %q of %s", Short(sha), f[3], p)
		}
		clean := path.Clean(p)
		if clean == "." || clean == ".." || strings.HasPrefix(clean, "../") || path.IsAbs(clean) {
			return nil, fmt.Errorf("commit %s holds the path %q, which is outside its tree", Short(sha), p)
		}
		entries = append(entries, treeEntry{mode: f[0], oid: f[2], path: clean, size: size})
	}
	return entries, nil
}

// catFile reads the blobs of entries with one git cat-file --batch,
// handing each to take in order.
func (r *Repo) catFile(ctx context.Context, entries []treeEntry, take func(e treeEntry, data []byte) error) error {
	if len(entries) == 0 {
		return nil
	}
	var ids bytes.Buffer
	for _, e := range entries {
		ids.WriteString(e.oid + "\n")
	}
	cmd := exec.CommandContext(ctx, "git", "cat-file", "--batch")
	Interruptible(cmd)
	cmd.Dir = r.Root
	cmd.Env = append(cmd.Environ(), r.Env...)
	cmd.Stdin = &ids
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	werr := writeBlobs(bufio.NewReaderSize(stdout, 1<<16), len(entries), func(i int, data []byte) error {
		return take(entries[i], data)
	})
	if werr != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return werr
	}
	if err := cmd.Wait(); err != nil {
		return &Error{Args: []string{"cat-file", "--batch"}, Stderr: strings.TrimSpace(stderr.String()), Err: err}
	}
	return nil
}

// writeBlobs reads n answers of git cat-file --batch ("<oid> blob <size>\n"
// then the content and a newline) and hands each content to write.
func writeBlobs(rd *bufio.Reader, n int, write func(i int, data []byte) error) error {
	for i := 0; i < n; i++ {
		header, err := rd.ReadString('\n')
		if err != nil {
			return fmt.Errorf("reading git cat-file: %w", err)
		}
		f := strings.Fields(header)
		if len(f) != 3 {
			return fmt.Errorf("git cat-file: unexpected answer %q", strings.TrimSpace(header))
		}
		size, err := strconv.Atoi(f[2])
		if err != nil {
			return fmt.Errorf("git cat-file: unexpected size in %q", strings.TrimSpace(header))
		}
		data := make([]byte, size+1)
		if _, err := io.ReadFull(rd, data); err != nil {
			return fmt.Errorf("reading git cat-file: %w", err)
		}
		if err := write(i, data[:size]); err != nil {
			return err
		}
	}
	return nil
}
