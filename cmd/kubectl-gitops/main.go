// Command kubectl-gitops is the kubectl plugin `kubectl gitops`, and, when
// installed as flux-gitops, the Flux CLI plugin `flux gitops`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-gitops/kubectl-gitops/plugins"
	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	name := plugins.DisplayName(os.Args[0])
	root := plugins.NewRootCmd(plugins.Options{
		DisplayName: name,
		Streams:     genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr},
	})
	err := root.ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
	}
	os.Exit(int(exitcode.From(err)))
}
