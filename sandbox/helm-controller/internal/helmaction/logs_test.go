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

// A failed update (the API server refusing the object) keeps Helm's log
// lines for the "Last Helm logs" of the UpgradeFailed event.
func TestLogsAfterFailedUpdate(t *testing.T) {
	store := storage.Init(driver.NewMemory())
	kube := &kubefake.FailingKubeClient{PrintingKubeClient: kubefake.PrintingKubeClient{Out: io.Discard}}
	h := &Helm{LastLogs: 10, NewConfiguration: func(_ controller.Target, logf func(string, ...any)) (*action.Configuration, error) {
		return &action.Configuration{Releases: store, KubeClient: kube, Capabilities: chartutil.DefaultCapabilities, Log: logf}, nil
	}}
	chrt := &chart.Chart{Metadata: &chart.Metadata{APIVersion: "v2", Name: "c", Version: "1.0.0"},
		Templates: []*chart.File{{Name: "templates/cm.yaml", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")}}}
	tg := controller.Target{ReleaseName: "r", Namespace: "n", StorageNamespace: "n", Timeout: time.Minute}
	if err := h.Install(context.Background(), tg, chrt, nil); err != nil {
		t.Fatal(err)
	}
	kube.UpdateError = errors.New("quantities must match the regular expression")
	if err := h.Upgrade(context.Background(), tg, chrt, map[string]any{"a": 1}); err == nil {
		t.Fatal("want the update error")
	}
	logs := h.Logs(tg)
	if len(logs) == 0 {
		t.Fatal("no Helm log lines kept after a failed update")
	}
	if !strings.Contains(logs[0], "preparing upgrade for r") || !strings.Contains(logs[len(logs)-1], "quantities must match") {
		t.Errorf("logs = %q, want the upgrade's own lines, from 'preparing upgrade' to the error", logs)
	}
}
