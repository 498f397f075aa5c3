package controller

import (
	"context"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/release"
)

// Target names one Helm release and how actions on it run.
type Target struct {
	// ReleaseName and Namespace are where Helm installs the release.
	ReleaseName, Namespace string
	// StorageNamespace holds the release Secrets (driver "secret").
	StorageNamespace string
	// Timeout bounds the action including the wait for readiness.
	Timeout time.Duration
	// Wait makes the action wait until the rendered workloads are ready.
	Wait bool
	// MaxHistory caps the release Secrets Helm keeps (0 = unlimited).
	MaxHistory int
	// CreateNamespace creates the target namespace on install.
	CreateNamespace bool
	// DisableHooks skips chart hooks.
	DisableHooks bool
	// OwnerName and OwnerNamespace are the HelmRelease, stamped on every
	// rendered object as helm.toolkit.fluxcd.io/name and /namespace.
	OwnerName, OwnerNamespace string
}

// Releaser runs Helm actions. The real one (package helmaction) drives Helm's
// action package against the API server; tests use an in-memory one. Every
// action stores what Helm stores (a failed upgrade leaves a "failed" release),
// so the reconciler reads History after an action to see what happened.
type Releaser interface {
	// History returns the releases in storage for the target, newest first.
	History(ctx context.Context, t Target) ([]*release.Release, error)
	// Install installs the chart as the first release.
	Install(ctx context.Context, t Target, chrt *chart.Chart, values map[string]any) error
	// Upgrade upgrades the release to the chart and values.
	Upgrade(ctx context.Context, t Target, chrt *chart.Chart, values map[string]any) error
	// Rollback rolls back to the given release version.
	Rollback(ctx context.Context, t Target, version int) error
	// Uninstall removes the release and its objects.
	Uninstall(ctx context.Context, t Target) error
}
