package gitrepo

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Export writes the files of commit sha into dir (which must exist and be
// empty), as the commit holds them (lsTree, catFile): the checkout, its
// index and its .git are not touched. Symlinks are written as symlinks;
// submodules are left out.
func (r *Repo) Export(ctx context.Context, sha, dir string) error {
	entries, err := r.lsTree(ctx, sha)
	if err != nil {
		return err
	}
	err = r.catFile(ctx, entries, func(e treeEntry, data []byte) error {
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
	if err != nil {
		return fmt.Errorf("writing the files of %s: %w", Short(sha), err)
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
