// Package trace implements `kubectl gitops trace`: follow a commit from Git
// through Flux to running pods.
package trace

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kube"
	"github.com/kubectl-gitops/kubectl-gitops/internal/printer"
	"github.com/kubectl-gitops/kubectl-gitops/internal/term"
	"github.com/kubectl-gitops/kubectl-gitops/plugins/command"
)

// Options hold the flags and what Complete resolved from them.
type Options struct {
	Revision      string
	RepoDir       string
	HelmReleases  []string
	AllNamespaces bool
	Watch         bool
	Wait          bool
	Timeout       time.Duration
	Reconcile     bool
	Output        string
	// Envs and AllEnvs trace several environments of .gitops.yaml (in GitOpsRepo, default the --repo
	// checkout), each in its own cluster; --context a,b traces clusters directly.
	Envs       []string
	AllEnvs    bool
	GitOpsRepo string

	factory kube.Factory
	streams genericiooptions.IOStreams

	repo    *gitrepo.Repo
	commit  *gitrepo.Commit
	remotes []gitrepo.Remote
	// namespace narrows the releases to one namespace (-n; "" = wherever
	// the sources reach); manualNamespace is where hand-applied releases
	// count ("" = all, -A); fallbackNamespaces are listed when RBAC refuses
	// a list in all namespaces.
	namespace          string
	manualNamespace    string
	fallbackNamespaces []string
	hrKeys             []types.NamespacedName
	dyn                dynamic.Interface
	facts              *factCache
	color              bool
	// onRedraw, when set (tests, benchmarks), is called after each redraw
	// in --watch with the time the triggering watch event arrived.
	onRedraw func(eventAt time.Time)

	// members are the environments or clusters of a fleet trace (fleet.go).
	members    []*member
	gitopsRoot string
	// fleetDyn, when set (tests), gives the client of a context instead of the factory.
	fleetDyn func(kctx string) dynamic.Interface
}

// NewCmd returns the trace command.
func NewCmd(f kube.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	return newCmd(f, streams, nil)
}

// newCmd lets tests adjust the options (hooks) before Run.
func newCmd(f kube.Factory, streams genericiooptions.IOStreams, hook func(*Options)) *cobra.Command {
	o := &Options{factory: f, streams: streams, Timeout: 5 * time.Minute, Output: "table", RepoDir: "."}
	if hook != nil {
		hook(o)
	}
	cmd := &cobra.Command{
		Use:   "trace [REVISION]",
		Short: "Follow a commit through Flux to running pods",
		Long: `Follow a commit through Flux to running pods.

REVISION is a commit of the Git checkout at --repo (a full or short SHA, a
branch, a tag; default HEAD). Flux sources whose URL is one of the checkout's
remotes are traced, with everything downstream of them: HelmCharts built from
them, HelmReleases using those charts or applied by Kustomizations from them,
and the Deployments, StatefulSets, DaemonSets and Pods of those releases.

For each HelmRelease it reports the stages source fetched -> chart built ->
release upgraded -> rollout complete, with state, timings, evidence, and when
stuck a diagnosis with the fix.

With --env ENV[,ENV] or --all-envs, the environments of .gitops.yaml (read
from --gitops-repo, default the --repo checkout) are traced side by side,
each in its own cluster (its context: in .gitops.yaml) and namespace, with a
summary line per environment: deployed at, waiting for promotion (with the
promote command that ships it), failed, not reachable. --context a,b traces
clusters directly. A cluster that cannot be reached or refuses by RBAC is
shown as such; the others are still traced.

Exit codes: 0 deployed everywhere, 3 nothing matches (no source, release or
revision), 4 failed (or will never deploy without a change), 5 not deployed
yet (still in progress at --timeout with --wait/--watch), 1 other errors.
Across environments: 4 if one failed, 1 if one is not reachable or refused,
3 if nothing matches in one, 5 if one is not deployed yet, 0 when every
environment is deployed or waits for promotion.`,
		Example: `  # Is my last commit live yet?
  kubectl gitops trace

  # Fetch it now instead of waiting for the interval, and wait until it is live
  kubectl gitops trace --reconcile --wait --timeout 3m

  # A live view of one release, for a given commit of another checkout
  kubectl gitops trace a1ec31c --repo ../sample-app --helmrelease sample-app/sample-app --watch

  # For CI
  kubectl gitops trace "$GITHUB_SHA" --wait -o json > trace.json

  # Did my chart commit reach production? (environments from the GitOps repo's .gitops.yaml)
  kubectl gitops trace --all-envs --gitops-repo ../fleet-repo

  # Two clusters directly
  kubectl gitops trace --context staging,production -A --wait`,
		Args:          cobra.MaximumNArgs(1),
		SilenceErrors: true,
		RunE:          command.RunE(f, o),
	}
	fl := cmd.Flags()
	fl.StringVar(&o.RepoDir, "repo", o.RepoDir, "Git checkout the revision belongs to")
	fl.StringArrayVar(&o.HelmReleases, "helmrelease", nil, "Only this HelmRelease, as NAMESPACE/NAME or NAME (repeatable)")
	fl.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "Also trace HelmReleases applied by hand (no Kustomization) in any namespace; releases the sources reach are traced wherever they live")
	fl.BoolVarP(&o.Watch, "watch", "w", false, "Redraw a live view as stages complete, until deployed, failed or --timeout")
	fl.BoolVar(&o.Wait, "wait", false, "Block until deployed or failed, or --timeout; then print the result")
	fl.DurationVar(&o.Timeout, "timeout", o.Timeout, "How long --watch and --wait wait")
	fl.BoolVar(&o.Reconcile, "reconcile", false, "Ask Flux to reconcile the sources and releases involved now (like flux reconcile)")
	fl.StringVarP(&o.Output, "output", "o", o.Output, "Output format: table, json or yaml")
	fl.StringSliceVar(&o.Envs, "env", nil, "Trace these environments of .gitops.yaml, each in its own cluster (comma-separated or repeated)")
	fl.BoolVar(&o.AllEnvs, "all-envs", false, "Trace every environment of .gitops.yaml")
	fl.StringVar(&o.GitOpsRepo, "gitops-repo", "", "Checkout of the GitOps repository whose .gitops.yaml lists the environments (default: --repo)")
	return cmd
}

