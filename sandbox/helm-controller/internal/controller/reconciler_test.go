package controller

import (
	"context"
	"errors"
	"testing"
	"time"

	v2 "github.com/fluxcd/helm-controller/api/v2"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"helm.sh/helm/v3/pkg/chart"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

// The table below holds each HelmRelease status transition against
// /work/shared/flux-contract.md and helm-controller's own messages: every case
// runs the real Reconcile against controller-runtime's fake client with an
// in-memory Helm, starting from the state earlier reconciles left behind.

const (
	chartRevision  = "0.1.2+a1ec31cde25a" // reconcileStrategy: Revision
	chartRevision2 = "0.1.3+b923ae7c0d1e"
)

var hrKey = types.NamespacedName{Namespace: "sample-app", Name: "sample-app"}

func testScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, v2.AddToScheme, sourcev1.AddToScheme} {
		if err := add(s); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func values(raw string) *apiextensionsv1.JSON { return &apiextensionsv1.JSON{Raw: []byte(raw)} }

func baseHelmRelease() *v2.HelmRelease {
	return &v2.HelmRelease{
		ObjectMeta: metav1.ObjectMeta{Name: hrKey.Name, Namespace: hrKey.Namespace, Generation: 1,
			Finalizers: []string{v2.HelmReleaseFinalizer}},
		Spec: v2.HelmReleaseSpec{
			Interval: metav1.Duration{Duration: time.Minute},
			Chart: &v2.HelmChartTemplate{Spec: v2.HelmChartTemplateSpec{
				Chart:             "./charts/sample-app",
				SourceRef:         v2.CrossNamespaceObjectReference{Kind: "GitRepository", Name: "sample-app", Namespace: "flux-system"},
				ReconcileStrategy: "Revision",
				ValuesFiles:       []string{"values.yaml"},
			}},
			Values: values(`{"replicaCount":2,"image":{"tag":"1.21"}}`),
		},
	}
}

// readyHelmChart is the HelmChart as source-controller leaves it after
// packaging revision.
func readyHelmChart(revision string) *sourcev1.HelmChart {
	hc := buildHelmChart(baseHelmRelease())
	hc.Generation = 1
	hc.Status = sourcev1.HelmChartStatus{
		ObservedGeneration: 1,
		Conditions:         []metav1.Condition{{Type: meta.ReadyCondition, Status: metav1.ConditionTrue, Reason: "Succeeded", LastTransitionTime: metav1.Now()}},
		Artifact:           &meta.Artifact{Revision: revision, URL: "http://127.0.0.1/helmchart/x.tgz", Digest: "sha256:00"},
	}
	return hc
}

type env struct {
	t      *testing.T
	c      client.Client
	helm   *fakeHelm
	rec    *sliceRecorder
	r      *Reconciler
	result ctrl.Result
	err    error
}

func newEnv(t *testing.T, objs ...client.Object) *env {
	t.Helper()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	scheme := testScheme(t)
	// Every kind of the scheme (Deployments included) is namespaced here.
	mapper := apimeta.NewDefaultRESTMapper(nil)
	for gvk := range scheme.AllKnownTypes() {
		mapper.Add(gvk, apimeta.RESTScopeNamespace)
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithRESTMapper(mapper).WithObjects(objs...).
		WithStatusSubresource(&v2.HelmRelease{}, &sourcev1.HelmChart{}).Build()
	e := &env{t: t, c: c, helm: newFakeHelm(now), rec: &sliceRecorder{}}
	e.r = &Reconciler{
		Client: c, Helm: e.helm, Recorder: e.rec, Clock: clocktesting.NewFakePassiveClock(now),
		Charts: fakeCharts{
			chartRevision:  {Metadata: &chart.Metadata{Name: "sample-app", Version: chartRevision, AppVersion: "1.21", APIVersion: "v2"}},
			chartRevision2: {Metadata: &chart.Metadata{Name: "sample-app", Version: chartRevision2, AppVersion: "1.22", APIVersion: "v2"}},
		},
		DependencyRequeueInterval: 5 * time.Second,
	}
	return e
}

func (e *env) reconcile() {
	e.t.Helper()
	e.result, e.err = e.r.Reconcile(context.Background(), ctrl.Request{NamespacedName: hrKey})
}

func (e *env) hr() *v2.HelmRelease {
	e.t.Helper()
	var hr v2.HelmRelease
	if err := e.c.Get(context.Background(), hrKey, &hr); err != nil {
		e.t.Fatal(err)
	}
	return &hr
}

// change edits the HelmRelease spec as a GitOps commit would: new generation.
func (e *env) change(f func(hr *v2.HelmRelease)) {
	e.t.Helper()
	hr := e.hr()
	f(hr)
	hr.Generation++
	if err := e.c.Update(context.Background(), hr); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) setArtifact(revision string) {
	e.t.Helper()
	var hc sourcev1.HelmChart
	if err := e.c.Get(context.Background(), types.NamespacedName{Namespace: "flux-system", Name: "sample-app-sample-app"}, &hc); err != nil {
		e.t.Fatal(err)
	}
	hc.Status.Artifact.Revision = revision
	if err := e.c.Status().Update(context.Background(), &hc); err != nil {
		e.t.Fatal(err)
	}
}

// installed runs the first reconcile (a successful install) and forgets its
// events and calls, so a case sees only its own transition.
func (e *env) installed() {
	e.t.Helper()
	e.reconcile()
	if e.err != nil || len(e.helm.calls) != 1 {
		e.t.Fatalf("install did not happen: err=%v calls=%v", e.err, e.helm.calls)
	}
	e.helm.calls, e.rec.events = nil, nil
}

type cond struct{ status, reason, message string }

type snap struct {
	version      int
	status       string
	action       v2.ReleaseAction
	chartVersion string
}

type want struct {
	err          bool
	requeue      bool
	requeueAfter time.Duration
	// conditions lists every condition the HelmRelease must have, no more.
	conditions                                 map[string]cond
	history                                    []snap
	failures, installFailures, upgradeFailures int64
	lastAction                                 v2.ReleaseAction
	lastRevision                               string
	// values are the merged values whose digest lastAttemptedConfigDigest
	// must hold (nil: do not check).
	values             map[string]any
	observedGeneration int64 // -1: the current generation
	lastAttemptedGen   int64 // -1: the current generation
	lastHandled        string
	helmChart          string
	events             []recordedEvent  // Type, Reason, Message; annotations if set
	inventory          []v2.ResourceRef // nil: do not check
	helmCalls          []string
}

const (
	relName = "sample-app/sample-app"
	chartAt = "sample-app@" + chartRevision
	chart2  = "sample-app@" + chartRevision2
)

func TestReconcileTransitions(t *testing.T) {
	boom := errors.New(`cannot patch "sample-app" with kind Deployment: Deployment.apps "sample-app" is invalid: spec.template.spec.containers[0].resources.limits[memory]: Invalid value: "not-a-quantity"`)
	v1Values := map[string]any{"replicaCount": int64(2), "image": map[string]any{"tag": "1.21"}}
	v2Values := map[string]any{"replicaCount": int64(5), "image": map[string]any{"tag": "1.22"}}
	badValues := map[string]any{"replicaCount": int64(5), "resources": map[string]any{"limits": map[string]any{"memory": "not-a-quantity"}}}
	upgradeFailMsg := "Helm upgrade failed for release " + relName + " with chart " + chartAt + ": " + boom.Error()

	tests := []struct {
		name  string
		objs  []client.Object
		setup func(e *env)
		want  want
	}{
		{
			name: "install succeeds",
			want: want{
				conditions: map[string]cond{
					meta.ReadyCondition:  {"True", v2.InstallSucceededReason, "Helm install succeeded for release " + relName + ".v1 with chart " + chartAt},
					v2.ReleasedCondition: {"True", v2.InstallSucceededReason, "Helm install succeeded for release " + relName + ".v1 with chart " + chartAt},
				},
				history:            []snap{{1, "deployed", v2.ReleaseActionInstall, chartRevision}},
				inventory:          []v2.ResourceRef{{ID: "sample-app_sample-app_apps_Deployment", Version: "v1"}},
				lastAction:         v2.ReleaseActionInstall,
				lastRevision:       chartRevision,
				values:             v1Values,
				requeueAfter:       time.Minute,
				observedGeneration: -1, lastAttemptedGen: -1,
				helmChart: "flux-system/sample-app-sample-app",
				events: []recordedEvent{{Type: "Normal", Reason: v2.InstallSucceededReason,
					Message:     "Helm install succeeded for release " + relName + ".v1 with chart " + chartAt,
					Annotations: map[string]string{metaRevisionKey: chartRevision, metaTokenKey: DigestValues(v1Values), metaAppVersionKey: "1.21"}}},
				helmCalls: []string{"install"},
			},
		},
		{
			name: "upgrade succeeds on new values (new generation)",
			setup: func(e *env) {
				e.installed()
				e.change(func(hr *v2.HelmRelease) { hr.Spec.Values = values(`{"replicaCount":5,"image":{"tag":"1.22"}}`) })
			},
			want: want{
				conditions: map[string]cond{
					meta.ReadyCondition:  {"True", v2.UpgradeSucceededReason, "Helm upgrade succeeded for release " + relName + ".v2 with chart " + chartAt},
					v2.ReleasedCondition: {"True", v2.UpgradeSucceededReason, "Helm upgrade succeeded for release " + relName + ".v2 with chart " + chartAt},
				},
				history: []snap{
					{2, "deployed", v2.ReleaseActionUpgrade, chartRevision},
					{1, "superseded", "", chartRevision},
				},
				lastAction: v2.ReleaseActionUpgrade, lastRevision: chartRevision, values: v2Values,
				requeueAfter: time.Minute, observedGeneration: -1, lastAttemptedGen: -1,
				helmChart: "flux-system/sample-app-sample-app",
				events: []recordedEvent{{Type: "Normal", Reason: v2.UpgradeSucceededReason,
					Message:     "Helm upgrade succeeded for release " + relName + ".v2 with chart " + chartAt,
					Annotations: map[string]string{metaRevisionKey: chartRevision, metaTokenKey: DigestValues(v2Values), metaAppVersionKey: "1.21"}}},
				helmCalls: []string{"upgrade"},
			},
		},
		{
			name: "upgrade on a new chart artifact (Revision strategy commit)",
			setup: func(e *env) {
				e.installed()
				e.setArtifact(chartRevision2)
			},
			want: want{
				conditions: map[string]cond{
					meta.ReadyCondition:  {"True", v2.UpgradeSucceededReason, "Helm upgrade succeeded for release " + relName + ".v2 with chart " + chart2},
					v2.ReleasedCondition: {"True", v2.UpgradeSucceededReason, "Helm upgrade succeeded for release " + relName + ".v2 with chart " + chart2},
				},
				history: []snap{
					{2, "deployed", v2.ReleaseActionUpgrade, chartRevision2},
					{1, "superseded", "", chartRevision},
				},
				lastAction: v2.ReleaseActionUpgrade, lastRevision: chartRevision2, values: v1Values,
				requeueAfter: time.Minute, observedGeneration: -1, lastAttemptedGen: -1,
				helmChart: "flux-system/sample-app-sample-app",
				events:    []recordedEvent{{Type: "Normal", Reason: v2.UpgradeSucceededReason, Message: "Helm upgrade succeeded for release " + relName + ".v2 with chart " + chart2}},
				helmCalls: []string{"upgrade"},
			},
		},
		{
			name: "no-op when chart and values are unchanged: HelmChart updated, no action, no new history",
			setup: func(e *env) {
				e.installed()
				// A new generation that leaves values as they were (e.g. an
				// interval change) must not upgrade.
				e.change(func(hr *v2.HelmRelease) { hr.Spec.Interval = metav1.Duration{Duration: 2 * time.Minute} })
			},
			want: want{
				conditions: map[string]cond{
					meta.ReadyCondition:  {"True", v2.InstallSucceededReason, "Helm install succeeded for release " + relName + ".v1 with chart " + chartAt},
					v2.ReleasedCondition: {"True", v2.InstallSucceededReason, "Helm install succeeded for release " + relName + ".v1 with chart " + chartAt},
				},
				history:    []snap{{1, "deployed", v2.ReleaseActionInstall, chartRevision}},
				lastAction: v2.ReleaseActionInstall, lastRevision: chartRevision, values: v1Values,
				requeueAfter: 2 * time.Minute, observedGeneration: -1, lastAttemptedGen: -1,
				helmChart: "flux-system/sample-app-sample-app",
				// The HelmChart inherits the interval; the release does not move.
				events: []recordedEvent{{Type: "Normal", Reason: "HelmChartConfigured",
					Message: "HelmChart/flux-system/sample-app-sample-app configured with SourceRef 'GitRepository/flux-system/sample-app'"}},
			},
		},
		{
			name: "upgrade fails without retries: UpgradeFailed and Stalled RetriesExceeded at once",
			setup: func(e *env) {
				e.installed()
				e.helm.upgradeErr = boom
				e.change(func(hr *v2.HelmRelease) {
					hr.Spec.Values = values(`{"replicaCount":5,"resources":{"limits":{"memory":"not-a-quantity"}}}`)
				})
			},
			want: want{
				err: true,
				conditions: map[string]cond{
					meta.ReadyCondition:   {"False", v2.UpgradeFailedReason, upgradeFailMsg},
					v2.ReleasedCondition:  {"False", v2.UpgradeFailedReason, upgradeFailMsg},
					meta.StalledCondition: {"True", reasonRetriesExceeded, "Failed to upgrade after 1 attempt(s)"},
				},
				history: []snap{
					{2, "failed", v2.ReleaseActionUpgrade, chartRevision},
					{1, "deployed", v2.ReleaseActionInstall, chartRevision},
				},
				failures: 1, upgradeFailures: 1,
				lastAction: v2.ReleaseActionUpgrade, lastRevision: chartRevision, values: badValues,
				observedGeneration: -1, lastAttemptedGen: -1,
				helmChart: "flux-system/sample-app-sample-app",
				events: []recordedEvent{{Type: "Warning", Reason: v2.UpgradeFailedReason, Message: upgradeFailMsg,
					Annotations: map[string]string{metaRevisionKey: chartRevision, metaTokenKey: DigestValues(badValues), metaAppVersionKey: "1.21"}}},
				helmCalls: []string{"upgrade"},
			},
		},
		{
			name: "upgrade fails with retries left: rollback remediates and the reconcile requeues",
			setup: func(e *env) {
				e.installed()
				e.helm.upgradeErr = boom
				e.change(func(hr *v2.HelmRelease) {
					hr.Spec.Values = values(`{"replicaCount":5,"resources":{"limits":{"memory":"not-a-quantity"}}}`)
					hr.Spec.Upgrade = &v2.Upgrade{Remediation: &v2.UpgradeRemediation{Retries: 2}}
				})
			},
			want: want{
				requeue: true,
				conditions: map[string]cond{
					meta.ReadyCondition:       {"False", v2.RollbackSucceededReason, "Helm rollback to previous release " + relName + ".v1 with chart " + chartAt + " succeeded"},
					v2.ReleasedCondition:      {"False", v2.UpgradeFailedReason, upgradeFailMsg},
					v2.RemediatedCondition:    {"True", v2.RollbackSucceededReason, "Helm rollback to previous release " + relName + ".v1 with chart " + chartAt + " succeeded"},
					meta.ReconcilingCondition: {"True", meta.ProgressingWithRetryReason, "Helm rollback to previous release " + relName + ".v1 with chart " + chartAt + " succeeded"},
				},
				history: []snap{
					{3, "deployed", "", chartRevision}, // Flux leaves a rollback release's action empty
					{2, "failed", v2.ReleaseActionUpgrade, chartRevision},
					{1, "superseded", v2.ReleaseActionRollback, chartRevision},
				},
				failures: 1, upgradeFailures: 1,
				lastAction: v2.ReleaseActionUpgrade, lastRevision: chartRevision, values: badValues,
				observedGeneration: 1, lastAttemptedGen: -1,
				helmChart: "flux-system/sample-app-sample-app",
				events: []recordedEvent{
					{Type: "Warning", Reason: v2.UpgradeFailedReason, Message: upgradeFailMsg},
					{Type: "Normal", Reason: v2.RollbackSucceededReason, Message: "Helm rollback to previous release " + relName + ".v1 with chart " + chartAt + " succeeded"},
				},
				helmCalls: []string{"upgrade", "rollback:1"},
			},
		},
		{
			name: "retries run out: last failure remediated, then Stalled RetriesExceeded and no further upgrade",
			setup: func(e *env) {
				e.installed()
				e.helm.upgradeErr = boom
				e.change(func(hr *v2.HelmRelease) {
					hr.Spec.Values = values(`{"replicaCount":5,"resources":{"limits":{"memory":"not-a-quantity"}}}`)
					hr.Spec.Upgrade = &v2.Upgrade{Remediation: &v2.UpgradeRemediation{Retries: 1}}
				})
				e.reconcile() // upgrade fails, rollback, requeue
				e.reconcile() // upgrade fails again, rollback, out of retries
				e.helm.calls, e.rec.events = nil, nil
				// A later reconcile (interval or requestedAt) stays stalled.
			},
			want: want{
				err: true,
				conditions: map[string]cond{
					meta.ReadyCondition:    {"False", v2.RollbackSucceededReason, "Helm rollback to previous release " + relName + ".v3 with chart " + chartAt + " succeeded"},
					v2.ReleasedCondition:   {"False", v2.UpgradeFailedReason, upgradeFailMsg},
					v2.RemediatedCondition: {"True", v2.RollbackSucceededReason, "Helm rollback to previous release " + relName + ".v3 with chart " + chartAt + " succeeded"},
					meta.StalledCondition:  {"True", reasonRetriesExceeded, "Failed to upgrade after 2 attempt(s)"},
				},
				history: []snap{
					{5, "deployed", "", chartRevision},
					{4, "failed", v2.ReleaseActionUpgrade, chartRevision},
					{3, "superseded", v2.ReleaseActionRollback, chartRevision},
					{2, "failed", v2.ReleaseActionUpgrade, chartRevision},
					{1, "superseded", v2.ReleaseActionRollback, chartRevision},
				},
				failures: 2, upgradeFailures: 2,
				lastAction: v2.ReleaseActionUpgrade, lastRevision: chartRevision, values: badValues,
				observedGeneration: -1, lastAttemptedGen: -1,
				helmChart: "flux-system/sample-app-sample-app",
			},
		},
		{
			name: "a fixed spec after RetriesExceeded resets the counters and upgrades",
			setup: func(e *env) {
				e.installed()
				e.helm.upgradeErr = boom
				e.change(func(hr *v2.HelmRelease) {
					hr.Spec.Values = values(`{"replicaCount":5,"resources":{"limits":{"memory":"not-a-quantity"}}}`)
				})
				e.reconcile()
				e.helm.upgradeErr, e.helm.calls, e.rec.events = nil, nil, nil
				e.change(func(hr *v2.HelmRelease) { hr.Spec.Values = values(`{"replicaCount":5,"image":{"tag":"1.22"}}`) })
			},
			want: want{
				conditions: map[string]cond{
					meta.ReadyCondition:  {"True", v2.UpgradeSucceededReason, "Helm upgrade succeeded for release " + relName + ".v3 with chart " + chartAt},
					v2.ReleasedCondition: {"True", v2.UpgradeSucceededReason, "Helm upgrade succeeded for release " + relName + ".v3 with chart " + chartAt},
				},
				history: []snap{
					{3, "deployed", v2.ReleaseActionUpgrade, chartRevision},
					{2, "failed", v2.ReleaseActionUpgrade, chartRevision},
					{1, "superseded", "", chartRevision},
				},
				lastAction: v2.ReleaseActionUpgrade, lastRevision: chartRevision, values: v2Values,
				requeueAfter: time.Minute, observedGeneration: -1, lastAttemptedGen: -1,
				helmChart: "flux-system/sample-app-sample-app",
				events:    []recordedEvent{{Type: "Normal", Reason: v2.UpgradeSucceededReason, Message: "Helm upgrade succeeded for release " + relName + ".v3 with chart " + chartAt}},
				helmCalls: []string{"upgrade"},
			},
		},
		{
			name: "install fails without retries: InstallFailed and Stalled",
			setup: func(e *env) {
				e.helm.installErr = errors.New("timeout waiting for: [Deployment/sample-app/sample-app status: 'InProgress']")
			},
			want: want{
				err: true,
				conditions: map[string]cond{
					meta.ReadyCondition:   {"False", v2.InstallFailedReason, "Helm install failed for release " + relName + " with chart " + chartAt + ": timeout waiting for: [Deployment/sample-app/sample-app status: 'InProgress']"},
					v2.ReleasedCondition:  {"False", v2.InstallFailedReason, "Helm install failed for release " + relName + " with chart " + chartAt + ": timeout waiting for: [Deployment/sample-app/sample-app status: 'InProgress']"},
					meta.StalledCondition: {"True", reasonRetriesExceeded, "Failed to install after 1 attempt(s)"},
				},
				history:  []snap{{1, "failed", v2.ReleaseActionInstall, chartRevision}},
				failures: 1, installFailures: 1,
				lastAction: v2.ReleaseActionInstall, lastRevision: chartRevision, values: v1Values,
				observedGeneration: -1, lastAttemptedGen: -1,
				helmChart: "flux-system/sample-app-sample-app",
				events:    []recordedEvent{{Type: "Warning", Reason: v2.InstallFailedReason, Message: "Helm install failed for release " + relName + " with chart " + chartAt + ": timeout waiting for: [Deployment/sample-app/sample-app status: 'InProgress']"}},
				helmCalls: []string{"install"},
			},
		},
		{
			name: "install fails with retries left: uninstall remediation, then requeue",
			setup: func(e *env) {
				e.helm.installErr = errors.New("timeout waiting for: [Deployment/sample-app/sample-app status: 'InProgress']")
				e.change(func(hr *v2.HelmRelease) {
					hr.Spec.Install = &v2.Install{Remediation: &v2.InstallRemediation{Retries: 1}}
				})
			},
			want: want{
				requeue: true,
				conditions: map[string]cond{
					meta.ReadyCondition:       {"False", v2.UninstallSucceededReason, "Helm uninstall remediation for release " + relName + ".v1 with chart " + chartAt + " succeeded"},
					v2.ReleasedCondition:      {"False", v2.InstallFailedReason, "Helm install failed for release " + relName + " with chart " + chartAt + ": timeout waiting for: [Deployment/sample-app/sample-app status: 'InProgress']"},
					v2.RemediatedCondition:    {"True", v2.UninstallSucceededReason, "Helm uninstall remediation for release " + relName + ".v1 with chart " + chartAt + " succeeded"},
					meta.ReconcilingCondition: {"True", meta.ProgressingWithRetryReason, "Helm uninstall remediation for release " + relName + ".v1 with chart " + chartAt + " succeeded"},
				},
				history:  []snap{{1, "failed", v2.ReleaseActionInstall, chartRevision}},
				failures: 1, installFailures: 1,
				lastAction: v2.ReleaseActionInstall, lastRevision: chartRevision, values: v1Values,
				observedGeneration: 0, lastAttemptedGen: -1,
				helmChart: "flux-system/sample-app-sample-app",
				events: []recordedEvent{
					{Type: "Warning", Reason: v2.InstallFailedReason, Message: "Helm install failed for release " + relName + " with chart " + chartAt + ": timeout waiting for: [Deployment/sample-app/sample-app status: 'InProgress']"},
					{Type: "Normal", Reason: v2.UninstallSucceededReason, Message: "Helm uninstall remediation for release " + relName + ".v1 with chart " + chartAt + " succeeded"},
				},
				helmCalls: []string{"install", "uninstall"},
			},
		},
		{
			name: "a render error stores nothing: Released=False, retried with backoff, no counters for remediation",
			setup: func(e *env) {
				e.helm.renderErr = errors.New(`template: sample-app/templates/deployment.yaml:3: function "nope" not defined`)
			},
			want: want{
				err: true,
				conditions: map[string]cond{
					meta.ReadyCondition:       {"False", v2.InstallFailedReason, "Helm install failed for release " + relName + " with chart " + chartAt + `: template: sample-app/templates/deployment.yaml:3: function "nope" not defined`},
					v2.ReleasedCondition:      {"False", v2.InstallFailedReason, "Helm install failed for release " + relName + " with chart " + chartAt + `: template: sample-app/templates/deployment.yaml:3: function "nope" not defined`},
					meta.ReconcilingCondition: {"True", meta.ProgressingReason, "Running 'install' action with timeout of 5m0s"},
				},
				failures: 1, lastAction: v2.ReleaseActionInstall, lastRevision: chartRevision, values: v1Values,
				observedGeneration: 0, lastAttemptedGen: -1,
				helmChart: "flux-system/sample-app-sample-app",
				events:    []recordedEvent{{Type: "Warning", Reason: v2.InstallFailedReason, Message: "Helm install failed for release " + relName + " with chart " + chartAt + `: template: sample-app/templates/deployment.yaml:3: function "nope" not defined`}},
				helmCalls: []string{"install"},
			},
		},
		{
			name: "source not ready: SourceNotReady, requeue after the dependency interval, generation not observed",
			setup: func(e *env) {
				var hc sourcev1.HelmChart
				_ = e.c.Get(context.Background(), types.NamespacedName{Namespace: "flux-system", Name: "sample-app-sample-app"}, &hc)
				hc.Status.Artifact = nil
				if err := e.c.Status().Update(context.Background(), &hc); err != nil {
					e.t.Fatal(err)
				}
			},
			want: want{
				requeueAfter: 5 * time.Second,
				conditions: map[string]cond{
					meta.ReadyCondition:       {"False", reasonSourceNotReady, "HelmChart 'flux-system/sample-app-sample-app' is not ready: does not have an artifact"},
					meta.ReconcilingCondition: {"True", meta.ProgressingReason, "Fulfilling prerequisites"},
				},
				observedGeneration: 0, lastAttemptedGen: 0,
				helmChart: "flux-system/sample-app-sample-app",
			},
		},
		{
			name: "HelmChart is created from spec.chart with Flux's labels, then waited for",
			objs: []client.Object{}, // no HelmChart yet
			setup: func(e *env) {
				var hc sourcev1.HelmChart
				if err := e.c.Get(context.Background(), types.NamespacedName{Namespace: "flux-system", Name: "sample-app-sample-app"}, &hc); err == nil {
					_ = e.c.Delete(context.Background(), &hc)
				}
			},
			want: want{
				requeueAfter: 5 * time.Second,
				conditions: map[string]cond{
					meta.ReadyCondition:       {"False", reasonSourceNotReady, "HelmChart 'flux-system/sample-app-sample-app' is not ready: does not have an artifact"},
					meta.ReconcilingCondition: {"True", meta.ProgressingReason, "Fulfilling prerequisites"},
				},
				helmChart: "flux-system/sample-app-sample-app",
				events: []recordedEvent{{Type: "Normal", Reason: "HelmChartCreated",
					Message: "Created HelmChart/flux-system/sample-app-sample-app with SourceRef 'GitRepository/flux-system/sample-app'"}},
			},
		},
		{
			name: "values error: a missing ConfigMap that is not optional",
			setup: func(e *env) {
				e.change(func(hr *v2.HelmRelease) {
					hr.Spec.ValuesFrom = []v2.ValuesReference{{Kind: "ConfigMap", Name: "sample-app-values"}}
				})
			},
			want: want{
				err: true,
				conditions: map[string]cond{
					meta.ReadyCondition:       {"False", reasonValuesError, `could not get ConfigMap 'sample-app/sample-app-values': configmaps "sample-app-values" not found`},
					meta.ReconcilingCondition: {"True", meta.ProgressingReason, "Fulfilling prerequisites"},
				},
				helmChart: "flux-system/sample-app-sample-app",
				events:    []recordedEvent{{Type: "Warning", Reason: reasonValuesError, Message: `could not get ConfigMap 'sample-app/sample-app-values': configmaps "sample-app-values" not found`}},
			},
		},
		{
			name: "valuesFrom: ConfigMap document, Secret at targetPath, optional missing skipped, spec.values on top",
			objs: []client.Object{
				&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "sample-app", Name: "base"},
					Data: map[string]string{"values.yaml": "replicaCount: 3\nimage:\n  tag: \"1.20\"\n  repository: nginx\n"}},
				&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "sample-app", Name: "creds"},
					Data: map[string][]byte{"password": []byte("s3cr,et")}},
			},
			setup: func(e *env) {
				e.change(func(hr *v2.HelmRelease) {
					hr.Spec.ValuesFrom = []v2.ValuesReference{
						{Kind: "ConfigMap", Name: "base"},
						{Kind: "Secret", Name: "creds", ValuesKey: "password", TargetPath: "auth.password"},
						{Kind: "ConfigMap", Name: "absent", Optional: true},
					}
				})
			},
			want: want{
				conditions: map[string]cond{
					meta.ReadyCondition:  {"True", v2.InstallSucceededReason, "Helm install succeeded for release " + relName + ".v1 with chart " + chartAt},
					v2.ReleasedCondition: {"True", v2.InstallSucceededReason, "Helm install succeeded for release " + relName + ".v1 with chart " + chartAt},
				},
				history:    []snap{{1, "deployed", v2.ReleaseActionInstall, chartRevision}},
				lastAction: v2.ReleaseActionInstall, lastRevision: chartRevision,
				values: map[string]any{
					"replicaCount": int64(2),
					"image":        map[string]any{"tag": "1.21", "repository": "nginx"},
					"auth":         map[string]any{"password": "s3cr,et"},
				},
				requeueAfter: time.Minute, observedGeneration: -1, lastAttemptedGen: -1,
				helmChart: "flux-system/sample-app-sample-app",
				events:    []recordedEvent{{Type: "Normal", Reason: v2.InstallSucceededReason, Message: "Helm install succeeded for release " + relName + ".v1 with chart " + chartAt}},
				helmCalls: []string{"install"},
			},
		},
		{
			name: "suspended: nothing runs, generation observed, request handled",
			setup: func(e *env) {
				e.installed()
				e.change(func(hr *v2.HelmRelease) {
					hr.Spec.Suspend = true
					hr.Spec.Values = values(`{"replicaCount":5}`)
					hr.Annotations = map[string]string{meta.ReconcileRequestAnnotation: "2026-11-25T12:00:00Z"}
				})
			},
			want: want{
				conditions: map[string]cond{
					meta.ReadyCondition:  {"True", v2.InstallSucceededReason, "Helm install succeeded for release " + relName + ".v1 with chart " + chartAt},
					v2.ReleasedCondition: {"True", v2.InstallSucceededReason, "Helm install succeeded for release " + relName + ".v1 with chart " + chartAt},
				},
				history:    []snap{{1, "deployed", v2.ReleaseActionInstall, chartRevision}},
				lastAction: v2.ReleaseActionInstall, lastRevision: chartRevision, values: v1Values,
				observedGeneration: -1, lastAttemptedGen: 1,
				lastHandled: "2026-11-25T12:00:00Z",
				helmChart:   "flux-system/sample-app-sample-app",
			},
		},
		{
			name: "requestedAt on an in-sync release: handled, no upgrade",
			setup: func(e *env) {
				e.installed()
				hr := e.hr()
				hr.Annotations = map[string]string{meta.ReconcileRequestAnnotation: "now-1"}
				if err := e.c.Update(context.Background(), hr); err != nil {
					e.t.Fatal(err)
				}
			},
			want: want{
				conditions: map[string]cond{
					meta.ReadyCondition:  {"True", v2.InstallSucceededReason, "Helm install succeeded for release " + relName + ".v1 with chart " + chartAt},
					v2.ReleasedCondition: {"True", v2.InstallSucceededReason, "Helm install succeeded for release " + relName + ".v1 with chart " + chartAt},
				},
				history:    []snap{{1, "deployed", v2.ReleaseActionInstall, chartRevision}},
				lastAction: v2.ReleaseActionInstall, lastRevision: chartRevision, values: v1Values,
				requeueAfter: time.Minute, observedGeneration: -1, lastAttemptedGen: -1,
				lastHandled: "now-1",
				helmChart:   "flux-system/sample-app-sample-app",
			},
		},
		{
			name: "chartRef to an existing HelmChart: no HelmChart created, release from its artifact",
			objs: []client.Object{func() client.Object {
				hc := readyHelmChart(chartRevision2)
				hc.Name, hc.Namespace = "shared", "sample-app"
				return hc
			}()},
			setup: func(e *env) {
				e.change(func(hr *v2.HelmRelease) {
					hr.Spec.Chart = nil
					hr.Spec.ChartRef = &v2.CrossNamespaceSourceReference{Kind: "HelmChart", Name: "shared"}
				})
			},
			want: want{
				conditions: map[string]cond{
					meta.ReadyCondition:  {"True", v2.InstallSucceededReason, "Helm install succeeded for release " + relName + ".v1 with chart " + chart2},
					v2.ReleasedCondition: {"True", v2.InstallSucceededReason, "Helm install succeeded for release " + relName + ".v1 with chart " + chart2},
				},
				history:    []snap{{1, "deployed", v2.ReleaseActionInstall, chartRevision2}},
				lastAction: v2.ReleaseActionInstall, lastRevision: chartRevision2, values: v1Values,
				requeueAfter: time.Minute, observedGeneration: -1, lastAttemptedGen: -1,
				events:    []recordedEvent{{Type: "Normal", Reason: v2.InstallSucceededReason, Message: "Helm install succeeded for release " + relName + ".v1 with chart " + chart2}},
				helmCalls: []string{"install"},
			},
		},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs := append([]client.Object{baseHelmRelease(), readyHelmChart(chartRevision)}, tc.objs...)
			e := newEnv(t, objs...)
			if tc.setup != nil {
				tc.setup(e)
			}
			e.reconcile()
			checkResult(t, e, tc.want)
		})
	}
}

