package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// pidFile is what the sandbox remembers about a process it started.
type pidFile struct {
	Name string   `json:"name"`
	PID  int      `json:"pid"`
	Exe  string   `json:"exe"`
	Args []string `json:"args"`
}

// proc is a process started by this run of `up`.
type proc struct {
	pidFile
	log    string
	exited chan struct{}
	err    error
}

// start launches exe in its own process group (so `down` can stop it with everything it forked, and a
// Ctrl-C in the terminal that ran `up` does not reach it), with its working directory under the state
// directory (which is how `down` recognises processes it owns), logging to logs/<name>.log.
func (s *State) start(name, exe string, args, env []string) (*proc, error) {
	work := filepath.Join(s.Dir, "work", name)
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", work, err)
	}
	logPath := filepath.Join(s.Dir, "logs", name+".log")
	pidPath := filepath.Join(s.Dir, "run", name+".pid")
	for _, d := range []string{filepath.Dir(logPath), filepath.Dir(pidPath)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("creating %s: %w", d, err)
		}
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", logPath, err)
	}
	defer logf.Close()
	cmd := exec.Command(exe, args...)
	cmd.Dir = work
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Env = mergeEnv(os.Environ(), env)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s (%s): %w", name, exe, err)
	}
	p := &proc{pidFile: pidFile{Name: name, PID: cmd.Process.Pid, Exe: exe, Args: args}, log: logPath, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	data, _ := json.MarshalIndent(p.pidFile, "", "  ")
	if err := os.WriteFile(pidPath, data, 0o644); err != nil {
		return p, fmt.Errorf("writing the pid file of %s: %w", name, err)
	}
	return p, nil
}

// mergeEnv overrides keys of base with extra (KUBECONFIG from the caller's shell must not leak in).
func mergeEnv(base, extra []string) []string {
	keys := map[string]bool{}
	for _, kv := range extra {
		k, _, _ := strings.Cut(kv, "=")
		keys[k] = true
	}
	var out []string
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if !keys[k] {
			out = append(out, kv)
		}
	}
	return append(out, extra...)
}

// readPidFiles returns what run/*.pid and run/<cluster>/*.pid remember.
func (s *State) readPidFiles() ([]pidFile, error) {
	matches, err := filepath.Glob(filepath.Join(s.Dir, "run", "*.pid"))
	if err != nil {
		return nil, err
	}
	nested, _ := filepath.Glob(filepath.Join(s.Dir, "run", "*", "*.pid"))
	matches = append(matches, nested...)
	var out []pidFile
	for _, m := range matches {
		data, err := os.ReadFile(m)
		if err != nil {
			continue
		}
		var p pidFile
		if json.Unmarshal(data, &p) != nil || p.PID <= 0 {
			continue // a torn write from a killed run: the /proc sweep in down still finds the process
		}
		out = append(out, p)
	}
	return out, nil
}

// procInfo is what /proc says of a process.
type procInfo struct {
	pid, pgid int
	zombie    bool
	cwd       string
}

func readProc(pid int) (procInfo, bool) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procInfo{}, false
	}
	// Fields after the parenthesised command name: state ppid pgrp ...
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procInfo{}, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 3 {
		return procInfo{}, false
	}
	pgid, _ := strconv.Atoi(f[2])
	cwd, _ := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	return procInfo{pid: pid, pgid: pgid, zombie: f[0] == "Z" || f[0] == "X", cwd: strings.TrimSuffix(cwd, " (deleted)")}, true
}

// owned lists the live processes whose working directory is under this sandbox's work directory: every
// process the sandbox starts, and everything those fork, runs there. A stale pid file whose pid now belongs
// to someone else's process is therefore never acted on.
func (s *State) owned() []procInfo {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	work := filepath.Join(s.Dir, "work") + string(filepath.Separator)
	var out []procInfo
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		info, ok := readProc(pid)
		if !ok || info.zombie || !strings.HasPrefix(info.cwd+string(filepath.Separator), work) {
			continue
		}
		out = append(out, info)
	}
	return out
}

// alive reports whether pid is a live process owned by this sandbox.
func (s *State) alive(pid int) bool {
	info, ok := readProc(pid)
	work := filepath.Join(s.Dir, "work") + string(filepath.Separator)
	return ok && !info.zombie && strings.HasPrefix(info.cwd+string(filepath.Separator), work)
}

// stopAll sends SIGTERM to the process groups of everything the sandbox owns, waits for them to exit, and
// sends SIGKILL to what is left after the grace period.
func (s *State) stopAll(ctx context.Context, grace time.Duration) error {
	signalAll := func(sig syscall.Signal) {
		groups := map[int]bool{}
		for _, p := range s.owned() {
			groups[p.pgid] = true
			syscall.Kill(p.pid, sig)
		}
		for g := range groups {
			// Only groups led by an owned process: their members were forked by it.
			if s.alive(g) {
				syscall.Kill(-g, sig)
			}
		}
	}
	if len(s.owned()) == 0 {
		return nil
	}
	signalAll(syscall.SIGTERM)
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	killed := false
	for {
		if len(s.owned()) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			if killed {
				return fmt.Errorf("processes still running after SIGKILL: %v", s.owned())
			}
			signalAll(syscall.SIGKILL)
			killed = true
			deadline.Reset(5 * time.Second)
		case <-tick.C:
		}
	}
}

// rss sums VmRSS and VmHWM (peak) in KiB over pid and every process in its group.
func rss(pgid int) (cur, peak int) {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		info, ok := readProc(pid)
		if !ok || info.pgid != pgid {
			continue
		}
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			switch k {
			case "VmRSS":
				cur += n
			case "VmHWM":
				peak += n
			}
		}
	}
	return cur, peak
}

// logTail returns the last n lines of a component's log, for error messages.
func logTail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
