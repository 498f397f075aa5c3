// Package binarytest runs the kubectl-gitops binary the way a user does,
// for the binary-level tests and benchmarks of the plugins: it builds
// ./cmd/kubectl-gitops once per test process, runs it (or any program) in
// a directory with a cleared environment, and sets up real Git checkouts
// with a bare "remote" next to them.
//
// A package using Build removes what it built with
//
//	func TestMain(m *testing.M) { os.Exit(binarytest.Main(m)) }
package binarytest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// mainPkg is built by import path, so Build works from any package
// directory of the module.
const mainPkg = "github.com/kubectl-gitops/kubectl-gitops/cmd/kubectl-gitops"

var (
	mu     sync.Mutex
	dir    string                // holds every binary this process built
	builds = map[string]*build{} // by flags
)

type build struct {
	once sync.Once
	path string
	err  error
}

// Build returns the path of kubectl-gitops built from this checkout with
// the given `go build` flags (none for a plain build; Release builds it as
// a release does). Each set of flags is built once per test process,
// however many tests ask.
func Build(tb testing.TB, flags ...string) string {
	tb.Helper()
	return buildPkg(tb, mainPkg, nil, flags...)
}

// Release returns the path of kubectl-gitops built as .goreleaser.yaml
// builds it: CGO_ENABLED=0, -trimpath, -ldflags=-s -w. Time and memory are
// measured on this build. With cgo (go's default where a C compiler is
// installed) the binary is linked dynamically, and since kustomize's API
// imports Go's plugin package, it then exports every Go symbol: 81 MB
// instead of 63, and 71 MiB peak RSS for --help instead of 37 (Linux
// 6.18, measured on fresh copies).
func Release(tb testing.TB) string {
	tb.Helper()
	return buildPkg(tb, mainPkg, []string{"CGO_ENABLED=0"}, "-trimpath", "-ldflags=-s -w")
}

func buildPkg(tb testing.TB, pkg string, env []string, flags ...string) string {
	tb.Helper()
	key := pkg + "\x00" + strings.Join(env, "\x00") + "\x00" + strings.Join(flags, "\x00")
	mu.Lock()
	if dir == "" {
		d, err := os.MkdirTemp("", "kubectl-gitops-bin-")
		if err != nil {
			mu.Unlock()
			tb.Fatalf("building kubectl-gitops: %v", err)
		}
		dir = d
	}
	b := builds[key]
	if b == nil {
		b = &build{path: filepath.Join(dir, fmt.Sprintf("%d", len(builds)), path.Base(pkg))}
		builds[key] = b
	}
	mu.Unlock()
	b.once.Do(func() {
		args := append(append([]string{"build"}, flags...), "-o", b.path, pkg)
		cmd := exec.Command("go", args...)
		cmd.Env = append(os.Environ(), env...)
		if msg, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, msg)
		}
	})
	if b.err != nil {
		tb.Fatalf("building kubectl-gitops: %v", b.err)
	}
	return b.path
}

// Main runs the tests, removes the binaries Build made, and returns the
// tests' exit code.
func Main(m *testing.M) int {
	code := m.Run()
	mu.Lock()
	defer mu.Unlock()
	if dir != "" {
		os.RemoveAll(dir)
	}
	return code
}

// Env is all a run sees of the environment: PATH, HOME, the Git identity
// name <email>, no system-wide Git configuration, and a KUBECONFIG that
// does not exist, so that no run reaches a cluster (least of all the
// developer's own) by accident.
func Env(home, name, email string) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"GIT_AUTHOR_NAME=" + name, "GIT_AUTHOR_EMAIL=" + email,
		"GIT_COMMITTER_NAME=" + name, "GIT_COMMITTER_EMAIL=" + email,
		"GIT_CONFIG_NOSYSTEM=1",
		"KUBECONFIG=" + filepath.Join(home, "no-kubeconfig"),
	}
}

