// Command kubectl-gitops is the kubectl plugin `kubectl gitops`, and, when
// installed as flux-gitops, the Flux CLI plugin `flux gitops`.
package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/klog/v2"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cli"
	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
)

func main() {
	// client-go logs through klog. Its watches, cancelled when a trace ends,
	// log "Watch failed ... context canceled": noise, not news.
	klog.LogToStderr(false)
	klog.SetOutput(dropCanceled{os.Stderr})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	name := cli.DisplayName(os.Args[0])
	root := cli.NewRootCmd(cli.Options{
		DisplayName: name,
		Streams:     genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr},
	})
	err := root.ExecuteContext(ctx)
	stop()
	if err != nil && err.Error() != "" {
		// (An empty message carries only an exit code: diff's 7, "changed".)
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
	}
	os.Exit(int(exitcode.From(err)))
}

// dropCanceled writes klog's lines except those about a cancelled context.
type dropCanceled struct{ w io.Writer }

func (d dropCanceled) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("context canceled")) {
		return len(p), nil
	}
	return d.w.Write(p)
}
