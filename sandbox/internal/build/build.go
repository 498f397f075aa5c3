// Package build turns pinned third-party Go modules into cached binaries.
//
// Nothing here is downloaded as a binary: each component is built from source by writing a throwaway module
// (a go.mod with the requires and replaces the component needs, plus a tiny main or tools file) under the
// cache and running `go build`. Binaries are cached by version, and written to a temporary name first so an
// interrupted build never leaves a binary that looks complete.
package build

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Module is one throwaway module and the binaries built from it.
type Module struct {
	// Name and Version name the source directory, src/<Name>-<Version>.
	Name    string
	Version string
	// GoMod is the whole go.mod text; Files are extra files (a main, a tools.go) by relative path.
	GoMod string
	Files map[string]string
	// TidyTolerant runs `go mod tidy -e`: some modules list test-only dependencies the proxy refuses.
	TidyTolerant bool
	Targets      []Target
}

// Target is one binary: bin/<Bin>-<Version>, built from package Pkg.
type Target struct {
	Bin string
	Pkg string
}

// Cache is the root of the build cache, ${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-gitops/sandbox.
type Cache struct {
	Dir string
	// Log receives progress lines ("building etcd v3.6.16 ...").
	Log io.Writer
}

// DefaultCacheDir follows the XDG base directory convention.
func DefaultCacheDir() (string, error) {
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("finding the cache directory: set XDG_CACHE_HOME or HOME: %w", err)
		}
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "kubectl-gitops", "sandbox"), nil
}

// BinPath is where the binary of a target is cached.
func (c Cache) BinPath(m Module, t Target) string {
	return filepath.Join(c.Dir, "bin", t.Bin+"-"+m.Version)
}

// SrcDir is where the throwaway module of m is written.
func (c Cache) SrcDir(m Module) string {
	return filepath.Join(c.Dir, "src", m.Name+"-"+m.Version)
}

// Error says which module failed to build and why, with the tail of the go command's output.
type Error struct {
	Module string
	Step   string
	Tail   string
	Err    error
}

func (e *Error) Error() string {
	return fmt.Sprintf("building %s failed at %q: %v\n--- last lines of the go command's output ---\n%s", e.Module, e.Step, e.Err, e.Tail)
}

func (e *Error) Unwrap() error { return e.Err }

// Built reports whether every binary of m is already cached.
func (c Cache) Built(m Module) bool {
	for _, t := range m.Targets {
		if fi, err := os.Stat(c.BinPath(m, t)); err != nil || !fi.Mode().IsRegular() {
			return false
		}
	}
	return true
}

// Ensure builds the missing binaries of m and returns how long it took (0 when everything was cached).
func (c Cache) Ensure(ctx context.Context, m Module) (time.Duration, error) {
	if c.Built(m) {
		return 0, nil
	}
	// Several checkouts may share the cache (each helper's worktree runs `make sandbox-up`): one builds a
	// module while the others wait for it, instead of building it twice or removing each other's files.
	unlock, err := c.lock(ctx, m.Name+"-"+m.Version)
	if err != nil {
		return 0, err
	}
	defer unlock()
	if c.Built(m) {
		return 0, nil
	}
	start := time.Now()
	fmt.Fprintf(c.Log, "building %s %s (cold builds take minutes; the result is cached)\n", m.Name, m.Version)
	if err := c.Prepare(ctx, m); err != nil {
		return 0, err
	}
	dir := c.SrcDir(m)
	if err := os.MkdirAll(filepath.Join(c.Dir, "bin"), 0o755); err != nil {
		return 0, fmt.Errorf("creating the binary cache: %w", err)
	}
	for _, t := range m.Targets {
		out := c.BinPath(m, t)
		if _, err := os.Stat(out); err == nil {
			continue
		}
		// A temporary name in the same directory, renamed into place only after a full build: a killed build
		// leaves at most a stray temp file, never a truncated binary under the final name.
		tmp := filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+fmt.Sprintf(".tmp%d", os.Getpid()))
		if err := c.goCmd(ctx, m, dir, "go build "+t.Pkg, "build", "-trimpath", "-ldflags=-s -w", "-o", tmp, t.Pkg); err != nil {
			os.Remove(tmp)
			return 0, err
		}
		if err := os.Rename(tmp, out); err != nil {
			return 0, fmt.Errorf("moving the built %s into the cache: %w", t.Bin, err)
		}
	}
	d := time.Since(start).Round(100 * time.Millisecond)
	fmt.Fprintf(c.Log, "built %s %s in %s\n", m.Name, m.Version, d)
	return d, nil
}

