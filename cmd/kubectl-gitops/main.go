// Command kubectl-gitops is the kubectl plugin `kubectl gitops`, and, when
// installed as flux-gitops, the Flux CLI plugin `flux gitops`.
package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/klog/v2"

	"github.com/kubectl-gitops/kubectl-gitops/internal/initgc"
	"github.com/kubectl-gitops/kubectl-gitops/internal/interrupt"
	"github.com/kubectl-gitops/kubectl-gitops/plugins/gitops"
)

func main() {
	// The collector was off while the packages initialised (initgc).
	initgc.Restore()
	// client-go logs through klog. Its watches, cancelled when a trace ends,
	// log "Watch failed ... context canceled": noise, not news.
	klog.LogToStderr(false)
	klog.SetOutput(dropCanceled{os.Stderr})
	// The first Ctrl-C or SIGTERM cancels ctx: every command stops, puts
	// back what it started and exits 130 or 143, and one still busy after
	// the grace period (a parse that cannot look at ctx) is ended then. A
	// second signal exits at once.
	ctx, stop := interrupt.Notify(context.Background(), interrupt.Handler{Exit: os.Exit, Grace: grace(os.Getenv), ErrOut: os.Stderr})
	code := gitops.Execute(ctx, gitops.Options{
		DisplayName: gitops.DisplayName(os.Args[0]),
		Streams:     genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr},
		Getenv:      os.Getenv,
	}, os.Args[1:])
	stop()
	os.Exit(int(code))
}

// graceEnv turns the grace exit off when set to "off": a debugging aid,
// and what the signal tests use to show that a command stopped because
// its work saw the cancellation, not because the grace period ran out.
const graceEnv = "KUBECTL_GITOPS_GRACE_EXIT"

// grace is how long a signalled command has before main ends it.
func grace(getenv func(string) string) time.Duration {
	if getenv(graceEnv) == "off" {
		return 0
	}
	return 500 * time.Millisecond
}

// dropCanceled writes klog's lines except those about a cancelled context.
type dropCanceled struct{ w io.Writer }

func (d dropCanceled) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("context canceled")) {
		return len(p), nil
	}
	return d.w.Write(p)
}
