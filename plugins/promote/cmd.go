// Package promote implements `kubectl gitops promote`: move a HelmRelease's
// chart version (and chosen values) from one environment of a GitOps
// repository to the next, as one Git commit, and show where every
// environment stands with --status.
package promote

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-gitops/kubectl-gitops/internal/kube"
	"github.com/kubectl-gitops/kubectl-gitops/internal/printer"
	"github.com/kubectl-gitops/kubectl-gitops/internal/publish"
	"github.com/kubectl-gitops/kubectl-gitops/internal/releasecheck"
	"github.com/kubectl-gitops/kubectl-gitops/internal/term"
	"github.com/kubectl-gitops/kubectl-gitops/plugins/command"
)

// Options are promote's flags, and nothing else: Complete derives the
// config that runs.
type Options struct {
	// Repo is a directory inside the GitOps checkout (default ".").
	Repo     string
	From, To string
	// Version sets the target explicitly instead of copying the source's.
	Version string
	// Values are spec.values keys (image.tag) carried from the source.
	Values          []string
	DryRun          bool
	RequireDeployed bool
	AllowDowngrade  bool
	Status          bool
	Output          string
	// Publish is how far the promotion goes: --no-commit, --push,
	// --branch, --pr and the rest (internal/publish).
	Publish publish.Settings
	// Check holds --validate, --diff and --chart-dir.
	Check releasecheck.Flags
}

// config is one run of promote, settled by Complete: the flags (a copy;
// --pr's default --branch filled in), the HELMRELEASE argument, -n, and
// what the root provides. Nothing changes it while the runner works.
type config struct {
	Options
	genericiooptions.IOStreams
	// Release is the HelmRelease name (optional with --status).
	Release string
	// Namespace narrows the HelmRelease lookup (-n); "" means any, or the
	// environment's namespace from .gitops.yaml.
	Namespace string
	// tool is how the user invoked us ("flux gitops"), for the hints.
	tool    string
	factory kube.Factory
	// checker answers --require-deployed.
	checker deployChecker
	// color: a TTY and no NO_COLOR.
	color bool
	// getenv reads the environment (NO_COLOR, forge tokens): the
	// factory's.
	getenv func(string) string
}

// hooks are what tests replace.
type hooks struct {
	// checker, when set, answers --require-deployed instead of the cluster.
	checker deployChecker
}

// runner is one run's state.
type runner struct {
	config
	// described is set once the inferred environments were printed.
	described bool
	// w is the checkout; p the promotion worked out in it, oldData the
	// content of the files it edits before the edit, validation what
	// rendering and validating the change found.
	w          *workspace
	p          *plan
	oldData    map[string][]byte
	validation *releasecheck.Report
}

// NewCmd returns the promote command.
func NewCmd(f kube.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	return newCmd(f, streams, hooks{})
}

func newCmd(f kube.Factory, streams genericiooptions.IOStreams, h hooks) *cobra.Command {
	o := &Options{Repo: "."}
	cmd := &cobra.Command{
		Use:   "promote HELMRELEASE --from ENV --to ENV",
		Short: "Move a HelmRelease's chart version and values from one environment to the next",
		Long: `Move a HelmRelease's chart version (and chosen values) from one environment of the GitOps
repository to the next, as one Git commit.

The version is promoted where Flux reads it: spec.chart.spec.version for a HelmRepository chart,
the environment's GitRepository spec.ref (tag, semver or commit) for a chart from Git, and the
OCIRepository spec.ref (tag, semver or digest) for a chartRef. Environments come from .gitops.yaml
at the repository root, or are inferred from the apps/base + apps/<env>, <app>/overlays/<env> and
clusters/<env> layouts (see docs/promote.md).`,
		Example: `  # Promote what staging runs to production, commit and push
  kubectl gitops promote sample-app --from staging --to production --push

  # Promote an explicit version and carry the image tag, on a branch for review
  kubectl gitops promote sample-app --from staging --to production --version v0.1.3 \
    --values image.tag --branch promote-sample-app-0.1.3

  # Open (or, run again, update) a pull request for review
  kubectl gitops promote sample-app --from staging --to production --pr --pr-reviewer alice

  # Only if staging really runs it, Ready, in its cluster
  kubectl gitops promote sample-app --from staging --to production --require-deployed

  # Where does every environment stand?
  kubectl gitops promote status`,
		Args: cobra.MaximumNArgs(1),
		RunE: command.Wire[config](f, streams, completer{o, h}),
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Repo, "repo", o.Repo, "Directory inside the GitOps repository checkout")
	fl.StringVar(&o.From, "from", "", "Environment to promote from")
	fl.StringVar(&o.To, "to", "", "Environment to promote to")
	fl.StringVar(&o.Version, "version", "", "Version, tag, commit or digest to set in the target (default: the source environment's)")
	fl.StringArrayVar(&o.Values, "values", nil, "spec.values key to carry from the source environment, e.g. image.tag (repeatable)")
	fl.BoolVar(&o.DryRun, "dry-run", false, "Print what would change; write nothing")
	fl.BoolVar(&o.RequireDeployed, "require-deployed", false, "Refuse unless the source environment's cluster runs this version, Ready")
	fl.BoolVar(&o.AllowDowngrade, "allow-downgrade", false, "Allow setting a lower version than the target has")
	fl.BoolVar(&o.Status, "status", false, "The same as the status subcommand: print where every environment stands")
	fl.StringVarP(&o.Output, "output", "o", "", "Output format of --status: json or yaml")
	command.AddWriteFlags(fl, &o.Publish, &o.Check, `"Promote NAME to ENV: VERSION (from ENV)" and the fields changed`)
	cmd.AddCommand(newStatusCmd(f, streams))
	return cmd
}

