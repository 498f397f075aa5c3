// Package command is the shape every kubectl-gitops command has: Options
// hold the flags only; Complete turns them, the arguments and what the
// root provides (Inputs) into a Config, a value nothing changes once it is
// made; the Config's Validate checks it without touching disk or cluster,
// and its Run hands it to a runner that does the work (and holds whatever
// state the work needs: clients, caches, what was printed). Wire connects
// an Options to cobra the same way for every command.
package command

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kube"
)

// Inputs is what every command gets besides its flags and arguments.
type Inputs struct {
	// Factory builds the clients and holds the clock and the injected
	// environment (Getenv): the one way a command reads either.
	Factory kube.Factory
	Streams genericiooptions.IOStreams
	// Name is the tool as it was invoked ("kubectl gitops", or "flux
	// gitops" as the Flux plugin), for hints that spell out a command.
	Name string
}

// Getenv is the factory's view of the environment; nil without a
// factory (tests that build a config directly), which reads as empty.
func (in Inputs) Getenv() func(string) string {
	if in.Factory == nil {
		return func(string) string { return "" }
	}
	return in.Factory.Getenv
}

// Options is one command's flags: Complete derives its Config.
type Options[C Config] interface {
	// Complete takes the arguments and the inputs; it may read the
	// environment (through the factory) but does no expensive work.
	Complete(ctx context.Context, in Inputs, args []string) (C, error)
}

// Config is one command's settled configuration.
type Config interface {
	// Validate is pure: a usage error, or nil.
	Validate() error
	// Run does the work; its errors carry exit codes (internal/exitcode).
	Run(ctx context.Context) error
}

// Wire returns the cobra RunE that runs o: Complete, then Validate (whose
// error is a usage error, with the pointer to --help), then Run. Usage is
// never printed for an error of Run.
func Wire[C Config](f kube.Factory, streams genericiooptions.IOStreams, o Options[C]) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		cfg, err := o.Complete(ctx, Inputs{Factory: f, Streams: streams, Name: Name(cmd)}, args)
		if err != nil {
			return err
		}
		if err := cfg.Validate(); err != nil {
			return exitcode.Wrap(exitcode.Usage, fmt.Errorf("%w\nSee '%s --help' for usage", err, cmd.CommandPath()))
		}
		cmd.SilenceUsage = true
		return cfg.Run(ctx)
	}
}

// Name is the tool as it was invoked: the root's display name ("kubectl
// gitops", "flux gitops"), "kubectl gitops" for a tree built without one.
func Name(cmd *cobra.Command) string {
	if cmd == nil {
		return "kubectl gitops"
	}
	if n := cmd.Root().Annotations[cobra.CommandDisplayNameAnnotation]; n != "" {
		return n
	}
	return "kubectl gitops"
}
