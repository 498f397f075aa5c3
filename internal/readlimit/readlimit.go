// Package readlimit reads the files a command is given (values files,
// manifests) with a bound on their size, refusing what is not a regular
// file (a device such as /dev/zero, a FIFO, a socket), and stops reading
// when the context is cancelled. Any reader of user input can call it.
//
// The bound travels in the context (WithMax), so that one flag on the root
// command (--max-input-size) reaches every reader below it.
package readlimit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
)

// DefaultMax is the size above which a file is refused unless
// --max-input-size raises it: 64 MiB, far above any hand-written values
// file or manifest bundle, far below what would exhaust memory.
const DefaultMax int64 = 64 << 20

// chunk is how much is read between two looks at the context.
const chunk = 1 << 20

// TooLargeError is input above the limit.
type TooLargeError struct {
	Name  string
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s is larger than %s, the input size limit; raise it with --max-input-size if the file is meant to be that big", e.Name, FormatSize(e.Limit))
}

// ExitCode is 2: fix the argument, or raise --max-input-size.
func (e *TooLargeError) ExitCode() int { return int(exitcode.Usage) }

// NotRegularError is a path that is not a regular file: reading a device
// or a FIFO may never end.
type NotRegularError struct {
	Name string
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s is %s, not a regular file; give a file (or '-' to read standard input)", e.Name, kind(e.Mode))
}

// ExitCode is 2: give a file instead.
func (e *NotRegularError) ExitCode() int { return int(exitcode.Usage) }

func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO (named pipe)"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m.IsDir():
		return "a directory"
	}
	return "not a regular file (" + m.String() + ")"
}

type maxKey struct{}

// WithMax returns ctx carrying the limit n (n <= 0: DefaultMax).
func WithMax(ctx context.Context, n int64) context.Context {
	return context.WithValue(ctx, maxKey{}, n)
}

// Max is the limit ctx carries, DefaultMax if none.
func Max(ctx context.Context) int64 {
	if n, ok := ctx.Value(maxKey{}).(int64); ok && n > 0 {
		return n
	}
	return DefaultMax
}

// Check refuses a file that is not regular or is above the limit, from
// what stat says of it: readers that open files their own way call it.
func Check(ctx context.Context, name string, st fs.FileInfo) error {
	if !st.Mode().IsRegular() {
		return &NotRegularError{Name: name, Mode: st.Mode()}
	}
	if max := Max(ctx); st.Size() > max {
		return &TooLargeError{Name: name, Limit: max}
	}
	return nil
}

// ReadFile reads the regular file at path, up to the limit ctx carries.
// The file is looked at before it is opened, so a FIFO is refused without
// blocking on it.
func ReadFile(ctx context.Context, path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := Check(ctx, path, st); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Swapped for something else between the two looks: look again.
	if st, err = f.Stat(); err != nil {
		return nil, err
	}
	if err := Check(ctx, path, st); err != nil {
		return nil, err
	}
	return read(ctx, f, path, st.Size())
}

// Read reads r (standard input, named name in errors) to its end, up to
// the limit ctx carries. A read that blocks (a terminal, a pipe nobody
// writes to) does not hold up cancellation: Read returns ctx's error, and
// the blocked read is left to the exiting process.
func Read(ctx context.Context, r io.Reader, name string) ([]byte, error) {
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		data, err := read(ctx, r, name, 0)
		done <- result{data, err}
	}()
	select {
	case res := <-done:
		return res.data, res.err
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

func read(ctx context.Context, r io.Reader, name string, sizeHint int64) ([]byte, error) {
	max := Max(ctx)
	buf := make([]byte, 0, min(max, sizeHint)+1)
	for {
		if err := ctx.Err(); err != nil {
			return nil, context.Cause(ctx)
		}
		if int64(len(buf)) > max {
			return nil, &TooLargeError{Name: name, Limit: max}
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		want := min(cap(buf)-len(buf), chunk)
		n, err := r.Read(buf[len(buf) : len(buf)+want])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			if int64(len(buf)) > max {
				return nil, &TooLargeError{Name: name, Limit: max}
			}
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// Size is a flag value holding a byte count, written as 64Mi, 1Gi, 500M or
// a plain number of bytes.
type Size int64

func (s *Size) String() string { return FormatSize(int64(*s)) }
func (s *Size) Type() string   { return "size" }

func (s *Size) Set(v string) error {
	v = strings.TrimSuffix(strings.TrimSpace(v), "B") // 64MiB reads as 64Mi
	q, err := resource.ParseQuantity(v)
	if err != nil {
		return fmt.Errorf("%q is not a size: write it as 64Mi, 1Gi or a number of bytes", v)
	}
	n, ok := q.AsInt64()
	if !ok || n <= 0 {
		return fmt.Errorf("%q is not a positive size in bytes", v)
	}
	*s = Size(n)
	return nil
}

// FormatSize writes n as the largest binary unit that divides it (64Mi).
func FormatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		size   int64
	}{{"Gi", 1 << 30}, {"Mi", 1 << 20}, {"Ki", 1 << 10}} {
		if n >= u.size && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}
