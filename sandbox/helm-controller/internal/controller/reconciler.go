package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	v2 "github.com/fluxcd/helm-controller/api/v2"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/release"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// EventRecorder is the part of client-go's record.EventRecorder used here.
type EventRecorder interface {
	AnnotatedEventf(object runtime.Object, annotations map[string]string, eventtype, reason, messageFmt string, args ...any)
}

// LogSource is implemented by a Releaser that keeps Helm's log lines for the
// "Last Helm logs" of failure events.
type LogSource interface {
	Logs(t Target) []string
}

// Reconciler reconciles HelmReleases the way helm-controller does, within the
// limits docs/sandbox-helm-controller.md lists.
type Reconciler struct {
	Client   client.Client
	Helm     Releaser
	Charts   ChartLoader
	Recorder EventRecorder
	Clock    clock.PassiveClock
	// DependencyRequeueInterval is how soon to look again at a source that
	// is not ready (helm-controller's --requeue-dependency, default 5s).
	DependencyRequeueInterval time.Duration
}

// errWaitForChart marks a reconcile that waits for the source: it requeues
// without an error and without bumping observedGeneration, like Flux.
var errWaitForChart = errors.New("must wait for chart")

// Reconcile implements reconcile.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	log := ctrl.LoggerFrom(ctx)
	hr := &v2.HelmRelease{}
	if err := r.Client.Get(ctx, req.NamespacedName, hr); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	base := hr.DeepCopy()
	patch := func() error {
		if err := r.Client.Status().Patch(ctx, hr, client.MergeFrom(base)); err != nil {
			return fmt.Errorf("failed to patch HelmRelease status: %w", err)
		}
		base = hr.DeepCopy()
		return nil
	}

	defer func() {
		if v, ok := hr.GetAnnotations()[meta.ReconcileRequestAnnotation]; ok {
			hr.Status.LastHandledReconcileAt = v
		}
		terminal := errors.Is(retErr, reconcile.TerminalError(nil))
		if errors.Is(retErr, errWaitForChart) {
			retErr = nil
		} else if terminal || (retErr == nil && !result.Requeue) { //nolint:staticcheck // Flux requeues this way too.
			hr.Status.ObservedGeneration = hr.Generation
		}
		if !hr.DeletionTimestamp.IsZero() && !controllerutil.ContainsFinalizer(hr, v2.HelmReleaseFinalizer) {
			return
		}
		if err := patch(); err != nil && !apierrors.IsNotFound(err) {
			retErr = errors.Join(retErr, err)
		}
	}()

	if !hr.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.reconcileDelete(ctx, hr)
	}
	if !controllerutil.ContainsFinalizer(hr, v2.HelmReleaseFinalizer) {
		controllerutil.AddFinalizer(hr, v2.HelmReleaseFinalizer)
		if err := r.Client.Update(ctx, hr); err != nil {
			return ctrl.Result{}, fmt.Errorf("failed to add finalizer: %w", err)
		}
		base = hr.DeepCopy()
		return ctrl.Result{Requeue: true}, nil //nolint:staticcheck // as Flux
	}
	if hr.Spec.Suspend {
		log.Info("reconciliation is suspended for this object")
		return ctrl.Result{}, nil
	}
	return r.reconcileRelease(ctx, hr, patch)
}

func (r *Reconciler) emit(hr *v2.HelmRelease, events []Event) {
	for _, e := range events {
		r.Recorder.AnnotatedEventf(hr, e.Annotations, e.Type, e.Reason, "%s", e.Message)
	}
}

