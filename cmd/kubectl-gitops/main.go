// Command kubectl-gitops is the kubectl plugin `kubectl gitops`, and, when
// installed as flux-gitops, the Flux CLI plugin `flux gitops`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-gitops/kubectl-gitops/plugins"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := plugins.Execute(ctx, plugins.Options{
		DisplayName: plugins.DisplayName(os.Args[0]),
		Streams:     genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr},
	}, os.Args[1:])
	stop()
	os.Exit(int(code))
}
