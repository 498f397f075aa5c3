// Package override implements `kubectl gitops override`: write HelmRelease
// value overrides into the GitOps repo, byte-minimally, and commit (and
// push) them.
package override

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kube"
	"github.com/kubectl-gitops/kubectl-gitops/plugins/command"
)

const example = `  # Pin the image tag and scale out; commit on the current branch
  %[1]s override sample-app -n sample-app --set image.tag=1.22 --set replicaCount=5

  # Show the change as a diff, change nothing
  %[1]s override sample-app --set image.tag=1.22 --dry-run

  # Commit and push (rebasing over concurrent pushes), or push a new branch for review
  %[1]s override sample-app --set image.tag=1.22 --push
  %[1]s override sample-app --set image.tag=1.22 --branch pin-1.22 -m "Pin 1.22 while 1.23 is investigated"

  # Open (or, run again, update) a pull request for review
  %[1]s override sample-app --set image.tag=1.22 --pr --pr-label hotfix

  # Helm's flags and typing: strings, JSON, files (deep-merged), and removal
  %[1]s override sample-app --set-string image.tag=1.0 --set-json 'resources={"limits":{"cpu":"500m"}}'
  %[1]s override sample-app -f prod-values.yaml --unset podAnnotations.team

  # Pick one of several matching HelmReleases (a base and an overlay)
  %[1]s override podinfo --path clusters/prod --set replicaCount=3`

// NewCmd returns the override command.
func NewCmd(f kube.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	o := &Options{}
	cmd := &cobra.Command{
		Use:   "override HELMRELEASE [-n NAMESPACE] [--set K=V]... [flags]",
		Short: "Write HelmRelease value overrides into the GitOps repo and commit them",
		Long: `Write HelmRelease value overrides into the GitOps repo and commit them.

Finds the HelmRelease in the Git checkout (every tracked YAML file, every
document; the namespace may come from the nearest kustomization.yaml), applies
the values with Helm's --set syntax and typing under spec.values, and changes
only the bytes that carry the new values: comments, quoting, key order,
blank lines, other documents and line endings stay as they were. The file is
then committed on its own (other uncommitted changes are left alone), and
with --push pushed, rebuilding the commit over concurrent pushes.`,
		Example: fmt.Sprintf(example, "kubectl gitops"),
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return exitcode.Errorf(exitcode.Usage, "want exactly one HELMRELEASE name, got %d\nSee '%s --help' for usage", len(args), cmd.CommandPath())
			}
			return nil
		},
		RunE: command.Wire[config](f, streams, o),
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Repo, "repo", "", "Git checkout of the GitOps repo (default: the repository containing the current directory)")
	fl.StringVar(&o.Path, "path", "", "A folder to build as a Flux Kustomization with that path and find the release in, or the file to edit")
	fl.StringVar(&o.Env, "env", "", "Environment (cluster) to change: edits the patch that sets each value there, else the base, and says which environments the file reaches")
	fl.BoolVar(&o.InPatch, "in-patch", false, "With --env: edit the environment's patch of the HelmRelease, not the base")
	fl.Var(o.valueFlag("set", &o.Set), "set", "Set a value, Helm --set syntax and typing (a.b=1, list[0].name=x, a\\.b=y); repeatable")
	fl.Var(o.valueFlag("set-string", &o.SetString), "set-string", "Set a STRING value (no typing); repeatable")
	fl.Var(o.valueFlag("set-json", &o.SetJSON), "set-json", "Set a JSON value (a={\"b\":1}); an object merges key by key into the map there, like -f; repeatable")
	fl.Var(o.valueFlag("replace", &o.Replace), "replace", "Replace the value at KEY whole with JSON (KEY=JSON); keys it drops are listed in a warning and in the diff; repeatable")
	fl.VarP(o.valueFlag("values", &o.Files), "values", "f", "Deep-merge a values YAML file ('-' for stdin); repeatable")
	fl.StringArrayVar(&o.Unset, "unset", nil, "Remove a key or list item (a.b, list[1]); applied before the other flags; repeatable")
	fl.BoolVar(&o.DryRun, "dry-run", false, "Print the diff and change nothing")
	fl.BoolVar(&o.SOPS, "sops", false, "Change a SOPS-encrypted file with `sops set` (sops on PATH, with its key), so it stays encrypted with a valid MAC")
	fl.BoolVar(&o.ShowSecrets, "show-secrets", false, "Show values fed from Secrets and values whose key names a secret (password, token, secret, ...) instead of <redacted>")
	fl.StringVarP(&o.Output, "output", "o", "", "Print the result as json or yaml instead of text")
	command.AddWriteFlags(fl, &o.Publish, &o.Check, `"override NS/NAME: KEY=VALUE, ..."`)
	_ = cmd.MarkFlagFilename("values", "yaml", "yml")
	_ = cmd.MarkFlagDirname("chart-dir")
	_ = cmd.MarkFlagDirname("repo")
	return cmd
}