func (r *Reconciler) reconcileRelease(ctx context.Context, hr *v2.HelmRelease, patch func() error) (ctrl.Result, error) {
	setCondition(hr, meta.ReconcilingCondition, "True", meta.ProgressingReason, "Fulfilling prerequisites")
	if err := patch(); err != nil {
		return ctrl.Result{}, err
	}

	if (hr.Spec.Chart == nil) == (hr.Spec.ChartRef == nil) {
		err := errors.New("exactly one of spec.chart and spec.chartRef must be set")
		MarkNotReady(hr, "InvalidChartReference", err.Error())
		setCondition(hr, meta.StalledCondition, "True", "InvalidChartReference", err.Error())
		return ctrl.Result{}, reconcile.TerminalError(err)
	}
	events, err := reconcileHelmChart(ctx, r.Client, hr)
	r.emit(hr, events)
	if err != nil {
		return ctrl.Result{}, err
	}

	src, err := getChartSource(ctx, r.Client, hr)
	if err != nil {
		msg := fmt.Sprintf("could not get Source object: %s", err)
		MarkNotReady(hr, v2.ArtifactFailedReason, msg)
		if apierrors.IsNotFound(err) {
			// A HelmChart just created may not be in the cache yet; its
			// watch event brings us back.
			return ctrl.Result{RequeueAfter: r.DependencyRequeueInterval}, errWaitForChart
		}
		return ctrl.Result{}, err
	}
	ClearPrerequisiteFailure(hr, v2.ArtifactFailedReason)
	if ok, msg := src.ready(); !ok {
		ctrl.LoggerFrom(ctx).Info(msg)
		MarkNotReady(hr, reasonSourceNotReady, msg)
		return ctrl.Result{RequeueAfter: r.DependencyRequeueInterval}, errWaitForChart
	}
	ClearPrerequisiteFailure(hr, reasonSourceNotReady)

	values, err := composeValues(ctx, r.Client, hr)
	if err != nil {
		MarkNotReady(hr, reasonValuesError, err.Error())
		r.emit(hr, []Event{{Type: corev1.EventTypeWarning, Reason: reasonValuesError, Message: err.Error()}})
		return ctrl.Result{}, err
	}
	ClearPrerequisiteFailure(hr, reasonValuesError)

	chrt, err := r.Charts.Load(ctx, src.Artifact)
	if err != nil {
		if errors.Is(err, errFileNotFound) {
			MarkNotReady(hr, v2.ArtifactFailedReason, fmt.Sprintf("Source not ready: artifact not found. Retrying in %s", r.DependencyRequeueInterval))
			return ctrl.Result{RequeueAfter: r.DependencyRequeueInterval}, errWaitForChart
		}
		MarkNotReady(hr, v2.ArtifactFailedReason, fmt.Sprintf("Could not load chart: %s", err))
		r.emit(hr, []Event{{Type: corev1.EventTypeWarning, Reason: v2.ArtifactFailedReason, Message: err.Error()}})
		return ctrl.Result{}, err
	}
	ClearPrerequisiteFailure(hr, v2.ArtifactFailedReason)

	d := Desired{
		ChartName:    chrt.Name(),
		ChartVersion: chrt.Metadata.Version,
		AppVersion:   chrt.Metadata.AppVersion,
		ConfigDigest: DigestValues(values),
	}
	// A release that moved (name, namespace or storage) starts a new history;
	// the old release is uninstalled first, as Flux does.
	if cur := hr.Status.History.Latest(); cur != nil &&
		(cur.Name != ReleaseName(hr) || cur.Namespace != hr.GetReleaseNamespace() ||
			(hr.Status.StorageNamespace != "" && hr.Status.StorageNamespace != hr.GetStorageNamespace())) {
		old := r.target(hr, hr.GetUninstall().GetTimeout(hr.GetTimeout()).Duration, false)
		old.ReleaseName, old.Namespace = cur.Name, cur.Namespace
		if hr.Status.StorageNamespace != "" {
			old.StorageNamespace = hr.Status.StorageNamespace
		}
		if err := r.Helm.Uninstall(ctx, old); err != nil {
			return ctrl.Result{}, fmt.Errorf("failed to uninstall release %s/%s after its target changed: %w", cur.Namespace, cur.Name, err)
		}
		hr.Status.ClearHistory()
		hr.Status.ClearFailures()
		hr.Status.StorageNamespace = ""
		return ctrl.Result{Requeue: true}, nil //nolint:staticcheck // as Flux
	}
	ResetFailuresIfChanged(hr, d)
	return r.runActions(ctx, hr, chrt, values, d, patch)
}

// target builds the Helm target for the HelmRelease.
func (r *Reconciler) target(hr *v2.HelmRelease, timeout time.Duration, wait bool) Target {
	return Target{
		ReleaseName:      ReleaseName(hr),
		Namespace:        hr.GetReleaseNamespace(),
		StorageNamespace: hr.GetStorageNamespace(),
		Timeout:          timeout,
		Wait:             wait,
		MaxHistory:       hr.GetMaxHistory(),
		OwnerName:        hr.Name,
		OwnerNamespace:   hr.Namespace,
	}
}

