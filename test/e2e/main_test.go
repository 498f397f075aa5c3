//go:build e2e

// Package e2e holds the end-to-end tests: they run the kubectl-gitops binary against the sandbox cluster
// (make sandbox-up; docs/sandbox.md) with real Flux controllers and a real Git server.
package e2e

import (
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/test/e2e/e2eutil"
)

func TestMain(m *testing.M) { e2eutil.Main(m) }
