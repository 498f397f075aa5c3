package override

import (
	"context"
	"errors"
	"os"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/helmvalues"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kube"
	"github.com/kubectl-gitops/kubectl-gitops/internal/printer"
	"github.com/kubectl-gitops/kubectl-gitops/internal/publish"
	"github.com/kubectl-gitops/kubectl-gitops/internal/readlimit"
	"github.com/kubectl-gitops/kubectl-gitops/internal/releasecheck"
	"github.com/kubectl-gitops/kubectl-gitops/internal/yamledit"
	"github.com/kubectl-gitops/kubectl-gitops/plugins/command"
)

// HelmRelease identifies the kind this command edits.
const (
	kindHelmRelease  = "HelmRelease"
	groupHelmRelease = "helm.toolkit.fluxcd.io"
)

var valuesPath = yamledit.Path{"spec", "values"}

// Options are override's flags, and nothing else: Complete derives the
// config that runs.
type Options struct {
	Repo string
	Path string
	// Env edits the file that holds the values for that environment
	// (fluxmodel); InPatch asks for its patch rather than the base.
	Env     string
	InPatch bool

	Set, SetString, SetJSON, Files, Unset, Replace []string
	// order is the value flags' names in command-line order (see
	// valueFlag): what the command line says, recorded as it is parsed.
	order []string

	DryRun bool
	// ShowSecrets is --show-secrets: values fed from Secrets and values
	// whose key names a secret are printed instead of masked.
	ShowSecrets bool
	// SOPS is --sops: a SOPS-encrypted file is changed with `sops set`.
	SOPS   bool
	Output string
	// Publish is how far the change goes: --no-commit, --push, --branch,
	// --pr and the rest (internal/publish).
	Publish publish.Settings
	// Check holds --validate, --diff and --chart-dir.
	Check releasecheck.Flags
}

// config is one run of override, settled by Complete: the flags (a copy;
// --repo and --pr's default --branch filled in), the HELMRELEASE
// argument, -n, the -f files read, and what the root provides. Nothing
// changes it while the runner works.
type config struct {
	Options
	genericiooptions.IOStreams
	Name      string
	Namespace string // "" matches any namespace
	// tool is how the user invoked us ("kubectl gitops", "flux gitops"),
	// for the lines that name a command to run next.
	tool string
	// getenv reads the environment (NO_COLOR, forge tokens): the
	// factory's.
	getenv  func(string) string
	factory kube.Factory
	// cwd is the directory --path is relative to.
	cwd string
	// input is the value flags and the -f files' contents, for
	// helmvalues.
	input helmvalues.Input
}

// runner is one run's work and what it holds: the checkout, the
// document the flags edit, its edit once computed, and the result to
// print.
type runner struct {
	config
	repo  *gitrepo.Repo
	found *found
	ed    *edited
	res   *Result
}

// Complete fills in what the flags leave implicit: the name, the namespace
// (only from an explicit -n: without it any namespace matches, and two
// matches are an error), the repo directory, and the -f files' contents.
func (o *Options) Complete(ctx context.Context, in command.Inputs, args []string) (config, error) {
	c := config{Options: *o, IOStreams: in.Streams, Name: args[0], tool: in.Name, factory: in.Factory, getenv: in.Getenv()}
	if f := in.Factory; f != nil {
		if ns := f.Flags().Namespace; ns != nil {
			c.Namespace = *ns
		}
	}
	cwd, err := os.Getwd()
	if err != nil {
		return c, err
	}
	c.cwd = cwd
	if c.Repo == "" {
		c.Repo = cwd
	}
	c.Publish = c.Publish.WithRequestBranch(prBranch(c.Name, c.Namespace))
	c.input = helmvalues.Input{Set: c.Set, String: c.SetString, JSON: c.SetJSON, Unset: c.Unset, Replace: c.Replace, Order: c.order}
	for _, name := range c.Files {
		var data []byte
		if name == "-" {
			data, err = readlimit.Read(ctx, c.In, "standard input (-f -)")
		} else {
			data, err = readlimit.ReadFile(ctx, name)
		}
		if err != nil {
			if ctx.Err() != nil {
				return c, err
			}
			return c, exitcode.Errorf(exitcode.Usage, "reading -f %s: %w", name, err)
		}
		c.input.Files = append(c.input.Files, helmvalues.File{Name: name, Data: data})
	}
	return c, nil
}

// Validate checks the flags against each other; it touches nothing.
func (o config) Validate() error {
	if o.Name == "" {
		return errors.New("the HelmRelease name is empty")
	}
	if o.input.Empty() {
		return errors.New("nothing to override: give at least one of --set, --set-string, --set-json, --replace, -f or --unset")
	}
	if err := o.Publish.Validate(); err != nil {
		return err
	}
	if o.Env != "" && o.Path != "" {
		return errors.New("--env picks the file from what the environment applies, --path names it: pick one")
	}
	if o.InPatch && o.Env == "" {
		return errors.New("--in-patch needs --env: the patch is the environment's")
	}
	if err := printer.Check(o.Output, ""); err != nil {
		return err
	}
	if o.Output != "" && o.Check.Diff != "" {
		return errors.New("--diff prints a diff, -o prints a result: pick one (-o json carries the validation report)")
	}
	return o.Check.CheckFlags()
}

// Run finds, edits, checks and publishes (internal/publish).
func (o config) Run(ctx context.Context) error {
	return (&runner{config: o}).run(ctx)
}
