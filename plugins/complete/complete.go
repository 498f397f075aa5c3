// Package complete holds the dynamic shell-completion functions the
// commands share: HelmRelease names found in the GitOps repo (listed by
// internal/completion), namespaces from the cluster, and environment names.
//
// Each returns a cobra.CompletionFunc. They never fail loudly: a shell that
// is completing a word has nowhere to show an error, so problems go to
// cobra's completion debug log (BASH_COMP_DEBUG_FILE) and the shell gets no
// candidates.
package complete

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-gitops/kubectl-gitops/internal/completion"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kube"
)

// ClusterTimeout bounds how long namespace completion waits for the API
// server. A shell waiting on <TAB> for longer feels hung; no answer is better.
const ClusterTimeout = 2 * time.Second

// HelmReleaseNames completes HelmRelease names from the repo. dir returns the
// repo directory the command will act on (its --repo flag, or "."), read at
// completion time so flags typed earlier on the line count. The namespace of
// each release is shown as its description; with -n set, only that
// namespace's releases are offered.
func HelmReleaseNames(list completion.HelmReleaseLister, dir func(cmd *cobra.Command) string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			// Every command takes at most one release name.
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		releases, err := list(dir(cmd))
		if err != nil {
			cobra.CompDebugln(fmt.Sprintf("listing HelmReleases: %v", err), false)
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ns := ""
		if f := cmd.Flags().Lookup("namespace"); f != nil && f.Changed {
			ns = f.Value.String()
		}
		seen := map[string]bool{}
		var out []cobra.Completion
		for _, hr := range releases {
			if !strings.HasPrefix(hr.Name, toComplete) || (ns != "" && hr.Namespace != ns) {
				continue
			}
			desc := "namespace " + hr.Namespace
			if hr.Namespace == "" {
				desc = "no namespace set"
			}
			c := cobra.CompletionWithDesc(hr.Name, desc+", "+hr.Path)
			if seen[c] {
				continue
			}
			seen[c] = true
			out = append(out, c)
		}
		sort.Strings(out)
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// Namespaces completes namespace names from the cluster that the kubectl
// flags select. The client is built only when completion asks, and the
// request is cut off after ClusterTimeout.
func Namespaces(f kube.Factory) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		client, err := f.Kubernetes()
		if err != nil {
			cobra.CompDebugln(fmt.Sprintf("namespace completion: %v", err), false)
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx := cmd.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		ctx, cancel := context.WithTimeout(ctx, ClusterTimeout)
		defer cancel()
		list, err := client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		if err != nil {
			cobra.CompDebugln(fmt.Sprintf("namespace completion: listing namespaces: %v", err), false)
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, ns := range list.Items {
			if strings.HasPrefix(ns.Name, toComplete) {
				out = append(out, ns.Name)
			}
		}
		sort.Strings(out)
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// Environments completes environment names, e.g. for promote's --from/--to.
func Environments(list completion.EnvironmentLister, dir func(cmd *cobra.Command) string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		envs, err := list(dir(cmd))
		if err != nil {
			cobra.CompDebugln(fmt.Sprintf("listing environments: %v", err), false)
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, e := range envs {
			if strings.HasPrefix(e, toComplete) {
				out = append(out, e)
			}
		}
		sort.Strings(out)
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// RepoDir returns the value of the command's --repo flag if it has one, else
// ".": the directory HelmRelease and environment completion scan.
func RepoDir(cmd *cobra.Command) string {
	for _, name := range []string{"repo", "dir"} {
		if f := cmd.Flags().Lookup(name); f != nil && f.Value.String() != "" {
			return f.Value.String()
		}
	}
	return "."
}
