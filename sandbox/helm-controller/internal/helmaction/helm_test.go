package helmaction

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	kubefake "helm.sh/helm/v3/pkg/kube/fake"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"

	"github.com/kubectl-gitops/kubectl-gitops/sandbox/helm-controller/internal/controller"
)

// TestHelmActions drives the real Releaser through Helm's action package with
// Helm's memory storage and fake kube client: it checks what reaches storage,
// which is what the reconciler turns into status.history.
func TestHelmActions(t *testing.T) {
	store := storage.Init(driver.NewMemory())
	kube := &kubefake.FailingKubeClient{PrintingKubeClient: kubefake.PrintingKubeClient{Out: io.Discard}}
	h := &Helm{LastLogs: 20, NewConfiguration: func(_ controller.Target, logf func(string, ...any)) (*action.Configuration, error) {
		return &action.Configuration{Releases: store, KubeClient: kube, Capabilities: chartutil.DefaultCapabilities, Log: logf}, nil
	}}
	chrt := &chart.Chart{
		Metadata: &chart.Metadata{APIVersion: "v2", Name: "sample-app", Version: "0.1.2", AppVersion: "1.21"},
		Templates: []*chart.File{{Name: "templates/deployment.yaml", Data: []byte(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicaCount }}
`)}},
		Values: map[string]any{"replicaCount": 2},
	}
	tg := controller.Target{ReleaseName: "sample-app", Namespace: "apps", StorageNamespace: "apps", Timeout: time.Minute,
		Wait: true, MaxHistory: 5, OwnerName: "sample-app", OwnerNamespace: "flux-apps"}
	ctx := context.Background()

	statuses := func() []string {
		t.Helper()
		rels, err := h.History(ctx, tg)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rels {
			out = append(out, r.Info.Status.String())
		}
		return out
	}
	expect := func(step string, want ...string) {
		t.Helper()
		if got := strings.Join(statuses(), ","); got != strings.Join(want, ",") {
			t.Fatalf("%s: storage (newest first) = %s, want %s", step, got, strings.Join(want, ","))
		}
	}

	expect("before install")
	if err := h.Install(ctx, tg, chrt, map[string]any{"replicaCount": 3}); err != nil {
		t.Fatal(err)
	}
	expect("install", "deployed")
	rels, _ := h.History(ctx, tg)
	if m := rels[0].Manifest; !strings.Contains(m, "helm.toolkit.fluxcd.io/name: sample-app") ||
		!strings.Contains(m, "helm.toolkit.fluxcd.io/namespace: flux-apps") || !strings.Contains(m, "replicas: 3") {
		t.Errorf("stored manifest lacks the post-renderer labels or the values:\n%s", m)
	}
	if rels[0].Namespace != "apps" || rels[0].Chart.Metadata.Version != "0.1.2" {
		t.Errorf("release = %s/%s chart %s, want apps/sample-app chart 0.1.2", rels[0].Namespace, rels[0].Name, rels[0].Chart.Metadata.Version)
	}

	if err := h.Upgrade(ctx, tg, chrt, map[string]any{"replicaCount": 5}); err != nil {
		t.Fatal(err)
	}
	expect("upgrade", "deployed", "superseded")

	kube.WaitError = errors.New("timeout waiting for: [Deployment/apps/sample-app status: 'InProgress']")
	err := h.Upgrade(ctx, tg, chrt, map[string]any{"replicaCount": 7})
	if err == nil || !strings.Contains(err.Error(), "timeout waiting for") {
		t.Fatalf("upgrade with a failing wait: err = %v", err)
	}
	expect("failed upgrade", "failed", "deployed", "superseded")
	if logs := h.Logs(tg); len(logs) == 0 {
		t.Error("no Helm log lines kept for the failure event")
	}
	kube.WaitError = nil

	if err := h.Rollback(ctx, tg, 2); err != nil {
		t.Fatal(err)
	}
	expect("rollback", "deployed", "failed", "superseded", "superseded")
	rels, _ = h.History(ctx, tg)
	if rels[0].Version != 4 || rels[0].Config["replicaCount"] != 5 {
		t.Errorf("rollback release = v%d with %v, want v4 with the values of v2", rels[0].Version, rels[0].Config)
	}

	if err := h.Uninstall(ctx, tg); err != nil {
		t.Fatal(err)
	}
	expect("uninstall")
	if err := h.Uninstall(ctx, tg); err != nil {
		t.Errorf("uninstalling an absent release: %v", err)
	}
}
