// Package trace implements `kubectl gitops trace`.
package trace

import (
	"errors"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-gitops/kubectl-gitops/internal/kube"
)

// NewCmd returns the trace command. Placeholder until the plugin lands.
func NewCmd(f kube.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "trace",
		Short: "trace (not built yet)",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("trace is not built yet")
		},
	}
}
