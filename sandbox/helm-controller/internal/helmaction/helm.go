// Package helmaction runs Helm actions with Helm's own action package against
// the API server, for the sandbox HelmRelease reconciler.
package helmaction

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/kube"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubectl-gitops/kubectl-gitops/sandbox/helm-controller/internal/controller"
)

// Helm is the real controller.Releaser.
type Helm struct {
	Config *rest.Config
	// Logf receives Helm's debug log lines.
	Logf func(format string, args ...any)
	// LastLogs keeps this many of the last Helm log lines per action, for
	// the "Last Helm logs" part of failure events.
	LastLogs int
	// NewConfiguration, when set, replaces the API-server-backed Helm
	// configuration (tests use Helm's memory driver and fake kube client).
	NewConfiguration func(t controller.Target, logf func(string, ...any)) (*action.Configuration, error)

	mu   sync.Mutex
	logs map[string][]string // by storage namespace/release name
}

var _ controller.Releaser = (*Helm)(nil)
var _ controller.LogSource = (*Helm)(nil)

func logKey(t controller.Target) string { return t.StorageNamespace + "/" + t.ReleaseName }

// logger returns Helm's debug log function for one release, keeping its last
// lines apart from other releases reconciled at the same time.
func (h *Helm) logger(t controller.Target) func(string, ...any) {
	k := logKey(t)
	return func(format string, args ...any) {
		line := time.Now().UTC().Format(time.RFC3339Nano) + " " + fmt.Sprintf(format, args...)
		h.mu.Lock()
		if h.logs == nil {
			h.logs = map[string][]string{}
		}
		l := append(h.logs[k], line)
		if n := h.LastLogs; n > 0 && len(l) > n {
			l = l[len(l)-n:]
		}
		h.logs[k] = l
		h.mu.Unlock()
		if h.Logf != nil {
			h.Logf("%s: %s", k, fmt.Sprintf(format, args...))
		}
	}
}

// Logs returns and forgets the last Helm log lines of a release.
func (h *Helm) Logs(t controller.Target) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	l := h.logs[logKey(t)]
	delete(h.logs, logKey(t))
	return l
}

// startAction forgets earlier log lines of the release, so a failure event
// carries the lines of its own action only (Flux keeps a buffer per action).
func (h *Helm) startAction(t controller.Target) {
	h.mu.Lock()
	delete(h.logs, logKey(t))
	h.mu.Unlock()
}

func (h *Helm) configuration(t controller.Target) (*action.Configuration, error) {
	logf := h.logger(t)
	if h.NewConfiguration != nil {
		return h.NewConfiguration(t, logf)
	}
	getter := newRESTClientGetter(h.Config, t.Namespace)
	cfg := new(action.Configuration)
	if err := cfg.Init(getter, t.StorageNamespace, "secret", logf); err != nil {
		return nil, fmt.Errorf("failed to initialise Helm for release %s/%s: %w", t.Namespace, t.ReleaseName, err)
	}
	cfg.Releases.MaxHistory = t.MaxHistory
	kc, ok := cfg.KubeClient.(*kube.Client)
	if !ok {
		return nil, fmt.Errorf("unexpected Helm kube client %T", cfg.KubeClient)
	}
	kc.Namespace = t.Namespace
	cs, err := kubernetes.NewForConfig(h.Config)
	if err != nil {
		return nil, fmt.Errorf("failed to build clientset: %w", err)
	}
	// Replace Helm's polling readiness check with a kstatus-like one that
	// watches, so Released=True means the rollout finished, as with Flux.
	cfg.KubeClient = &kstatusClient{Client: kc, clientset: cs, logf: logf}
	return cfg, nil
}

// History returns the stored releases, newest first.
func (h *Helm) History(_ context.Context, t controller.Target) ([]*release.Release, error) {
	cfg, err := h.configuration(t)
	if err != nil {
		return nil, err
	}
	rels, err := cfg.Releases.History(t.ReleaseName)
	if err != nil && !errors.Is(err, driver.ErrReleaseNotFound) {
		return nil, fmt.Errorf("failed to read Helm history of %s/%s: %w", t.StorageNamespace, t.ReleaseName, err)
	}
	sort.Slice(rels, func(i, j int) bool { return rels[i].Version > rels[j].Version })
	return rels, nil
}

// Install runs `helm install`.
func (h *Helm) Install(ctx context.Context, t controller.Target, chrt *chart.Chart, values map[string]any) error {
	h.startAction(t)
	cfg, err := h.configuration(t)
	if err != nil {
		return err
	}
	a := action.NewInstall(cfg)
	a.ReleaseName = t.ReleaseName
	a.Namespace = t.Namespace
	a.Timeout = t.Timeout
	a.Wait = t.Wait
	a.CreateNamespace = t.CreateNamespace
	a.DisableHooks = t.DisableHooks
	a.PostRenderer = labelPostRenderer{name: t.OwnerName, namespace: t.OwnerNamespace}
	_, err = a.RunWithContext(ctx, chrt, values)
	return err
}

// Upgrade runs `helm upgrade`.
func (h *Helm) Upgrade(ctx context.Context, t controller.Target, chrt *chart.Chart, values map[string]any) error {
	h.startAction(t)
	cfg, err := h.configuration(t)
	if err != nil {
		return err
	}
	a := action.NewUpgrade(cfg)
	a.Namespace = t.Namespace
	a.Timeout = t.Timeout
	a.Wait = t.Wait
	a.MaxHistory = t.MaxHistory
	a.DisableHooks = t.DisableHooks
	a.PostRenderer = labelPostRenderer{name: t.OwnerName, namespace: t.OwnerNamespace}
	_, err = a.RunWithContext(ctx, t.ReleaseName, chrt, values)
	return err
}

// Rollback runs `helm rollback` to version.
func (h *Helm) Rollback(_ context.Context, t controller.Target, version int) error {
	h.startAction(t)
	cfg, err := h.configuration(t)
	if err != nil {
		return err
	}
	a := action.NewRollback(cfg)
	a.Version = version
	a.Timeout = t.Timeout
	a.Wait = t.Wait
	a.MaxHistory = t.MaxHistory
	a.DisableHooks = t.DisableHooks
	return a.Run(t.ReleaseName)
}

// Uninstall runs `helm uninstall`.
func (h *Helm) Uninstall(_ context.Context, t controller.Target) error {
	h.startAction(t)
	cfg, err := h.configuration(t)
	if err != nil {
		return err
	}
	a := action.NewUninstall(cfg)
	a.Timeout = t.Timeout
	a.Wait = t.Wait
	a.DisableHooks = t.DisableHooks
	_, err = a.Run(t.ReleaseName)
	if err != nil && strings.Contains(err.Error(), "not found") {
		return nil
	}
	return err
}