// newStatusCmd is `promote status [HELMRELEASE]`; `promote --status` is
// kept as its alias (config.statusConfig). The subcommand has flags of
// its own: it only reads.
func newStatusCmd(f kube.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &StatusOptions{Repo: "."}
	cmd := &cobra.Command{
		Use:   "status [HELMRELEASE]",
		Short: "Print each environment's chart source, version and differing values",
		Long: `Print each environment's chart source, version and the spec.values that differ between
environments, for every HelmRelease (or the one named). It only reads the checkout.
` + "`promote --status` is the same command.",
		Example: `  kubectl gitops promote status
  kubectl gitops promote status sample-app -o json`,
		Args: cobra.MaximumNArgs(1),
		RunE: command.Wire[statusConfig](f, streams, o),
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Repo, "repo", o.Repo, "Directory inside the GitOps repository checkout")
	fl.StringVarP(&o.Output, "output", "o", "", "Output format: json or yaml")
	return cmd
}

// completer is Options with the hooks its config takes.
type completer struct {
	o *Options
	h hooks
}

// Complete fills in what the flags leave implicit.
func (c completer) Complete(_ context.Context, in command.Inputs, args []string) (config, error) {
	cfg := config{Options: *c.o, IOStreams: in.Streams, tool: in.Name, factory: in.Factory, getenv: in.Getenv(), checker: c.h.checker}
	if len(args) == 1 {
		cfg.Release = args[0]
	}
	if cfg.Release != "" && cfg.To != "" {
		cfg.Publish = cfg.Publish.WithRequestBranch(prBranch(cfg.Release, cfg.To))
	}
	cfg.Namespace = namespaceFlag(in.Factory)
	if cfg.checker == nil && in.Factory != nil {
		cfg.checker = &clusterChecker{factory: in.Factory}
	}
	cfg.color = term.Color(cfg.Out, cfg.getenv)
	return cfg, nil
}

// Validate checks the flags alone; it touches neither disk nor cluster.
func (o config) Validate() error {
	if o.Status {
		return o.validateStatusAlias()
	}
	var missing []string
	if o.Release == "" {
		missing = append(missing, "HELMRELEASE")
	}
	if o.From == "" {
		missing = append(missing, "--from")
	}
	if o.To == "" {
		missing = append(missing, "--to")
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing %s (or use --status to see where environments stand)", strings.Join(missing, ", "))
	}
	if o.From == o.To {
		return fmt.Errorf("--from and --to are both %q: promote moves a version between two environments", o.From)
	}
	if o.Output != "" {
		return errors.New("-o applies to --status only")
	}
	if err := o.Publish.Validate(); err != nil {
		return err
	}
	if err := validateValues(o.Values); err != nil {
		return err
	}
	return o.Check.CheckFlags()
}

// validateStatusAlias checks promote --status: the status subcommand's
// checks, and none of the flags that only promoting reads.
func (o config) validateStatusAlias() error {
	pub := o.Publish
	for _, set := range []bool{
		o.From != "", o.To != "", o.Version != "", len(o.Values) > 0, pub.Push, pub.Branch != "", pub.NoCommit,
		pub.AllowDirty, o.DryRun, o.RequireDeployed, pub.Message != "", o.AllowDowngrade, pub.Request.PR,
	} {
		if set {
			return errors.New("--status only reads: it takes an optional HELMRELEASE and -o, not promotion flags")
		}
	}
	if err := printer.Check(o.Output, ""); err != nil {
		return err
	}
	if len(pub.Request.Labels) > 0 || len(pub.Request.Reviewers) > 0 || pub.Request.Draft {
		return errors.New("--status only reads: --pr-label, --pr-reviewer and --draft do not apply")
	}
	return o.statusConfig().Validate()
}

// validateValues checks the --values keys: dotted, no value, once each.
func validateValues(keys []string) error {
	seen := map[string]bool{}
	for _, k := range keys {
		if k == "" || strings.HasPrefix(k, ".") || strings.HasSuffix(k, ".") || strings.Contains(k, "..") {
			return fmt.Errorf("--values %q is not a dotted key like image.tag", k)
		}
		if strings.Contains(k, "=") {
			return fmt.Errorf("--values %q: give only the key; promote copies the value from --from (use override to set a value)", k)
		}
		if seen[k] {
			return fmt.Errorf("--values %q given twice", k)
		}
		seen[k] = true
	}
	return nil
}

// statusConfig is promote --status as the status subcommand's config.
func (o config) statusConfig() statusConfig {
	return statusConfig{
		IOStreams: o.IOStreams, Repo: o.Repo, Output: o.Output, Release: o.Release, Namespace: o.Namespace,
		Remote: o.Publish.Remote, Forge: o.Publish.Request, getenv: o.getenv, color: o.color,
	}
}

// Run promotes, or prints the status matrix.
func (o config) Run(ctx context.Context) error {
	if o.Status {
		return o.statusConfig().Run(ctx)
	}
	return (&runner{config: o}).runPromote(ctx)
}
