// Package gitops is the `gitops` command, the root of the kubectl-gitops
// command tree, named like the packages of its subcommands beside it
// (plugins/override is `gitops override`). It is the only place that knows
// all of them; they never import each other.
package gitops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/utils/clock"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/interrupt"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kube"
	"github.com/kubectl-gitops/kubectl-gitops/internal/printer"
	"github.com/kubectl-gitops/kubectl-gitops/internal/readlimit"
	"github.com/kubectl-gitops/kubectl-gitops/internal/version"
	gitopsdiff "github.com/kubectl-gitops/kubectl-gitops/plugins/diff"
	"github.com/kubectl-gitops/kubectl-gitops/plugins/override"
	"github.com/kubectl-gitops/kubectl-gitops/plugins/promote"
	"github.com/kubectl-gitops/kubectl-gitops/plugins/trace"
)

// DisplayName turns the executable name into the command users type:
// kubectl-gitops -> "kubectl gitops", flux-gitops -> "flux gitops".
// Anything else (a renamed binary, `go run`) reads as "kubectl gitops".
func DisplayName(argv0 string) string {
	base := strings.TrimSuffix(filepath.Base(argv0), ".exe")
	switch {
	case strings.HasPrefix(base, "flux-"):
		return "flux " + strings.TrimPrefix(base, "flux-")
	case strings.HasPrefix(base, "kubectl-"):
		return "kubectl " + strings.ReplaceAll(strings.TrimPrefix(base, "kubectl-"), "_", "-")
	}
	return "kubectl gitops"
}

// Options configure the root command; tests set Clock and streams.
type Options struct {
	// DisplayName is how usage text names the tool ("kubectl gitops" or "flux gitops").
	DisplayName string
	Streams     genericiooptions.IOStreams
	// Clock defaults to the real clock.
	Clock clock.PassiveClock
	// Factory replaces the one built from the kubectl flags (tests: fake
	// clients and clock); its Flags are registered on the root.
	Factory kube.Factory
	// Getenv reads the environment for every command (through the
	// factory); main passes os.Getenv, and nil means the same.
	Getenv func(string) string
}

// Execute runs the command tree with args as main does: the error, if any,
// printed to ErrOut as "error: ...", and the exit code returned.
func Execute(ctx context.Context, o Options, args []string) exitcode.Code {
	root := NewRootCmd(o)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if sig := interrupt.Cause(ctx); sig != nil && err != nil {
		// Whatever the work said on its way out ("context canceled"), the
		// news is the signal: one line, and 130 or 143.
		interrupt.Report(ctx, o.Streams.ErrOut)
		return exitcode.From(sig)
	}
	if err != nil && !exitcode.IsQuiet(err) {
		// A quiet error was reported by the command itself (diff's 7,
		// "changed", is its report).
		fmt.Fprintf(o.Streams.ErrOut, "error: %v\n", err)
	}
	// The one place where an error becomes an exit code: the outermost
	// error in the chain that knows its code (exitcode.Coder) decides.
	return exitcode.From(err)
}

// NewRootCmd builds a fresh command tree; nothing is global, so every test
// gets its own.
func NewRootCmd(o Options) *cobra.Command {
	if o.DisplayName == "" {
		o.DisplayName = "kubectl gitops"
	}
	flags := genericclioptions.NewConfigFlags(true)
	f := o.Factory
	if f == nil {
		getenv := o.Getenv
		if getenv == nil {
			getenv = os.Getenv
		}
		f = kube.NewFactory(flags, o.Clock, getenv)
	} else if f.Flags() != nil {
		flags = f.Flags()
	}
	root := &cobra.Command{
		Use:   "gitops",
		Short: "Override, promote and trace Flux HelmReleases through Git",
		Long: `Override, promote and trace Flux HelmReleases through Git.

  override  write HelmRelease value overrides into the GitOps repo and commit them
  promote   move chart versions and values from one environment to the next
  trace     follow a commit through Flux to running pods`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Annotations: map[string]string{
			cobra.CommandDisplayNameAnnotation: o.DisplayName,
		},
		// Unknown subcommands must fail with a usage error, not print help
		// and exit 0.
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return exitcode.Errorf(exitcode.Usage, "unknown command %q for %q\nRun '%s --help' for usage",
					args[0], cmd.CommandPath(), cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.SetIn(o.Streams.In)
	root.SetOut(o.Streams.Out)
	root.SetErr(o.Streams.ErrOut)
	flags.AddFlags(root.PersistentFlags())
	maxInput := readlimit.Size(readlimit.DefaultMax)
	root.PersistentFlags().Var(&maxInput, "max-input-size", "Largest values file or manifest read (64Mi, 1Gi, ...); devices and FIFOs are refused whatever the size")
	root.PersistentPreRun = func(cmd *cobra.Command, _ []string) {
		// Every reader of user input below finds the limit in the context.
		cmd.SetContext(readlimit.WithMax(cmd.Context(), int64(maxInput)))
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return exitcode.Wrap(exitcode.Usage, fmt.Errorf("%w\nSee '%s --help' for usage", err, c.CommandPath()))
	})

	root.AddCommand(
		override.NewCmd(f, o.Streams),
		gitopsdiff.NewCmd(f, o.Streams),
		promote.NewCmd(f, o.Streams),
		trace.NewCmd(f, o.Streams),
		newVersionCmd(o.Streams),
		newCompletionCmd(o.DisplayName, o.Streams),
	)
	wireCompletion(root, f)
	argsAreUsage(root)
	nameExamples(root, o.DisplayName)
	return root
}

// nameExamples makes every command's examples use the name the tool was
// invoked as: they are written as "kubectl gitops ...", and as the Flux
// plugin a user copies "flux gitops ...".
func nameExamples(c *cobra.Command, name string) {
	if name != "kubectl gitops" {
		c.Example = strings.ReplaceAll(c.Example, "kubectl gitops", name)
	}
	for _, sub := range c.Commands() {
		nameExamples(sub, name)
	}
}

// argsAreUsage makes every argument-count error (cobra.MaximumNArgs and
// the like) a usage error, exit 2, with the pointer to --help.
func argsAreUsage(c *cobra.Command) {
	if orig := c.Args; orig != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			err := orig(cmd, args)
			var coded exitcode.Coder
			if err == nil || errors.As(err, &coded) {
				return err
			}
			return exitcode.Wrap(exitcode.Usage, fmt.Errorf("%w\nSee '%s --help' for usage", err, cmd.CommandPath()))
		}
	}
	for _, sub := range c.Commands() {
		argsAreUsage(sub)
	}
}

func newVersionCmd(streams genericiooptions.IOStreams) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, build date and Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := printer.Check(output, ""); err != nil {
				return exitcode.Wrap(exitcode.Usage, err)
			}
			info := version.Get()
			if done, err := printer.Print(streams.Out, output, info); done {
				return err
			}
			_, err := fmt.Fprintf(streams.Out, "kubectl-gitops %s (commit %s, built %s, %s, %s)\n",
				info.Version, info.Commit, info.Date, info.GoVersion, info.Platform)
			return err
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "Output format: json or yaml")
	return cmd
}
