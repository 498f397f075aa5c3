// Package promote implements `kubectl gitops promote`.
package promote

import (
	"errors"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-gitops/kubectl-gitops/internal/kube"
)

// NewCmd returns the promote command. Placeholder until the plugin lands.
func NewCmd(f kube.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "promote",
		Short: "promote (not built yet)",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("promote is not built yet")
		},
	}
}
