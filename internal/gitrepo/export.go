package gitrepo

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// Export writes the files of commit sha into dir (which must exist and be
// empty), as the commit holds them: the checkout, its index and its
// .git are not touched. It reads the tree with git ls-tree and the blobs
// with one git cat-file --batch, so export-ignore attributes (which git
// archive obeys) cannot hide a file. Symlinks are written as symlinks;
// submodules are left out.
func (r *Repo) Export(ctx context.Context, sha, dir string) error {
	out, err := r.Git(ctx, "ls-tree", "-r", "-z", "--full-tree", "--end-of-options", sha+"^{tree}")
	if err != nil {
		return fmt.Errorf("listing the files of %s: %w", Short(sha), err)
	}
	type entry struct{ mode, object, path string }
	var entries []entry
	var ids bytes.Buffer
	for _, rec := range strings.Split(out, "\x00") {
		meta, p, ok := strings.Cut(rec, "\t")
		if !ok {
			continue
		}
		f := strings.Fields(meta)
		if len(f) != 3 || f[1] != "blob" {
			continue // a submodule (commit) or something unexpected
		}
		clean := path.Clean(p)
		if clean == "." || clean == ".." || strings.HasPrefix(clean, "../") || path.IsAbs(clean) {
			return fmt.Errorf("commit %s holds the path %q, which is outside its tree", Short(sha), p)
		}
		entries = append(entries, entry{mode: f[0], object: f[2], path: clean})
		ids.WriteString(f[2] + "\n")
	}
	if len(entries) == 0 {
		return nil
	}
	cmd := exec.CommandContext(ctx, "git", "cat-file", "--batch")
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
		e := entries[i]
		dst := filepath.Join(dir, filepath.FromSlash(e.path))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		switch e.mode {
		case "120000":
			return os.Symlink(string(data), dst)
		case "100755":
			return os.WriteFile(dst, data, 0o755)
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if werr != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return fmt.Errorf("writing the files of %s: %w", Short(sha), werr)
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
