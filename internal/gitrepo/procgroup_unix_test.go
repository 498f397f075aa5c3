//go:build unix

package gitrepo

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// TestCancelStopsGitHelpers cancels a fetch while git's remote helper (a
// stand-in for git-remote-http, which outlived git by about 300 ms and kept
// Wait waiting on its pipes) is running. The helper must be stopped with
// git: when Git returns, the helper is no longer running, and Wait did not
// give up on the pipes (exec.ErrWaitDelay). No wall-clock bound: what is
// checked is who closed the pipes.
func TestCancelStopsGitHelpers(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command("git", "init", "-q", dir).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v: %s", err, out)
	}
	bin := t.TempDir()
	pidFile := filepath.Join(bin, "helper.pid")
	// git runs git-remote-slow for the URL slow::x; it holds git's stderr
	// (inherited) and sleeps, as a helper waiting on a slow server does.
	script := "#!/bin/sh\necho $$ > \"$HELPER_PID\"\nexec sleep 60\n"
	if err := os.WriteFile(filepath.Join(bin, "git-remote-slow"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	r := &Repo{Root: dir, Env: []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"), "HELPER_PID=" + pidFile}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The pid file is a FIFO: reading it waits for the helper's echo, and
	// the fetch is cancelled as soon as the helper runs.
	if err := syscall.Mkfifo(pidFile, 0o600); err != nil {
		t.Fatal(err)
	}
	helper := make(chan int, 1)
	go func() {
		defer cancel()
		if b, err := os.ReadFile(pidFile); err == nil {
			if pid, err := strconv.Atoi(string(bytes.TrimSpace(b))); err == nil {
				helper <- pid
			}
		}
	}()
	_, err := r.Git(ctx, "fetch", "slow::x")
	var pid int
	select {
	case pid = <-helper:
	default:
		// Unblock the reader, still waiting for a writer.
		if w, werr := os.OpenFile(pidFile, os.O_WRONLY|syscall.O_NONBLOCK, 0); werr == nil {
			w.Close()
		}
		t.Fatalf("git fetch returned before its helper started: %v", err)
	}
	stillRunning := running(pid)
	if stillRunning {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	if err == nil {
		t.Fatal("a cancelled fetch returned no error")
	}
	if errors.Is(err, exec.ErrWaitDelay) {
		t.Errorf("Wait gave up on git's pipes (%v): the helper kept them open after git was interrupted", err)
	}
	if stillRunning {
		t.Errorf("git's remote helper (pid %d) still runs after the cancelled git returned", pid)
	}
}

// running reports whether pid is a process that has not exited (a zombie
// waiting for its parent has).
func running(pid int) bool {
	if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil {
		// pid (comm) S ...: the state follows the last ')'.
		if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) {
			return b[i+2] != 'Z' && b[i+2] != 'X'
		}
	}
	return syscall.Kill(pid, 0) == nil
}
