//go:build !unix

package fluxmodel

import (
	"context"

	"github.com/kubectl-gitops/kubectl-gitops/internal/readlimit"
)

func readInto(ctx context.Context, path string, _ []byte) ([]byte, error) {
	return readlimit.ReadFile(ctx, path)
}
