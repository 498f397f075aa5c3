package cluster

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

func newState(t *testing.T) *State {
	t.Helper()
	s := &State{Dir: filepath.Join(t.TempDir(), "sandbox")}
	for _, d := range []string{"run", "logs", "work"} {
		if err := os.MkdirAll(s.path(d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(s.path(marker), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

// Down stops what was started, including a grandchild in the same process group, and removes the state.
func TestDownStopsProcessGroupsAndRemovesState(t *testing.T) {
	s := newState(t)
	p, err := s.start("forker", "/bin/sh", []string{"-c", "tail -f /dev/null & echo $! > child.pid; wait"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	childFile := filepath.Join(s.Dir, "work", "forker", "child.pid")
	var child int
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for child == 0 {
		select {
		case <-tick.C:
		case <-p.exited:
			t.Fatalf("the test process exited early: %v\n%s", p.err, logTail(p.log, 10))
		}
		data, _ := os.ReadFile(childFile)
		child, _ = strconv.Atoi(string(trimNL(data)))
	}
	if !s.alive(p.PID) || !s.alive(child) {
		t.Fatalf("started processes are not recognised as the sandbox's own")
	}
	if err := s.Down(context.Background(), io.Discard); err != nil {
		t.Fatal(err)
	}
	<-p.exited
	if info, ok := readProc(child); ok && !info.zombie {
		t.Fatalf("grandchild %d outlived down", child)
	}
	if _, err := os.Stat(s.Dir); !os.IsNotExist(err) {
		t.Fatalf("state directory still there: %v", err)
	}
}

// A stale pid file naming a process the sandbox does not own (here: the test itself) is ignored.
func TestStalePidFileIsNotKilled(t *testing.T) {
	s := newState(t)
	stale := `{"name":"etcd","pid":` + strconv.Itoa(os.Getpid()) + `,"exe":"/nonexistent/etcd"}`
	if err := os.WriteFile(s.path("run", "etcd.pid"), []byte(stale), 0o644); err != nil {
		t.Fatal(err)
	}
	if s.alive(os.Getpid()) {
		t.Fatal("the test process counts as a sandbox process")
	}
	if err := s.Healthy(context.Background()); err == nil {
		t.Fatal("Healthy = nil for a sandbox with only a stale pid file")
	}
	if err := s.Down(context.Background(), io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.Dir); !os.IsNotExist(err) {
		t.Fatalf("state directory still there: %v", err)
	}
}

// Down refuses a directory the sandbox did not make.
func TestDownLeavesForeignDirectoryAlone(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "precious"), []byte("x"), 0o644)
	s := &State{Dir: dir}
	if err := s.Down(context.Background(), io.Discard); err == nil {
		t.Fatal("Down removed a directory without the sandbox marker")
	}
	if _, err := os.Stat(filepath.Join(dir, "precious")); err != nil {
		t.Fatal(err)
	}
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}