// lock takes an exclusive flock on locks/<name>.lock under the cache, waiting for another process that holds
// it. The lock goes away with the process, so a killed build never leaves the cache locked.
func (c Cache) lock(ctx context.Context, name string) (func(), error) {
	dir := filepath.Join(c.Dir, "locks")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, name+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		fmt.Fprintf(c.Log, "waiting for another process building %s\n", name)
		done := make(chan error, 1)
		go func() { done <- syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }()
		select {
		case err := <-done:
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("locking the cache for %s: %w", name, err)
			}
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		}
	}
	return func() { f.Close() }, nil
}

// Lock is lock for callers that fill other parts of the cache.
func (c Cache) Lock(ctx context.Context, name string) (func(), error) { return c.lock(ctx, name) }

// Prepare writes the throwaway module of m and resolves its dependencies, without building.
func (c Cache) Prepare(ctx context.Context, m Module) error {
	dir := c.SrcDir(m)
	// Start from a clean directory so an interrupted earlier attempt (half-written go.sum) cannot leak in.
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("cleaning %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	files := map[string]string{"go.mod": m.GoMod}
	for k, v := range m.Files {
		files[k] = v
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("creating %s: %w", filepath.Dir(p), err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", p, err)
		}
	}
	args := []string{"mod", "tidy"}
	if m.TidyTolerant {
		args = append(args, "-e")
	}
	return c.goCmd(ctx, m, dir, "go "+strings.Join(args, " "), args...)
}

// ModuleDir returns the module-cache directory of a dependency of m (for files shipped in a module, such as
// CRDs and kwok stages). m must have been prepared.
func (c Cache) ModuleDir(ctx context.Context, m Module, path string) (string, error) {
	dir := c.SrcDir(m)
	if _, err := os.Stat(filepath.Join(dir, "go.sum")); err != nil {
		if err := c.Prepare(ctx, m); err != nil {
			return "", err
		}
	}
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-json", path)
	cmd.Dir = dir
	cmd.Env = goEnv("-mod=mod")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", &Error{Module: m.Name + " " + m.Version, Step: "go list -m " + path, Tail: tail(stderr.String(), 20), Err: err}
	}
	var info struct{ Dir string }
	if err := json.Unmarshal(out, &info); err != nil || info.Dir == "" {
		// go list -m names the directory only once the module is downloaded.
		dl := exec.CommandContext(ctx, "go", "mod", "download", "-json", path)
		dl.Dir = dir
		dl.Env = goEnv("-mod=mod")
		out, err = dl.Output()
		if err != nil {
			return "", fmt.Errorf("downloading %s through the module proxy: %w", path, err)
		}
		if err := json.Unmarshal(out, &info); err != nil || info.Dir == "" {
			return "", fmt.Errorf("no module directory for %s in %s", path, dir)
		}
	}
	return info.Dir, nil
}

func (c Cache) goCmd(ctx context.Context, m Module, dir, step string, args ...string) error {
	return runGo(ctx, m, dir, step, goEnv("-mod=mod"), args...)
}

func runGo(ctx context.Context, m Module, dir, step string, env []string, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return &Error{Module: m.Name + " " + m.Version, Step: step, Tail: tail(out.String(), 30), Err: err}
	}
	return nil
}

// goEnv is the caller's environment with the settings every component build needs: two packages at a time
// (the machines have 2 cores shared with other work), no workspace, no toolchain switch, no VCS stamping.
func goEnv(extraFlags ...string) []string {
	env := []string{}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GOFLAGS=") || strings.HasPrefix(kv, "GOWORK=") || strings.HasPrefix(kv, "GOTOOLCHAIN=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "GOFLAGS="+strings.Join(append([]string{"-p=2", "-buildvcs=false"}, extraFlags...), " "), "GOWORK=off", "GOTOOLCHAIN=local")
}

// RunGo runs a go command in dir with the build environment, for modules of this repository (their
// go.mod and go.sum are used as they are, never rewritten).
func RunGo(ctx context.Context, name, dir string, args ...string) error {
	return runGo(ctx, Module{Name: name, Version: "(local)"}, dir, "go "+strings.Join(args, " "), goEnv(), args...)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