// Result is what one run printed, how it exited and what it cost.
type Result struct {
	Stdout, Stderr string
	ExitCode       int
	// Wall is the time from start to exit; CPU is the user+sys time of
	// the process, steadier than Wall on a busy machine.
	Wall, CPU time.Duration
	// PeakRSS is the process's maximum resident set size, in bytes (set
	// by Measure only).
	PeakRSS int64
}

// Run runs program with args in dir with exactly env (nil: this process's
// environment). A non-zero exit is a result, not a failure: check
// ExitCode. A program that cannot be started fails tb.
func Run(tb testing.TB, env []string, dir, program string, args ...string) Result {
	tb.Helper()
	cmd := exec.Command(program, args...)
	cmd.Dir, cmd.Env = dir, env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := Result{Stdout: stdout.String(), Stderr: stderr.String(), Wall: time.Since(start)}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		tb.Fatalf("running %s %s: %v", program, strings.Join(args, " "), err)
	}
	if cmd.ProcessState != nil {
		r.ExitCode = cmd.ProcessState.ExitCode()
		r.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	return r
}

// Measure is Run with the peak resident set size measured too (Linux):
// program runs under the peakrss helper (built once), which reports the
// command's own wall time, CPU time and peak RSS.
func Measure(tb testing.TB, env []string, dir, program string, args ...string) Result {
	tb.Helper()
	if env == nil {
		env = os.Environ()
	}
	m := UnderPeakRSS(tb, program, args...)
	r := Run(tb, append(slices.Clone(env), m.Env), dir, m.Name, m.Args...)
	r.Wall, r.CPU, r.PeakRSS = m.Read(tb, r.Stderr)
	return r
}

// PeakRSSRun is a command line that runs a program under the peakrss
// helper, for a caller that starts it itself (with its own stdin, say).
type PeakRSSRun struct {
	Name string
	Args []string
	// Env is the entry to add to the command's environment.
	Env string
	out string
}

// UnderPeakRSS returns how to run program with args under the peakrss
// helper (built once): a child started straight from a large test process
// reads the test process's size as its own peak.
func UnderPeakRSS(tb testing.TB, program string, args ...string) PeakRSSRun {
	tb.Helper()
	helper := buildPkg(tb, "github.com/kubectl-gitops/kubectl-gitops/internal/binarytest/peakrss", nil)
	out := filepath.Join(tb.TempDir(), "peakrss")
	return PeakRSSRun{Name: helper, Args: append([]string{program}, args...), Env: "PEAKRSS_OUT=" + out, out: out}
}

// Read returns the wall time, CPU time and peak RSS (bytes) the helper
// wrote after the run; stderr is the run's, for the failure message.
func (m PeakRSSRun) Read(tb testing.TB, stderr string) (wall, cpu time.Duration, peakRSS int64) {
	tb.Helper()
	b, err := os.ReadFile(m.out)
	if err != nil {
		tb.Fatalf("running %s under peakrss: %v\n%s", m.Args[0], err, stderr)
	}
	var w, c int64
	if _, err := fmt.Sscan(string(b), &w, &c, &peakRSS); err != nil {
		tb.Fatalf("peakrss wrote %q: %v", b, err)
	}
	return time.Duration(w), time.Duration(c), peakRSS
}

// Installed copies the binary at path to a new file, as `cp`, krew's
// untar or a package manager installs it, and returns the copy's path.
// Time and memory are measured on the copy: a binary fresh from the Go
// linker can sit in the page cache as 2 MiB folios that the kernel maps
// whole, and then reads tens of MiB more resident than the same bytes
// installed (71 MiB against 44 MiB for `--help`, measured on Linux 6.18).
func Installed(tb testing.TB, path string) string {
	tb.Helper()
	src, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer src.Close()
	dst := filepath.Join(tb.TempDir(), filepath.Base(path))
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		tb.Fatal(err)
	}
	// In 64 KiB writes, as tar and cp write: one write of the whole file
	// fills the page cache with large folios too.
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := out.Write(buf[:n]); werr != nil {
				tb.Fatal(werr)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
	if err := out.Close(); err != nil {
		tb.Fatal(err)
	}
	return dst
}

