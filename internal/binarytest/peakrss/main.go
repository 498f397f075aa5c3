// Command peakrss runs a command and writes, to the file named by
// $PEAKRSS_OUT, its wall time, CPU time (user+sys) in nanoseconds and its
// peak resident set size in bytes, one line: "wall cpu rss".
//
// Why a program of its own: Go starts a child with CLONE_VM, and Linux
// records the parent's memory high-water mark as the child's when the child
// execs, so a large test process reads its own size as the peak of every
// command it runs. This small process in between has a small one.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 || os.Getenv("PEAKRSS_OUT") == "" {
		fmt.Fprintln(os.Stderr, "usage: PEAKRSS_OUT=FILE peakrss COMMAND [ARG]...")
		os.Exit(2)
	}
	out := os.Getenv("PEAKRSS_OUT")
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Env = without(os.Environ(), "PEAKRSS_OUT")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		fmt.Fprintln(os.Stderr, "peakrss:", err)
		os.Exit(127)
	}
	ps := cmd.ProcessState
	var rss int64
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		rss = int64(ru.Maxrss) * 1024 // kilobytes on Linux
	}
	line := fmt.Sprintf("%d %d %d\n", wall.Nanoseconds(), (ps.UserTime() + ps.SystemTime()).Nanoseconds(), rss)
	if err := os.WriteFile(out, []byte(line), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "peakrss:", err)
		os.Exit(127)
	}
	os.Exit(ps.ExitCode())
}

func without(env []string, name string) []string {
	var out []string
	for _, kv := range env {
		if len(kv) > len(name) && kv[:len(name)+1] == name+"=" {
			continue
		}
		out = append(out, kv)
	}
	return out
}