// runActions is helm-controller's AtomicRelease loop: look at storage, pick
// the next action, run it, record it, and go round again, running at most one
// release action and stopping after a remediation so each attempt is seen.
func (r *Reconciler) runActions(ctx context.Context, hr *v2.HelmRelease, chrt *chart.Chart, values map[string]any, d Desired, patch func() error) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	ran := map[bool]bool{} // keyed by Action.isRemediation()
	for {
		base := r.target(hr, hr.GetTimeout().Duration, false)
		before, err := r.Helm.History(ctx, base)
		if err != nil {
			MarkNotReady(hr, reasonStateError, fmt.Sprintf("Could not determine release state: %s", err))
			return ctrl.Result{}, fmt.Errorf("cannot determine release state: %w", err)
		}
		var latest *release.Release
		if len(before) > 0 {
			latest = before[0]
		}
		state, why := DetermineState(hr, latest, d)
		log.V(1).Info("release state", "state", state, "reason", why)
		if state == StateUnmanaged {
			hr.Status.ClearHistory()
		}
		next, err := NextAction(hr, state)
		if err != nil {
			switch {
			case errors.Is(err, errExceededMaxRetries):
				MarkRetriesExceeded(hr)
			case errors.Is(err, errMissingRollbackTarget):
				deleteCondition(hr, meta.ReconcilingCondition)
				setCondition(hr, meta.StalledCondition, "True", "MissingRollbackTarget", fmt.Sprintf("Failed to perform remediation: %s", err))
			default:
				return ctrl.Result{}, err
			}
			return ctrl.Result{}, reconcile.TerminalError(err)
		}
		if next == ActionNone {
			if hr.Status.Inventory == nil && latest != nil {
				r.recordInventory(hr, latest, chrt)
			}
			MarkInSync(hr)
			return ctrl.Result{RequeueAfter: hr.GetRequeueAfter()}, nil
		}
		if ran[next.isRemediation()] {
			if rem := hr.GetActiveRemediation(); rem == nil || !rem.RetriesExhausted(hr) {
				MarkRetrying(hr)
				return ctrl.Result{Requeue: true}, nil //nolint:staticcheck // as Flux
			}
			deleteCondition(hr, meta.ReconcilingCondition)
			return ctrl.Result{}, nil
		}

		t := r.actionTarget(hr, next)
		MarkReconciling(hr, next, t.Timeout)
		if err := patch(); err != nil {
			return ctrl.Result{}, err
		}
		log.Info(fmt.Sprintf("running '%s' action with timeout of %s", next, t.Timeout))
		res := ReleaseResult{Action: next}
		start := r.Clock.Now()
		switch next {
		case ActionInstall:
			res.Err = r.Helm.Install(ctx, t, chrt, values)
		case ActionUpgrade:
			res.Err = r.Helm.Upgrade(ctx, t, chrt, values)
		case ActionRollback:
			res.Target = hr.Status.History.Previous(true).DeepCopy()
			res.Err = r.Helm.Rollback(ctx, t, res.Target.Version)
		case ActionUninstall:
			res.Target = hr.Status.History.Latest().DeepCopy()
			res.Err = r.Helm.Uninstall(ctx, t)
		}
		if next == ActionInstall || next == ActionUpgrade {
			hr.Status.LastAttemptedReleaseActionDuration = &metav1.Duration{Duration: r.Clock.Since(start)}
		}
		if res.Err != nil {
			if ls, ok := r.Helm.(LogSource); ok {
				res.Logs = ls.Logs(t)
			}
		}
		after, herr := r.Helm.History(ctx, base)
		if herr != nil {
			return ctrl.Result{}, fmt.Errorf("cannot read release history after %s: %w", next, herr)
		}
		newAction, updatedAction := snapshotActions(next)
		res.Stored = RecordReleases(hr, before, after, newAction, updatedAction)
		if res.Stored && len(after) > 0 {
			r.recordInventory(hr, after[0], chrt)
		}
		r.emit(hr, ApplyResult(hr, d, res))

		if res.Err != nil && !res.Stored && !next.isRemediation() {
			// Nothing reached storage (e.g. the chart did not render):
			// retry with backoff, as Flux returns the error here.
			return ctrl.Result{}, res.Err
		}
		if next.isRemediation() {
			rem := hr.GetActiveRemediation()
			if rem == nil || !rem.RetriesExhausted(hr) || rem.IsUninstallAfterUpgrade() {
				MarkRetrying(hr)
				return ctrl.Result{Requeue: true}, nil //nolint:staticcheck // as Flux
			}
			MarkRetriesExceeded(hr)
			return ctrl.Result{}, reconcile.TerminalError(errExceededMaxRetries)
		}
		ran[next.isRemediation()] = true
		if err := patch(); err != nil {
			return ctrl.Result{}, err
		}
	}
}

