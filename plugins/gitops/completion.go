package gitops

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-gitops/kubectl-gitops/internal/completion"
	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kube"
	"github.com/kubectl-gitops/kubectl-gitops/plugins/complete"
)

// newCompletionCmd replaces cobra's default `completion` command, whose
// scripts are named after the root command's Use ("gitops"), a program no
// shell can run. These name the executable: kubectl-gitops, or flux-gitops.
func newCompletionCmd(displayName string, streams genericiooptions.IOStreams) *cobra.Command {
	program := strings.ReplaceAll(displayName, " ", "-")
	host := strings.SplitN(displayName, " ", 2)[0]
	shells := []string{"bash", "zsh", "fish", "powershell"}
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print the shell completion script for " + program,
		Long: fmt.Sprintf(`Print the shell completion script for %[1]s.

Through %[2]s, completion is %[2]s's own: load '%[2]s completion <shell>'.
`, program, host) + hostCompletionHelp(host, program) + fmt.Sprintf(`
To complete the %[1]s executable itself:

  bash:        source <(%[1]s completion bash)
  zsh:         source <(%[1]s completion zsh)
  fish:        %[1]s completion fish | source
  powershell:  %[1]s completion powershell | Out-String | Invoke-Expression

Completes subcommands, flags, HelmRelease names from the repo, environment
names and -n namespaces from the cluster.`, program),
		Args: func(cmd *cobra.Command, args []string) error {
			if err := cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs)(cmd, args); err != nil {
				return exitcode.Wrap(exitcode.Usage, fmt.Errorf("%w: name one of %s", err, strings.Join(shells, ", ")))
			}
			return nil
		},
		ValidArgs:             shells,
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			// The scripts are fully dynamic (they call `<program> __complete`),
			// so a command carrying only the program name generates them.
			named := &cobra.Command{Use: program}
			out := streams.Out
			switch args[0] {
			case "bash":
				return named.GenBashCompletionV2(out, true)
			case "zsh":
				return named.GenZshCompletion(out)
			case "fish":
				return named.GenFishCompletion(out, true)
			case "powershell":
				return named.GenPowerShellCompletionWithDesc(out)
			}
			return exitcode.Errorf(exitcode.Usage, "unknown shell %q: use one of %s", args[0], strings.Join(shells, ", "))
		},
	}
}

func hostCompletionHelp(host, program string) string {
	if host == "kubectl" {
		return fmt.Sprintf(`kubectl 1.26+ completes plugin arguments by running kubectl_complete-gitops
from PATH, which ships next to %s in every release archive.
`, program)
	}
	return fmt.Sprintf("%s completes its plugins' arguments by asking %s itself.\n", host, program)
}

// wireCompletion registers the dynamic completions that commands have not
// set themselves: -n namespaces from the cluster on every command,
// HelmRelease names from the repo where a command takes one, and
// environment names for promote's --from and --to. A plugin that registers
// its own keeps it.
func wireCompletion(root *cobra.Command, f kube.Factory) {
	// Registration errors only mean the flag is absent or already has a
	// completion, and either way the command's own choice stands.
	_ = root.RegisterFlagCompletionFunc("namespace", complete.Namespaces(f))
	ctx := context.Background()
	releases := complete.HelmReleaseNames(completion.RepoHelmReleases(ctx), complete.RepoDir)
	environments := complete.Environments(completion.RepoEnvironments(ctx), complete.RepoDir)
	for _, c := range root.Commands() {
		switch c.Name() {
		case "override", "promote": // override HELMRELEASE, promote [status] HELMRELEASE
			for _, c := range append([]*cobra.Command{c}, c.Commands()...) {
				if c.ValidArgsFunction == nil {
					c.ValidArgsFunction = releases
				}
			}
		case "trace": // trace [REVISION] --helmrelease NAME
			_ = c.RegisterFlagCompletionFunc("helmrelease", func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
				return releases(cmd, nil, toComplete)
			})
		}
		if c.Name() == "promote" {
			for _, flag := range []string{"from", "to"} {
				_ = c.RegisterFlagCompletionFunc(flag, environments)
			}
		}
	}
}
