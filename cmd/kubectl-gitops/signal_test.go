package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
)

// promote, diff and trace stop on SIGINT and SIGTERM with one line and 130
// or 143, while they wait on a server that does not answer (the chart's
// Git host for promote and diff, the API server for trace), and leave the
// checkout as it was. They stop because their work saw the cancellation:
// with main's grace exit turned off, nothing else could end them before
// their own timeouts (minutes).
//
// The "within 1 s" is main's grace exit (TestGraceWaitsForHolds,
// on a fake clock); here the bound only tells "saw the cancellation" from
// "waited for the server", so it is far from both: a loaded 2-core CI
// machine took 1.03 s once, and a command that missed the signal waits
// for minutes.
const sawCancellation = 15 * time.Second

func TestSignalsStopPromoteDiffAndTrace(t *testing.T) {
	addr, _ := binarytest.HangingServer(t)
	base := t.TempDir()
	env := binarytest.Env(base, "Sig", "sig@example.com")
	work := filepath.Join(base, "gitops", "work")
	binarytest.CopyTree(t, "../../examples/flux-multi-env", work)
	for _, e := range []string{"staging", "production"} {
		p := filepath.Join(work, "apps", e, "sample-app-source.yaml")
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(p, bytes.Replace(b, []byte("https://github.com/example/sample-app-helm-chart.git"), []byte("http://"+addr+"/sample-app-helm-chart.git"), 1), 0o644)
	}
	binarytest.Commit(t, env, work, "initial")
	binarytest.Publish(t, env, work)
	binarytest.Git(t, env, work, "switch", "-q", "-c", "change")
	vals := filepath.Join(work, "apps", "staging", "sample-app-values.yaml")
	b, _ := os.ReadFile(vals)
	os.WriteFile(vals, append(b, []byte("# touched\n")...), 0o644)
	binarytest.Git(t, env, work, "commit", "-qam", "touch staging values")
	kubeconfig := filepath.Join(base, "kubeconfig")
	os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: hang, cluster: {server: "http://`+addr+`"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: hang, context: {cluster: hang, user: u}}]
current-context: hang
`), 0o600)
	env = append(env, "KUBECONFIG="+kubeconfig, graceEnv+"=off")
	status := func() string {
		return binarytest.Git(t, env, work, "status", "--porcelain") + binarytest.Git(t, env, work, "for-each-ref") + binarytest.Git(t, env, work, "rev-parse", "HEAD")
	}
	before := status()
	bin := binarytest.Build(t)
	// Without a cluster, promote goes straight to the chart's Git host;
	// with the hanging one, promote and diff wait on the cluster's probe
	// first.
	noCluster := append(slices.Clone(env), "KUBECONFIG="+filepath.Join(base, "no-kubeconfig"))
	for _, c := range []struct {
		args []string
		env  []string
	}{
		{[]string{"promote", "sample-app", "--from", "staging", "--to", "production", "--no-commit"}, env},
		{[]string{"promote", "sample-app", "--from", "staging", "--to", "production", "--no-commit"}, noCluster},
		{[]string{"diff", "origin/main..HEAD"}, env},
		{[]string{"trace", "HEAD", "--wait", "--timeout", "5m"}, env},
	} {
		args := c.args
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
			var stderr bytes.Buffer
			cmd, took := binarytest.SignalStarted(t, func() *exec.Cmd {
				cmd := exec.Command(bin, args...)
				cmd.Dir, cmd.Env = work, c.env
				stderr.Reset()
				cmd.Stdout, cmd.Stderr = &bytes.Buffer{}, &stderr
				return cmd
			}, sig, 1500*time.Millisecond)
			want := 128 + int(sig)
			if code := cmd.ProcessState.ExitCode(); code != want {
				t.Errorf("%v, %v: exit %d, want %d: %s", args, sig, code, want, stderr.String())
			}
			if took > sawCancellation {
				t.Errorf("%v, %v: exited %s after the signal: the work did not see the cancellation", args, sig, took.Round(time.Millisecond))
			}
			// One line about the signal, last, and no error after it (promote
			// may have printed notes before).
			if lines := strings.Split(strings.TrimSpace(stderr.String()), "\n"); !strings.Contains(lines[len(lines)-1], "interrupted by") || strings.Count(stderr.String(), "interrupted") != 1 || strings.Contains(stderr.String(), "error:") {
				t.Errorf("%v, %v: stderr is not one line saying it was interrupted:\n%s", args, sig, stderr.String())
			}
			t.Logf("%s, %v: exit %d %s after the signal", args[0], sig, cmd.ProcessState.ExitCode(), took.Round(time.Millisecond))
		}
	}
	if after := status(); after != before {
		t.Errorf("the checkout changed:\n%s\n%s", before, after)
	}
}
