//go:build unix

package fluxmodel

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/kubectl-gitops/kubectl-gitops/internal/readlimit"
)

// fileInfo is the fs.FileInfo of a Stat_t, for readlimit.Check.
type fileInfo struct {
	path string
	st   *syscall.Stat_t
}

func (f fileInfo) Name() string       { return filepath.Base(f.path) }
func (f fileInfo) Size() int64        { return f.st.Size }
func (f fileInfo) ModTime() time.Time { return time.Time{} }
func (f fileInfo) IsDir() bool        { return f.Mode().IsDir() }
func (f fileInfo) Sys() any           { return f.st }
func (f fileInfo) Mode() fs.FileMode {
	switch f.st.Mode & syscall.S_IFMT {
	case syscall.S_IFREG:
		return 0
	case syscall.S_IFDIR:
		return fs.ModeDir
	case syscall.S_IFIFO:
		return fs.ModeNamedPipe
	case syscall.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case syscall.S_IFBLK:
		return fs.ModeDevice
	case syscall.S_IFSOCK:
		return fs.ModeSocket
	}
	return fs.ModeIrregular
}

// readInto reads the file at path into buf (grown as needed) and returns
// the bytes. It goes straight to open/fstat/read/close: os.Open registers
// every file with the network poller and sets a finalizer, which for
// thousands of small files costs more than the reading.
//
// A file that is not regular (a tracked symlink to /dev/zero) or is larger
// than max is refused before anything is read (see internal/readlimit).
func readInto(ctx context.Context, path string, buf []byte) ([]byte, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	for err == syscall.EINTR {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return nil, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if err := readlimit.Check(ctx, path, fileInfo{path, &st}); err != nil {
		return nil, err
	}
	size := int(st.Size) + 1 // one more byte to see EOF in one read
	if cap(buf) < size {
		buf = make([]byte, size)
	}
	buf = buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := syscall.Read(fd, buf[len(buf):cap(buf)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
	}
}