// actionTarget applies the per-action timeout and wait settings.
func (r *Reconciler) actionTarget(hr *v2.HelmRelease, a Action) Target {
	def := hr.GetTimeout()
	switch a {
	case ActionInstall:
		t := r.target(hr, hr.GetInstall().GetTimeout(def).Duration, !hr.GetInstall().GetDisableWait())
		t.CreateNamespace = hr.GetInstall().CreateNamespace
		t.DisableHooks = hr.GetInstall().DisableHooks
		return t
	case ActionUpgrade:
		t := r.target(hr, hr.GetUpgrade().GetTimeout(def).Duration, !hr.GetUpgrade().GetDisableWait())
		t.DisableHooks = hr.GetUpgrade().DisableHooks
		return t
	case ActionRollback:
		t := r.target(hr, hr.GetRollback().GetTimeout(def).Duration, !hr.GetRollback().GetDisableWait())
		t.DisableHooks = hr.GetRollback().DisableHooks
		return t
	default:
		t := r.target(hr, hr.GetUninstall().GetTimeout(def).Duration, !hr.GetUninstall().GetDisableWait())
		t.DisableHooks = hr.GetUninstall().DisableHooks
		return t
	}
}

// snapshotActions are the history actions helm-controller records for the
// new and the updated releases of an action (see RecordReleases).
func snapshotActions(a Action) (newAction, updatedAction v2.ReleaseAction) {
	switch a {
	case ActionInstall:
		return v2.ReleaseActionInstall, ""
	case ActionUpgrade:
		return v2.ReleaseActionUpgrade, ""
	case ActionRollback:
		return "", v2.ReleaseActionRollback
	default:
		return "", ""
	}
}

// reconcileDelete uninstalls the release and deletes the HelmChart unless
// the HelmRelease is suspended, then lets the object go.
func (r *Reconciler) reconcileDelete(ctx context.Context, hr *v2.HelmRelease) error {
	if !hr.Spec.Suspend {
		if cur := hr.Status.History.Latest(); cur != nil {
			t := r.actionTarget(hr, ActionUninstall)
			t.ReleaseName, t.Namespace = cur.Name, cur.Namespace
			if hr.Status.StorageNamespace != "" {
				t.StorageNamespace = hr.Status.StorageNamespace
			}
			if err := r.Helm.Uninstall(ctx, t); err != nil {
				MarkNotReady(hr, v2.UninstallFailedReason, fmt.Sprintf("Failed to uninstall release: %s", err))
				return err
			}
		}
		if hr.Status.HelmChart != "" {
			ns, name := hr.Status.GetHelmChart()
			hc := &sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
			if err := r.Client.Delete(ctx, hc); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("failed to delete HelmChart '%s': %w", hr.Status.HelmChart, err)
			}
		}
	}
	controllerutil.RemoveFinalizer(hr, v2.HelmReleaseFinalizer)
	if err := r.Client.Update(ctx, hr); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("failed to remove finalizer: %w", err)
	}
	return nil
}

// recordInventory sets status.inventory from a stored release; failures to
// build it are events, not reconcile errors, as in helm-controller.
func (r *Reconciler) recordInventory(hr *v2.HelmRelease, rel *release.Release, chrt *chart.Chart) {
	inv, warnings, err := BuildInventory(rel, chrt, r.Client.RESTMapper())
	if err != nil {
		r.emit(hr, []Event{{Type: corev1.EventTypeWarning, Reason: v2.InventoryBuildFailedReason,
			Message: fmt.Sprintf("failed to build inventory for %s/%s: %s", hr.Namespace, hr.Name, err)}})
		return
	}
	if len(warnings) > 0 {
		r.emit(hr, []Event{{Type: corev1.EventTypeWarning, Reason: v2.NamespaceCheckSkippedReason, Message: strings.Join(warnings, "; ")}})
	}
	hr.Status.Inventory = inv
}
