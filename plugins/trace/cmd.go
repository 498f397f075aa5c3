// Package trace implements `kubectl gitops trace`: follow a commit from Git
// through Flux to running pods.
package trace

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cachedir"
	"github.com/kubectl-gitops/kubectl-gitops/internal/commitcache"
	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kube"
	"github.com/kubectl-gitops/kubectl-gitops/internal/printer"
	"github.com/kubectl-gitops/kubectl-gitops/internal/term"
	"github.com/kubectl-gitops/kubectl-gitops/plugins/command"
)

// Options are trace's flags, and nothing else: Complete derives the
// config that runs.
type Options struct {
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
}

// config is one run of trace, settled by Complete: the flags (a copy),
// the revision, and what the root provides. Nothing changes it while the
// runner works.
type config struct {
	Options
	Revision string
	// contexts is --context a,b split: one cluster each ("" for one context).
	contexts []string
	// tool is how the user invoked us ("flux gitops"), for the hints.
	tool    string
	color   bool
	factory kube.Factory
	streams genericiooptions.IOStreams
	hooks   hooks
	// commits keeps what a commit's content alone answers (nil: no cache
	// directory, every run asks git and builds the model).
	commits *commitcache.Store
}

// hooks are what tests and benchmarks replace.
type hooks struct {
	// onRedraw, when set, is called after each redraw in --watch with the
	// time the triggering watch event arrived.
	onRedraw func(eventAt time.Time)
	// fleetDyn, when set, gives the client of a context instead of the factory.
	fleetDyn func(kctx string) dynamic.Interface
}

// withHooks is Options whose config carries test hooks.
type withHooks struct {
	*Options
	hooks hooks
}

func (o withHooks) Complete(ctx context.Context, in command.Inputs, args []string) (config, error) {
	c, err := o.Options.Complete(ctx, in, args)
	c.hooks = o.hooks
	return c, err
}

// runner is one run's state: what resolve found in git, and where each
// cluster is traced.
type runner struct {
	config
	repo    *gitrepo.Repo
	commit  *gitrepo.Commit
	remotes []gitrepo.Remote
	facts   *factCache
	// scope is the one cluster traced; members, instead, the environments
	// or clusters of a fleet trace (fleet.go), each with a scope of its own.
	scope   *scope
	members []*member
	// gitResolved is closed once resolveGit has returned, when it runs
	// beside the first computation (first); nil when it ran before.
	gitResolved chan struct{}
}

// scope is where one cluster is traced, settled before the first
// computation and shared by every later one: its client, and the
// namespaces and releases asked for, resolved in it.
type scope struct {
	factory kube.Factory
	dyn     dynamic.Interface
	// namespace narrows the releases to one namespace (-n; "" = wherever
	// the sources reach); manualNamespace is where hand-applied releases
	// count ("" = all, -A); fallbackNamespaces are listed when RBAC refuses
	// a list in all namespaces.
	namespace          string
	manualNamespace    string
	fallbackNamespaces []string
	hrKeys             []types.NamespacedName
}

// NewCmd returns the trace command.
func NewCmd(f kube.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	return newCmd(f, streams, nil)
}

// newCmd lets tests set hooks the run calls.
func newCmd(f kube.Factory, streams genericiooptions.IOStreams, hook func(*hooks)) *cobra.Command {
	o := &Options{Timeout: 5 * time.Minute, Output: "table", RepoDir: "."}
	var opts command.Options[config] = o
	if hook != nil {
		h := withHooks{Options: o}
		hook(&h.hooks)
		opts = h
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
		RunE:          command.Wire(f, streams, opts),
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

// Complete takes the revision, and splits --context a,b.
func (o *Options) Complete(_ context.Context, in command.Inputs, args []string) (config, error) {
	c := config{Options: *o, Revision: "HEAD", tool: in.Name, factory: in.Factory, streams: in.Streams}
	if len(args) == 1 {
		c.Revision = args[0]
	}
	c.contexts = fleetContexts(in.Factory)
	c.color = term.Color(c.streams.Out, in.Getenv())
	if root, err := cachedir.Root(in.Getenv()); err == nil {
		c.commits, _ = commitcache.Open(root)
	}
	return c, nil
}

// Validate checks the flags alone.
func (c config) Validate() error {
	if err := printer.Check(c.Output, "table"); err != nil {
		return err
	}
	if c.Watch && c.Output != "table" {
		return fmt.Errorf("--watch draws a table; use --wait with -o %s", c.Output)
	}
	if c.Timeout <= 0 {
		return fmt.Errorf("--timeout must be positive, got %s", c.Timeout)
	}
	if err := c.validateFleet(); err != nil {
		return err
	}
	for _, h := range c.HelmReleases {
		ns, name, ok := strings.Cut(h, "/")
		if !ok && c.AllNamespaces {
			return fmt.Errorf("--helmrelease %s needs a namespace with -A: use NAMESPACE/%s", h, h)
		}
		if h == "" || ok && (ns == "" || name == "") {
			return fmt.Errorf("--helmrelease %q: want NAMESPACE/NAME", h)
		}
	}
	return nil
}

// Run traces the commit once, or until deployed/failed with --watch/--wait.
func (c config) Run(ctx context.Context) error {
	return (&runner{config: c}).run(ctx)
}

// resolveGit finds the revision and the remotes in the checkout: what
// git answers, before anything is asked of a cluster in fleet mode, and
// beside the first reads of the one cluster otherwise (run).
func (o *runner) resolveGit(ctx context.Context) error {
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
	o.facts = newFactCache(repo, o.commit, o.commits)
	return nil
}

// resolveCluster reads the kubeconfig, builds the client and settles
// where the one cluster is traced.
func (o *runner) resolveCluster() error {
	var err error
	if o.scope, err = o.newScope(o.factory, "", !o.AllNamespaces); err != nil {
		return err
	}
	if o.scope.dyn, err = o.factory.Dynamic(); err == nil && o.scope.dyn == nil {
		err = errors.New("no Kubernetes client: check --kubeconfig and --context")
	}
	return err
}

// newScope settles where a cluster of factory f is traced. The scope
// follows the sources: every HelmRelease a traced source reaches (chart
// source, Kustomization inventory or labels) is traced wherever it lives.
// ns narrows that to one namespace (-n; in a fleet, else the
// environment's); a release applied by hand (no Kustomization) is looked
// for in that namespace, else the context's, and with -A (manual false)
// everywhere. --helmrelease NAME is looked for there too; explicit
// releases may live anywhere.
func (o *runner) newScope(f kube.Factory, ns string, manual bool) (*scope, error) {
	sc := &scope{factory: f, namespace: ns}
	current := ns
	if manual {
		if current == "" {
			var explicit bool
			var err error
			if current, explicit, err = f.Namespace(); err != nil {
				return sc, err
			}
			if explicit && !o.fleetMode() {
				sc.namespace = current
			}
		}
		sc.manualNamespace = current
		sc.fallbackNamespaces = []string{current}
	}
	for _, h := range o.HelmReleases {
		hns, name, ok := strings.Cut(h, "/")
		if !ok {
			hns, name = current, h
		}
		sc.hrKeys = append(sc.hrKeys, types.NamespacedName{Namespace: hns, Name: name})
	}
	if len(sc.hrKeys) > 0 {
		sc.namespace, sc.manualNamespace = "", ""
	}
	return sc, nil
}

func (o *runner) out() io.Writer { return o.streams.Out }
