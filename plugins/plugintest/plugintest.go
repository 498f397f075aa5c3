// Package plugintest runs kubectl-gitops in-process, through the real root
// command (gitops.Execute, as main does), with a fake factory (clients and
// clock) instead of a kubeconfig: the test harness every command shares.
// Binary-level tests go through internal/binarytest instead.
package plugintest

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kube"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kube/kubefake"
	"github.com/kubectl-gitops/kubectl-gitops/plugins/gitops"
)

// Now is the fixed time of the default fake clock.
var Now = time.Date(2026, 11, 25, 18, 1, 20, 0, time.UTC)

// Env is what a run sees.
type Env struct {
	// Dir is the working directory of the run ("" stays where the test is).
	// It changes the process's directory for the test (t.Chdir), so tests
	// using it cannot run in parallel.
	Dir string
	// Factory serves clients and the clock; nil is a kubefake.Factory with
	// no clients and a fake clock at Now.
	Factory kube.Factory
	// Stdin is the standard input.
	Stdin string
}

// Result is what one run printed and its exit code.
type Result struct {
	Stdout, Stderr string
	Code           exitcode.Code
}

// Run runs `kubectl gitops ARGS` in-process. Git runs with a Git identity
// and no user or system configuration, as binarytest's runs do.
func Run(t testing.TB, env Env, args ...string) Result {
	t.Helper()
	home := t.TempDir()
	for k, v := range map[string]string{
		"HOME": home, "XDG_CONFIG_HOME": home, "GIT_CONFIG_NOSYSTEM": "1",
		"GIT_AUTHOR_NAME": "Plugin Test", "GIT_AUTHOR_EMAIL": "plugintest@example.com",
		"GIT_COMMITTER_NAME": "Plugin Test", "GIT_COMMITTER_EMAIL": "plugintest@example.com",
		"NO_COLOR": "1",
	} {
		t.Setenv(k, v)
	}
	if env.Dir != "" {
		t.Chdir(env.Dir)
	}
	f := env.Factory
	if f == nil {
		f = &kubefake.Factory{Clk: clocktesting.NewFakeClock(Now)}
	}
	var out, errOut bytes.Buffer
	code := gitops.Execute(context.Background(), gitops.Options{
		DisplayName: "kubectl gitops",
		Streams:     genericiooptions.IOStreams{In: strings.NewReader(env.Stdin), Out: &out, ErrOut: &errOut},
		Factory:     f,
	}, args)
	return Result{Stdout: out.String(), Stderr: errOut.String(), Code: code}
}
