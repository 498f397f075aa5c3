// Package diff implements `kubectl gitops diff [BASE..HEAD]`: every
// HelmRelease whose manifest, values or chart source a range of commits
// changes, rendered before and after and validated, for a terminal, a CI
// log (-o json) or a pull-request comment (-o markdown).
package diff

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-gitops/kubectl-gitops/internal/chartsource"
	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kube"
	"github.com/kubectl-gitops/kubectl-gitops/plugins/command"
)

const example = `  # What does this branch change, rendered? (from its merge base with the
  # branch it tracks, else the remote's default branch)
  %[1]s diff
  %[1]s diff --base origin/master

  # A range, as JSON for CI, or Markdown for a pull-request comment
  %[1]s diff main..feature -o json
  %[1]s diff origin/main..HEAD -o markdown > comment.md

  # The gate of a pull request: post the report on it (one comment, kept up to date)
  %[1]s diff --comment

  # What the change does to the cluster: against the deployed Helm release and
  # the live objects, with drift (docs/live.md)
  %[1]s diff --live
  %[1]s diff --live --all --env production`

// NewCmd returns the diff command.
func NewCmd(f kube.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &Options{}
	cmd := &cobra.Command{
		Use:   "diff [BASE..HEAD] [flags]",
		Short: "Render every HelmRelease a range of commits changes, before and after, and validate it",
		Long: `Render every HelmRelease a range of commits changes, before and after, and validate it.

A HelmRelease is in the diff when the range changes its manifest (or a patch
of it), its values, or the source object its chart comes from. Both sides
are rendered as Flux would (see docs/validate.md) and checked against the
Kubernetes OpenAPI schema; the before side is the merge base of BASE and
HEAD, as a pull request compares.

Without a range, BASE is the branch the checkout tracks when that is
another branch, else the remote's default branch (origin/HEAD, or the one
of origin/main and origin/master that exists); --base names it. A range
that is empty or reversed is a usage error.

The gate fails closed: a HelmRelease that could not be rendered or
validated (an unreachable registry, a source needing credentials, ...) is
"unchecked" with its reason, and a file that no longer parses is an
"error" with file:line; both fail the run unless --allow-unchecked
accepts the unchecked ones. Each chart source and ref is looked up once
per run, each look-up bounded by --chart-timeout.

With --live, each release is compared with its cluster instead of with
the base's render: the manifest of the Helm release helm-controller last
deployed (read from its storage Secrets) and the live objects, through a
server-side dry-run apply as field manager helm-controller, so defaulted
fields do not show. Per release: objects added, changed and removed, a
diff per object (Secret data masked), and a drift line when the live
objects differ from the deployed release. One cluster, from the kubectl
flags, or --env/--all-envs through .gitops.yaml contexts; --all compares
every release of HEAD. Objects you may not read are listed as forbidden
and make the release unchecked.

Exit codes: 0 nothing rendered changes, 7 something changes (all
checked and valid; with --allow-unchecked, unchecked ones too), 4 a
change does not validate, a file cannot be read, or a release could not
be checked, 2 usage (bad range), 1 error.`,
		Example: fmt.Sprintf(example, "kubectl gitops"),
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return exitcode.Errorf(exitcode.Usage, "want at most one BASE..HEAD range, got %d\nSee '%s --help' for usage", len(args), cmd.CommandPath())
			}
			return nil
		},
		RunE: command.Wire[config](f, streams, o),
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Repo, "repo", "", "Git checkout of the GitOps repo (default: the repository containing the current directory)")
	fl.StringVarP(&o.Output, "output", "o", "", "Print json or markdown instead of text")
	fl.StringVar(&o.BaseFlag, "base", "", "Branch or commit to compare with (default: the branch the checkout tracks, else the remote's default branch)")
	fl.BoolVar(&o.AllowUnchecked, "allow-unchecked", false, "Do not fail on HelmReleases that could not be rendered or validated (they are still reported)")
	fl.DurationVar(&o.Timeout, "chart-timeout", chartsource.DefaultTimeout, "Bound on each chart look-up (git fetch, chart repository index, OCI pull)")
	o.CommentFlags.AddFlags(fl)
	o.LiveFlags.AddFlags(fl)
	fl.StringVar(&o.ChartDir, "chart-dir", "", "Local checkout of the charts' source to render from, instead of fetching each HelmRelease's source")
	_ = cmd.MarkFlagDirname("repo")
	_ = cmd.MarkFlagDirname("chart-dir")
	return cmd
}