func checkResult(t *testing.T, e *env, w want) {
	t.Helper()
	if (e.err != nil) != w.err {
		t.Errorf("Reconcile error = %v, want error: %v", e.err, w.err)
	}
	if e.result.Requeue != w.requeue || e.result.RequeueAfter != w.requeueAfter { //nolint:staticcheck // Requeue is what Flux returns
		t.Errorf("result = %+v, want requeue=%v requeueAfter=%s", e.result, w.requeue, w.requeueAfter)
	}
	hr := e.hr()
	st := hr.Status

	for typ, c := range w.conditions {
		got := apimeta.FindStatusCondition(st.Conditions, typ)
		if got == nil {
			t.Errorf("condition %s missing; have %v", typ, condSummary(st.Conditions))
			continue
		}
		if string(got.Status) != c.status || got.Reason != c.reason || got.Message != c.message {
			t.Errorf("condition %s = %s/%s %q\n want %s/%s %q", typ, got.Status, got.Reason, got.Message, c.status, c.reason, c.message)
		}
	}
	for _, got := range st.Conditions {
		if _, ok := w.conditions[got.Type]; !ok {
			t.Errorf("unexpected condition %s=%s %s %q", got.Type, got.Status, got.Reason, got.Message)
		}
	}

	if len(st.History) != len(w.history) {
		t.Errorf("history has %d snapshots, want %d: %v", len(st.History), len(w.history), historySummary(st.History))
	} else {
		for i, s := range w.history {
			g := st.History[i]
			if g.Version != s.version || g.Status != s.status || g.Action != s.action || g.ChartVersion != s.chartVersion ||
				g.Name != "sample-app" || g.Namespace != "sample-app" || g.ChartName != "sample-app" ||
				g.ConfigDigest == "" || g.Digest == "" || g.FirstDeployed.IsZero() || g.LastDeployed.IsZero() {
				t.Errorf("history[%d] = %+v, want %+v", i, *g, s)
			}
		}
	}
	if st.Failures != w.failures || st.InstallFailures != w.installFailures || st.UpgradeFailures != w.upgradeFailures {
		t.Errorf("failures/install/upgrade = %d/%d/%d, want %d/%d/%d", st.Failures, st.InstallFailures, st.UpgradeFailures,
			w.failures, w.installFailures, w.upgradeFailures)
	}
	if st.LastAttemptedReleaseAction != w.lastAction {
		t.Errorf("lastAttemptedReleaseAction = %q, want %q", st.LastAttemptedReleaseAction, w.lastAction)
	}
	if st.LastAttemptedRevision != w.lastRevision {
		t.Errorf("lastAttemptedRevision = %q, want %q", st.LastAttemptedRevision, w.lastRevision)
	}
	if w.values != nil {
		if want := DigestValues(w.values); st.LastAttemptedConfigDigest != want {
			t.Errorf("lastAttemptedConfigDigest = %q, want %q (digest of %v)", st.LastAttemptedConfigDigest, want, w.values)
		}
		if len(st.History) > 0 && st.History[0].Status == "deployed" && st.History[0].Action != "" &&
			w.lastAction != "" && len(w.helmCalls) > 0 && w.helmCalls[len(w.helmCalls)-1] == string(w.lastAction) &&
			st.History[0].ConfigDigest != st.LastAttemptedConfigDigest {
			t.Errorf("history[0].configDigest = %q, want the attempted %q", st.History[0].ConfigDigest, st.LastAttemptedConfigDigest)
		}
	}
	wantGen := func(v int64) int64 {
		if v < 0 {
			return hr.Generation
		}
		return v
	}
	if st.ObservedGeneration != wantGen(w.observedGeneration) {
		t.Errorf("observedGeneration = %d, want %d", st.ObservedGeneration, wantGen(w.observedGeneration))
	}
	if st.LastAttemptedGeneration != wantGen(w.lastAttemptedGen) {
		t.Errorf("lastAttemptedGeneration = %d, want %d", st.LastAttemptedGeneration, wantGen(w.lastAttemptedGen))
	}
	if st.LastHandledReconcileAt != w.lastHandled {
		t.Errorf("lastHandledReconcileAt = %q, want %q", st.LastHandledReconcileAt, w.lastHandled)
	}
	if st.HelmChart != w.helmChart {
		t.Errorf("helmChart = %q, want %q", st.HelmChart, w.helmChart)
	}
	if st.LastAttemptedReleaseAction != "" && st.StorageNamespace != "sample-app" {
		t.Errorf("storageNamespace = %q, want sample-app", st.StorageNamespace)
	}

	if len(e.rec.events) != len(w.events) {
		t.Errorf("events = %+v, want %+v", e.rec.events, w.events)
	} else {
		for i, we := range w.events {
			ge := e.rec.events[i]
			if ge.Type != we.Type || ge.Reason != we.Reason || ge.Message != we.Message {
				t.Errorf("event[%d] = %s/%s %q, want %s/%s %q", i, ge.Type, ge.Reason, ge.Message, we.Type, we.Reason, we.Message)
			}
			for k, v := range we.Annotations {
				if ge.Annotations[k] != v {
					t.Errorf("event[%d] annotation %s = %q, want %q", i, k, ge.Annotations[k], v)
				}
			}
		}
	}
	if w.inventory != nil {
		if st.Inventory == nil || len(st.Inventory.Entries) != len(w.inventory) {
			t.Errorf("inventory = %+v, want %+v", st.Inventory, w.inventory)
		} else {
			for i := range w.inventory {
				if st.Inventory.Entries[i] != w.inventory[i] {
					t.Errorf("inventory[%d] = %+v, want %+v", i, st.Inventory.Entries[i], w.inventory[i])
				}
			}
		}
	}
	if len(e.helm.calls) != len(w.helmCalls) {
		t.Errorf("helm calls = %v, want %v", e.helm.calls, w.helmCalls)
	} else {
		for i := range w.helmCalls {
			if e.helm.calls[i] != w.helmCalls[i] {
				t.Errorf("helm calls = %v, want %v", e.helm.calls, w.helmCalls)
				break
			}
		}
	}
	for _, tg := range e.helm.targets {
		if tg.ReleaseName != "sample-app" || tg.Namespace != "sample-app" || tg.StorageNamespace != "sample-app" ||
			tg.OwnerName != "sample-app" || tg.OwnerNamespace != "sample-app" || !tg.Wait || tg.Timeout != 5*time.Minute {
			t.Errorf("helm target = %+v, want release sample-app/sample-app with wait and the 5m default timeout", tg)
		}
	}
}

func condSummary(cs []metav1.Condition) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Type+"="+string(c.Status)+"/"+c.Reason)
	}
	return out
}

func historySummary(h v2.Snapshots) []snap {
	var out []snap
	for _, s := range h {
		out = append(out, snap{s.Version, s.Status, s.Action, s.ChartVersion})
	}
	return out
}