// Validate checks the flags alone.
func (o *Options) Validate() error {
	if err := printer.Check(o.Output, "table"); err != nil {
		return exitcode.Wrap(exitcode.Usage, err)
	}
	if o.Watch && o.Output != "table" {
		return exitcode.Errorf(exitcode.Usage, "--watch draws a table; use --wait with -o %s", o.Output)
	}
	if o.Timeout <= 0 {
		return exitcode.Errorf(exitcode.Usage, "--timeout must be positive, got %s", o.Timeout)
	}
	if err := o.validateFleet(); err != nil {
		return err
	}
	if o.AllNamespaces && len(o.HelmReleases) > 0 {
		for _, h := range o.HelmReleases {
			if !strings.Contains(h, "/") {
				return exitcode.Errorf(exitcode.Usage, "--helmrelease %s needs a namespace with -A: use NAMESPACE/%s", h, h)
			}
		}
	}
	return nil
}

// Complete takes the revision and the factory.
func (o *Options) Complete(_ context.Context, f kube.Factory, args []string) error {
	o.Revision = "HEAD"
	if len(args) == 1 {
		o.Revision = args[0]
	}
	if f != nil {
		o.factory = f
	}
	if o.factory != nil {
		o.color = term.Color(o.streams.Out, o.factory.Getenv)
	}
	return nil
}

// resolve finds the revision, remotes, namespace and client; Run starts
// with it, after Validate has checked the flags.
func (o *Options) resolve(ctx context.Context) error {
	// The kubeconfig is read and the client built while git answers (a
	// failure is kept by the factory and reported below, after git's).
	clientReady := make(chan struct{})
	if o.dyn == nil && !o.fleetMode() {
		go func() { defer close(clientReady); _, _ = o.factory.Dynamic() }()
	} else {
		close(clientReady)
	}
	defer func() { <-clientReady }()
	repo, err := gitrepo.Open(ctx, o.RepoDir)
	if err != nil {
		return err
	}
	o.repo = repo
	// The commit and the remotes: two git processes, side by side.
	var remotesErr error
	remotesRead := make(chan struct{})
	go func() { defer close(remotesRead); o.remotes, remotesErr = repo.Remotes(ctx) }()
	o.commit, err = repo.ResolveCommit(ctx, o.Revision)
	<-remotesRead
	if err != nil {
		return exitcode.Wrap(exitcode.NotFound, err)
	}
	if remotesErr != nil {
		return fmt.Errorf("reading the remotes of %s: %w", repo.Root, remotesErr)
	}
	if len(o.remotes) == 0 {
		return exitcode.Errorf(exitcode.NotFound, "%s has no remotes: Flux sources are found by URL, so add the remote Flux clones (git remote add origin URL)", repo.Root)
	}
	if o.fleetMode() {
		for _, h := range o.HelmReleases {
			if ns, name, ok := strings.Cut(h, "/"); ok && (ns == "" || name == "") {
				return exitcode.Errorf(exitcode.Usage, "--helmrelease %q: want NAMESPACE/NAME", h)
			}
		}
		o.facts = newFactCache(repo, o.commit)
		o.color = term.Color(o.streams.Out, o.factory.Getenv)
		return o.completeFleet(ctx)
	}
	// The scope follows the sources: every HelmRelease a traced source
	// reaches (chart source, Kustomization inventory or labels) is traced
	// wherever it lives. -n narrows that to one namespace; the current
	// namespace is where a release applied by hand (no Kustomization) is
	// looked for, and -A looks for those everywhere.
	<-clientReady
	current := ""
	if !o.AllNamespaces {
		ns, explicit, err := o.factory.Namespace()
		if err != nil {
			return err
		}
		current = ns
		o.manualNamespace = ns
		o.fallbackNamespaces = []string{ns}
		if explicit {
			o.namespace = ns
		}
	}
	for _, h := range o.HelmReleases {
		ns, name, ok := strings.Cut(h, "/")
		if !ok {
			ns, name = current, h
		}
		if ns == "" || name == "" {
			return exitcode.Errorf(exitcode.Usage, "--helmrelease %q: want NAMESPACE/NAME", h)
		}
		o.hrKeys = append(o.hrKeys, types.NamespacedName{Namespace: ns, Name: name})
	}
	if len(o.hrKeys) > 0 {
		// Explicit releases may live anywhere.
		o.namespace, o.manualNamespace = "", ""
	}
	if o.dyn == nil {
		if o.dyn, err = o.factory.Dynamic(); err != nil {
			return err
		}
	}
	o.facts = newFactCache(repo, o.commit)
	return nil
}

func (o *Options) out() io.Writer { return o.streams.Out }
