package override_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
)

// valuesMapRelease returns a HelmRelease whose spec.values is a map of
// about mb MB: one entry per service, each a small map, as a platform
// team's values for many tenants look.
func valuesMapRelease(mb float64) []byte {
	var b bytes.Buffer
	size := int(mb * (1 << 20))
	b.Grow(size + 4096)
	b.WriteString(`apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: big-values
  namespace: apps
spec:
  interval: 10m
  chart:
    spec:
      chart: app
      sourceRef: {kind: HelmRepository, name: internal, namespace: flux-system}
  values:
    image:
      tag: "1.0.0" # pinned
    tenants:
`)
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "      svc-%07d:\n        image: registry.example.com/team/svc-%07d:1.2.%d\n        replicas: %d\n        enabled: true\n", i, i, i%50, i%7)
	}
	return b.Bytes()
}

// signalled starts the binary in dir with args and stdin, sends sig once
// after wait, and returns the result and the time from the signal to the
// exit (see binarytest.Signal).
func signalled(t *testing.T, dir string, stdin *os.File, sig syscall.Signal, wait time.Duration, args ...string) (binarytest.Result, time.Duration) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd, took := binarytest.SignalStarted(t, func() *exec.Cmd {
		cmd := exec.Command(binarytest.Build(t), args...)
		cmd.Dir, cmd.Env, cmd.Stdin = dir, env(filepath.Dir(dir)), stdin
		stdout.Reset()
		stderr.Reset()
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		return cmd
	}, sig, wait)
	return binarytest.Result{Stdout: stdout.String(), Stderr: stderr.String(), ExitCode: cmd.ProcessState.ExitCode()}, took
}

// Ctrl-C (SIGINT) or SIGTERM ends override with 130 or 143 and one line,
// and leaves the checkout as it was: while it waits on standard input
// (-f - from a pipe nobody writes to), and while it edits a 32 MB values
// map with --no-commit. Within a second is main's grace exit, tested on a
// fake clock (internal/interrupt); the bound here only tells a process
// that stopped from one that did not, and stays far from the loaded CI
// machine's scheduling delays. The map is 32 MB so that the edit (about
// 5 s of CPU since #21; a 4 MB one now ends within the second before the
// signal) is still running when the signal comes.
func TestOverrideSignals(t *testing.T) {
	_, clones := setup(t, 1, map[string]string{"big/values.yaml": string(valuesMapRelease(32))})
	dir := clones[0]
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	for _, tc := range []struct {
		name string
		sig  syscall.Signal
		want int
		wait time.Duration
		args []string
	}{
		{"SIGINT reading stdin", syscall.SIGINT, 130, 400 * time.Millisecond, []string{"override", "sample-app", "-f", "-", "--no-commit", "--validate=false"}},
		{"SIGTERM reading stdin", syscall.SIGTERM, 143, 400 * time.Millisecond, []string{"override", "sample-app", "-f", "-", "--no-commit", "--validate=false"}},
		{"SIGINT editing", syscall.SIGINT, 130, time.Second, []string{"override", "big-values", "--set", "tenants.svc-0000001.replicas=9", "--no-commit", "--validate=false"}},
		{"SIGTERM editing", syscall.SIGTERM, 143, time.Second, []string{"override", "big-values", "--set", "tenants.svc-0000001.replicas=9", "--no-commit", "--validate=false"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := snapshot(t, dir)
			r, took := signalled(t, dir, pr, tc.sig, tc.wait, tc.args...)
			if r.ExitCode != tc.want {
				t.Errorf("exit %d, want %d\n%s%s", r.ExitCode, tc.want, r.Stdout, r.Stderr)
			}
			if took > 15*time.Second {
				t.Errorf("exited %s after the signal: it did not stop", took.Round(time.Millisecond))
			}
			if lines := strings.Split(strings.TrimSpace(r.Stderr), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "interrupted by") {
				t.Errorf("stderr is not one line saying it was interrupted:\n%s", r.Stderr)
			}
			if after := snapshot(t, dir); after != before {
				t.Errorf("the checkout changed:\n%s", after)
			}
			if _, err := os.Stat(filepath.Join(dir, ".git", "index.lock")); err == nil {
				t.Error(".git/index.lock left behind")
			}
			t.Logf("exit %d %s after %v", r.ExitCode, took.Round(time.Millisecond), tc.sig)
		})
	}
}

// -f refuses what is not a regular file, at once, and bounds what it
// reads from standard input.
func TestOverrideRefusesEndlessInput(t *testing.T) {
	_, clones := setup(t, 1, nil)
	dir := clones[0]
	fifo := filepath.Join(t.TempDir(), "values.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	zero, err := os.Open("/dev/zero")
	if err != nil {
		t.Fatal(err)
	}
	defer zero.Close()
	before := snapshot(t, dir)
	for _, tc := range []struct {
		name  string
		stdin *os.File
		args  []string
		want  string
	}{
		{"/dev/zero", nil, []string{"-f", "/dev/zero"}, "/dev/zero is a character device, not a regular file"},
		{"FIFO", nil, []string{"-f", fifo}, "is a FIFO (named pipe), not a regular file"},
		{"endless stdin", zero, []string{"-f", "-", "--max-input-size", "1Mi"}, "standard input (-f -) is larger than 1Mi"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			// Under the peakrss helper: the kernel counts this test
			// process's own pages (some 285 MB after the 32 MB edits
			// above) in the peak of a child it starts itself.
			m := binarytest.UnderPeakRSS(t, binarytest.Build(t), append([]string{"override", "sample-app"}, tc.args...)...)
			cmd := exec.CommandContext(ctx, m.Name, m.Args...)
			cmd.Dir, cmd.Env, cmd.Stdin = dir, append(env(filepath.Dir(dir)), m.Env), tc.stdin
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			if ctx.Err() != nil {
				t.Fatalf("still reading after 30 s (killed): %v", err)
			}
			if code := cmd.ProcessState.ExitCode(); code != 2 || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %d, want 2 saying %q:\n%s", code, tc.want, stderr.String())
			}
			if _, _, peak := m.Read(t, stderr.String()); peak > 200<<20 {
				t.Errorf("peak RSS %d MiB", peak>>20)
			}
		})
	}
	if after := snapshot(t, dir); after != before {
		t.Errorf("the checkout changed:\n%s", after)
	}
}
