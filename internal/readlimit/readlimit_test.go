package readlimit

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestReadFileRefusesDevicesAndFIFOs(t *testing.T) {
	ctx := context.Background()
	fifo := filepath.Join(t.TempDir(), "values.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/dev/zero", fifo, t.TempDir()} {
		// A FIFO nobody writes to would block an open for reading: the
		// refusal must come first.
		_, err := ReadFile(ctx, p)
		var nr *NotRegularError
		if !errors.As(err, &nr) {
			t.Errorf("%s: got %v, want a NotRegularError", p, err)
		}
	}
}

func TestReadFileBound(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "values.yaml")
	if err := os.WriteFile(p, bytes.Repeat([]byte("a: 1\n"), 1000), 0o644); err != nil {
		t.Fatal(err)
	}
	if data, err := ReadFile(WithMax(context.Background(), 5000), p); err != nil || len(data) != 5000 {
		t.Fatalf("at the limit: %d bytes, %v", len(data), err)
	}
	_, err := ReadFile(WithMax(context.Background(), 4999), p)
	var tl *TooLargeError
	if !errors.As(err, &tl) || tl.Limit != 4999 || !strings.Contains(err.Error(), "--max-input-size") {
		t.Fatalf("above the limit: %v", err)
	}
	if Max(context.Background()) != DefaultMax {
		t.Error("no limit in the context must mean DefaultMax")
	}
}

// An endless reader (standard input fed from /dev/zero) stops at the
// limit; a reader that never returns does not hold up cancellation.
func TestReadBoundedAndCancellable(t *testing.T) {
	_, err := Read(WithMax(context.Background(), 1<<20), zeros{}, "stdin")
	var tl *TooLargeError
	if !errors.As(err, &tl) {
		t.Fatalf("endless input: %v", err)
	}
	pr, pw := io.Pipe()
	defer pw.Close()
	cause := errors.New("interrupted")
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := Read(ctx, pr, "stdin")
		done <- err
	}()
	cancel(cause)
	if err := <-done; !errors.Is(err, cause) {
		t.Fatalf("blocked read after cancel: %v, want the cause", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestSizeFlag(t *testing.T) {
	for in, want := range map[string]int64{"64Mi": 64 << 20, "64MiB": 64 << 20, "1Gi": 1 << 30, "500M": 500e6, "1024": 1024} {
		var s Size
		if err := s.Set(in); err != nil || int64(s) != want {
			t.Errorf("%s: %d %v, want %d", in, s, err, want)
		}
	}
	for _, in := range []string{"", "lots", "-1Mi", "0"} {
		var s Size
		if err := s.Set(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
	s := Size(DefaultMax)
	if s.String() != "64Mi" {
		t.Errorf("default prints as %s", s.String())
	}
}
