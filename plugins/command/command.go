// Package command is the contract every kubectl-gitops command follows:
// Complete fills in what the flags leave implicit, Validate checks the
// flags against each other without touching disk or cluster, and Run does
// the work. RunE wires an Options into cobra the same way for all of them.
package command

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kube"
)

// Options is one command's flags and the three steps.
type Options interface {
	// Complete takes the arguments and the factory (clients, clock); it may
	// read the environment but does no expensive work.
	Complete(ctx context.Context, f kube.Factory, args []string) error
	// Validate is pure: a usage error, or nil.
	Validate() error
	// Run does the work; its errors carry exit codes (internal/exitcode).
	Run(ctx context.Context) error
}

// RunE returns the cobra RunE that runs o: Complete, then Validate (whose
// error is a usage error, with the pointer to --help), then Run. Usage is
// never printed for an error of Run.
func RunE(f kube.Factory, o Options) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		if err := o.Complete(ctx, f, args); err != nil {
			return err
		}
		if err := o.Validate(); err != nil {
			return exitcode.Wrap(exitcode.Usage, fmt.Errorf("%w\nSee '%s --help' for usage", err, cmd.CommandPath()))
		}
		cmd.SilenceUsage = true
		return o.Run(ctx)
	}
}