// Git runs git with args in dir with env (nil: this process's) and returns
// its combined output; a failing git fails tb.
func Git(tb testing.TB, env []string, dir string, args ...string) string {
	tb.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("git %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return string(out)
}

// Commit makes dir a new Git repository on branch main with one commit,
// message, holding every file in it.
func Commit(tb testing.TB, env []string, dir, message string) {
	tb.Helper()
	Git(tb, env, dir, "init", "-q", "-b", "main")
	Git(tb, env, dir, "add", "-A")
	Git(tb, env, dir, "commit", "-q", "-m", message)
}

// Publish creates a bare repository remote.git next to the checkout work,
// adds it as origin and pushes main to it with upstream tracking, and
// returns its path: a remote to push to without leaving the machine.
func Publish(tb testing.TB, env []string, work string) string {
	tb.Helper()
	parent := filepath.Dir(work)
	remote := filepath.Join(parent, "remote.git")
	Git(tb, env, parent, "init", "-q", "--bare", "-b", "main", remote)
	Git(tb, env, work, "remote", "add", "origin", remote)
	Git(tb, env, work, "push", "-q", "-u", "origin", "main")
	return remote
}

// WriteFile writes content to rel (a slash path) under root, creating
// the folders on the way; a failure fails tb.
func WriteFile(tb testing.TB, root, rel, content string) {
	tb.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// CopyTree copies the files under from to the directory to, creating
// directories as needed.
func CopyTree(tb testing.TB, from, to string) {
	tb.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, p)
		if err != nil {
			return err
		}
		target := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		tb.Fatalf("copying %s: %v", from, err)
	}
}

// SignalStarted is Signal for a command that must handle sig: a process
// that sig killed (its default action) got it before the binary had
// installed its handlers (on a loaded machine, exec and package init of a
// large binary can take longer than wait), so it is started again from
// newCmd with twice the wait, up to five times. A binary that never handles
// sig is still killed by it every time and returned as such. It returns
// the last command run and the time from its signal to its exit.
func SignalStarted(tb testing.TB, newCmd func() *exec.Cmd, sig syscall.Signal, wait time.Duration) (*exec.Cmd, time.Duration) {
	tb.Helper()
	for try := 1; ; try++ {
		cmd := newCmd()
		took := Signal(tb, cmd, sig, wait)
		ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
		if try == 5 || !ok || !ws.Signaled() || ws.Signal() != sig {
			return cmd, took
		}
		tb.Logf("%s: killed by %v %s after start, before it handled signals; again with %s", filepath.Base(cmd.Path), sig, wait, 2*wait)
		wait *= 2
	}
}

// Signal starts cmd, sends it sig after wait, and waits for it to exit; it
// returns the time from the signal to the exit. A process still running
// 30 s after the signal is killed and fails tb (a command that swallows
// signals must not hang the test run).
func Signal(tb testing.TB, cmd *exec.Cmd, sig os.Signal, wait time.Duration) time.Duration {
	tb.Helper()
	if err := cmd.Start(); err != nil {
		tb.Fatalf("starting %s: %v", cmd, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	time.Sleep(wait)
	sent := time.Now()
	if err := cmd.Process.Signal(sig); err != nil {
		tb.Fatalf("signalling %s: %v", cmd, err)
	}
	select {
	case <-done:
		return time.Since(sent)
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		tb.Fatalf("%s: still running 30 s after %v; killed", cmd, sig)
		return 0
	}
}

// HangingServer accepts connections on a loopback port and never answers:
// an API server, Git host or chart repository that has stopped responding.
// It returns its address and a channel that gets a value as connections
// arrive (dropped when nobody reads it).
func HangingServer(tb testing.TB) (addr string, accepted <-chan struct{}) {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ch := make(chan struct{}, 1)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}()
	tb.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String(), ch
}
