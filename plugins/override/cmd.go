// Package override implements `kubectl gitops override`.
package override

import (
	"errors"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-gitops/kubectl-gitops/internal/kube"
)

// NewCmd returns the override command. Placeholder until the plugin lands.
func NewCmd(f kube.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "override",
		Short: "override (not built yet)",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("override is not built yet")
		},
	}
}
