package controller

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	v2 "github.com/fluxcd/helm-controller/api/v2"
	"github.com/fluxcd/pkg/apis/meta"
	"helm.sh/helm/v3/pkg/release"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// This file is the pure core: functions from the observed HelmRelease, the
// desired chart/values and what Helm storage holds to the next action, and
// from an action's result to the new status and the events to emit. Nothing
// here talks to the API server, so the table test can hold every transition
// against flux-contract.md.

// Messages and reasons as helm-controller writes them.
const (
	fmtInstallFailure = "Helm install failed for release %s/%s with chart %s@%s: %s"
	fmtInstallSuccess = "Helm install succeeded for release %s with chart %s"
	fmtUpgradeFailure = "Helm upgrade failed for release %s/%s with chart %s@%s: %s"
	fmtUpgradeSuccess = "Helm upgrade succeeded for release %s with chart %s"
	fmtRollbackFail   = "Helm rollback to previous release %s with chart %s failed: %s"
	fmtRollbackOK     = "Helm rollback to previous release %s with chart %s succeeded"
	fmtUninstallFail  = "Helm uninstall remediation for release %s with chart %s failed: %s"
	fmtUninstallOK    = "Helm uninstall remediation for release %s with chart %s succeeded"

	reasonRetriesExceeded = "RetriesExceeded"
	reasonSourceNotReady  = "SourceNotReady"
	reasonValuesError     = "ValuesError"
	reasonReconcileError  = "ReconcileError"
	reasonStateError      = "StateError"

	metaRevisionKey   = "helm.toolkit.fluxcd.io/revision"
	metaTokenKey      = "helm.toolkit.fluxcd.io/token"
	metaAppVersionKey = "helm.toolkit.fluxcd.io/app-version"
)

var (
	errExceededMaxRetries    = errors.New("exceeded maximum retries")
	errMissingRollbackTarget = errors.New("missing target for rollback")
)

// Event is a Kubernetes Event to record on the HelmRelease.
type Event struct {
	Type, Reason, Message string
	Annotations           map[string]string
}

// Desired is what the release should run.
type Desired struct {
	ChartName, ChartVersion, AppVersion string
	// ConfigDigest is DigestValues of the merged values.
	ConfigDigest string
}

// Action is a Helm action the core asks for.
type Action string

const (
	ActionNone      Action = ""
	ActionInstall   Action = "install"
	ActionUpgrade   Action = "upgrade"
	ActionRollback  Action = "rollback"
	ActionUninstall Action = "uninstall"
)

// isRemediation tells remediation actions apart: after one, a reconcile stops
// and requeues, so each attempt is its own reconcile (as in Flux).
func (a Action) isRemediation() bool { return a == ActionRollback || a == ActionUninstall }

// ReleaseState is how storage compares with the desired state.
type ReleaseState string

const (
	StateAbsent    ReleaseState = "Absent"
	StateInSync    ReleaseState = "InSync"
	StateOutOfSync ReleaseState = "OutOfSync"
	StateFailed    ReleaseState = "Failed"
	StateUnmanaged ReleaseState = "Unmanaged"
)

// DetermineState compares the newest release in storage with the HelmRelease's
// history and the desired chart and values.
func DetermineState(hr *v2.HelmRelease, latest *release.Release, d Desired) (ReleaseState, string) {
	if latest == nil || latest.Info == nil || latest.Info.Status == release.StatusUninstalled {
		return StateAbsent, "no release in storage"
	}
	cur := hr.Status.History.Latest()
	if cur == nil || cur.Name != latest.Name || cur.Namespace != latest.Namespace || cur.Version != latest.Version {
		return StateUnmanaged, fmt.Sprintf("release %s/%s.v%d is not in the HelmRelease history",
			latest.Namespace, latest.Name, latest.Version)
	}
	switch latest.Info.Status {
	case release.StatusFailed, release.StatusPendingInstall, release.StatusPendingUpgrade, release.StatusPendingRollback:
		// A pending release here means an action was cut off (the controller
		// stopped mid-wait); like Flux after unlocking it, treat it as failed.
		return StateFailed, fmt.Sprintf("release is in a %s state", latest.Info.Status)
	}
	chartVersion := ""
	if latest.Chart != nil && latest.Chart.Metadata != nil {
		chartVersion = latest.Chart.Metadata.Version
	}
	if chartVersion != d.ChartVersion {
		return StateOutOfSync, fmt.Sprintf("chart version %s differs from %s", chartVersion, d.ChartVersion)
	}
	if cur.ConfigDigest != d.ConfigDigest {
		return StateOutOfSync, "values differ from the release"
	}
	return StateInSync, "release matches chart and values"
}

// NextAction decides the Helm action for a state, following helm-controller's
// AtomicRelease: install when absent, upgrade when out of sync or unmanaged,
// remediate a failure while retries remain, and errExceededMaxRetries when not.
func NextAction(hr *v2.HelmRelease, state ReleaseState) (Action, error) {
	switch state {
	case StateInSync:
		return ActionNone, nil
	case StateAbsent:
		if hr.GetInstall().GetRemediation().RetriesExhausted(hr) {
			return ActionNone, fmt.Errorf("%w: cannot install release", errExceededMaxRetries)
		}
		return ActionInstall, nil
	case StateUnmanaged:
		return ActionUpgrade, nil
	case StateOutOfSync:
		if hr.Status.LastAttemptedReleaseAction == v2.ReleaseActionUpgrade &&
			hr.GetUpgrade().GetRemediation().RetriesExhausted(hr) {
			return ActionNone, fmt.Errorf("%w: cannot upgrade release", errExceededMaxRetries)
		}
		return ActionUpgrade, nil
	case StateFailed:
		rem := hr.GetActiveRemediation()
		if rem == nil || rem.GetFailureCount(hr) <= 0 {
			// Conditions changed since the failure (or it is not ours):
			// try again with what is desired now.
			return ActionUpgrade, nil
		}
		if rem.RetriesExhausted(hr) && !rem.MustRemediateLastFailure() {
			return ActionNone, fmt.Errorf("%w: cannot remediate failed release", errExceededMaxRetries)
		}
		if rem.GetStrategy() == v2.UninstallRemediationStrategy {
			return ActionUninstall, nil
		}
		if hr.Status.LastAttemptedReleaseAction == v2.ReleaseActionInstall {
			// Nothing to roll back to after a failed install: Flux
			// uninstalls, then installs again.
			return ActionUninstall, nil
		}
		if hr.Status.History.Previous(true) == nil {
			return ActionNone, errMissingRollbackTarget
		}
		return ActionRollback, nil
	}
	return ActionNone, fmt.Errorf("unknown release state %q", state)
}

// ResetFailuresIfChanged clears the failure counters when the generation, the
// chart version or the values changed since the last attempt (Flux's
// MustResetFailures), then records the new attempt.
func ResetFailuresIfChanged(hr *v2.HelmRelease, d Desired) {
	st := &hr.Status
	if st.LastAttemptedGeneration != hr.Generation || st.LastAttemptedRevision != d.ChartVersion ||
		(st.LastAttemptedConfigDigest != "" && st.LastAttemptedConfigDigest != d.ConfigDigest) {
		st.ClearFailures()
	}
	st.LastAttemptedGeneration = hr.Generation
	st.LastAttemptedRevision = d.ChartVersion
	st.LastAttemptedConfigDigest = d.ConfigDigest
	st.StorageNamespace = hr.GetStorageNamespace()
}

// Snapshot converts a Helm release to the status.history entry Flux records.
func Snapshot(rel *release.Release, action v2.ReleaseAction) *v2.Snapshot {
	s := &v2.Snapshot{
		APIVersion: v2.CurrentSnapshotAPIVersion,
		Name:       rel.Name,
		Namespace:  rel.Namespace,
		Version:    rel.Version,
		Action:     action,
		// Flux digests the whole release observation; the manifest and
		// config are what make it change, so they are what is hashed here.
		Digest: digestJSON(struct {
			Name, Namespace, Manifest string
			Version                   int
			Config                    map[string]any
		}{rel.Name, rel.Namespace, rel.Manifest, rel.Version, rel.Config}),
		ConfigDigest: DigestValues(rel.Config),
	}
	if rel.Info != nil {
		s.Status = rel.Info.Status.String()
		s.FirstDeployed = metav1.NewTime(rel.Info.FirstDeployed.Time)
		s.LastDeployed = metav1.NewTime(rel.Info.LastDeployed.Time)
		if !rel.Info.Deleted.IsZero() {
			s.Deleted = metav1.NewTime(rel.Info.Deleted.Time)
		}
	}
	if rel.Chart != nil && rel.Chart.Metadata != nil {
		s.ChartName = rel.Chart.Metadata.Name
		s.ChartVersion = rel.Chart.Metadata.Version
		s.AppVersion = rel.Chart.Metadata.AppVersion
	}
	return s
}

// RecordReleases updates status.history with what an action wrote to storage,
// the way helm-controller's storage observers do: a release new since before
// gets a snapshot with newAction, and the snapshot of a release whose status
// the action changed (superseded) is rewritten with updatedAction. Flux leaves
// the action of superseded snapshots empty after an install or upgrade, and
// after a rollback marks the updated snapshots "rollback" and leaves the new
// one empty; this copies that. The history stays newest first.
func RecordReleases(hr *v2.HelmRelease, before, after []*release.Release, newAction, updatedAction v2.ReleaseAction) (stored bool) {
	old := map[int]*release.Release{}
	for _, r := range before {
		old[r.Version] = r
	}
	for _, r := range after {
		prev, seen := old[r.Version]
		if seen && prev.Info != nil && r.Info != nil && prev.Info.Status == r.Info.Status {
			continue
		}
		act := updatedAction
		if !seen {
			stored = true
			act = newAction
		}
		idx := -1
		for i, s := range hr.Status.History {
			if s.Name == r.Name && s.Namespace == r.Namespace && s.Version == r.Version {
				idx = i
			}
		}
		switch {
		case idx >= 0:
			hr.Status.History[idx] = Snapshot(r, act)
		case !seen:
			hr.Status.History = append(hr.Status.History, Snapshot(r, act))
		}
	}
	sort.SliceStable(hr.Status.History, func(i, j int) bool {
		return hr.Status.History[i].Version > hr.Status.History[j].Version
	})
	return stored
}

// ReleaseResult is what an action left behind.
type ReleaseResult struct {
	Action Action
	// Err is the action's error, nil on success.
	Err error
	// Stored reports whether the action wrote a new release to storage.
	Stored bool
	// Logs are Helm's last log lines, appended to failure events.
	Logs []string
	// Target is, for a rollback, the snapshot rolled back to (taken before
	// the rollback), and for an uninstall the release removed.
	Target *v2.Snapshot
}

// ApplyResult sets conditions, counters and events after an action, as the
// Install, Upgrade, RollbackRemediation and UninstallRemediation reconcilers of
// helm-controller do. hr.Status.History must already hold the snapshots.
func ApplyResult(hr *v2.HelmRelease, d Desired, res ReleaseResult) []Event {
	var events []Event
	cur := hr.Status.History.Latest()
	relNs, relName := hr.GetReleaseNamespace(), ReleaseName(hr)
	switch res.Action {
	case ActionInstall, ActionUpgrade:
		isInstall := res.Action == ActionInstall
		hr.Status.LastAttemptedReleaseAction = v2.ReleaseActionUpgrade
		failFmt, okFmt, failReason, okReason := fmtUpgradeFailure, fmtUpgradeSuccess, v2.UpgradeFailedReason, v2.UpgradeSucceededReason
		if isInstall {
			hr.Status.LastAttemptedReleaseAction = v2.ReleaseActionInstall
			failFmt, okFmt, failReason, okReason = fmtInstallFailure, fmtInstallSuccess, v2.InstallFailedReason, v2.InstallSucceededReason
		}
		deleteCondition(hr, v2.RemediatedCondition)
		deleteCondition(hr, v2.TestSuccessCondition)
		if res.Err != nil {
			msg := fmt.Sprintf(failFmt, relNs, relName, d.ChartName, d.ChartVersion, strings.TrimSpace(res.Err.Error()))
			hr.Status.Failures++
			setCondition(hr, v2.ReleasedCondition, metav1.ConditionFalse, failReason, msg)
			if res.Stored {
				// Only a failure that changed storage counts towards
				// remediation: without a new release there is nothing to fix.
				hr.GetActiveRemediation().IncrementFailureCount(hr)
			}
			events = append(events, Event{Type: "Warning", Reason: failReason, Message: withLogs(msg, res.Logs),
				Annotations: eventMeta(d.ChartVersion, d.ConfigDigest, d.AppVersion)})
		} else if cur != nil {
			msg := fmt.Sprintf(okFmt, cur.FullReleaseName(), cur.VersionedChartName())
			setCondition(hr, v2.ReleasedCondition, metav1.ConditionTrue, okReason, msg)
			events = append(events, Event{Type: "Normal", Reason: okReason, Message: msg,
				Annotations: eventMeta(cur.ChartVersion, cur.ConfigDigest, cur.AppVersion)})
		}
		Summarize(hr)
	case ActionRollback:
		prev := res.Target
		if prev == nil {
			prev = &v2.Snapshot{}
		}
		if res.Err != nil {
			msg := fmt.Sprintf(fmtRollbackFail, prev.FullReleaseName(), prev.VersionedChartName(), strings.TrimSpace(res.Err.Error()))
			setCondition(hr, v2.RemediatedCondition, metav1.ConditionFalse, v2.RollbackFailedReason, msg)
			events = append(events, Event{Type: "Warning", Reason: v2.RollbackFailedReason, Message: withLogs(msg, res.Logs),
				Annotations: eventMeta(prev.ChartVersion, d.ConfigDigest, prev.AppVersion)})
		} else {
			msg := fmt.Sprintf(fmtRollbackOK, prev.FullReleaseName(), prev.VersionedChartName())
			setCondition(hr, v2.RemediatedCondition, metav1.ConditionTrue, v2.RollbackSucceededReason, msg)
			events = append(events, Event{Type: "Normal", Reason: v2.RollbackSucceededReason, Message: msg,
				Annotations: eventMeta(prev.ChartVersion, d.ConfigDigest, prev.AppVersion)})
		}
		Summarize(hr)
	case ActionUninstall:
		cur = res.Target
		if cur == nil {
			cur = &v2.Snapshot{}
		}
		if res.Err != nil {
			msg := fmt.Sprintf(fmtUninstallFail, cur.FullReleaseName(), cur.VersionedChartName(), strings.TrimSpace(res.Err.Error()))
			setCondition(hr, v2.RemediatedCondition, metav1.ConditionFalse, v2.UninstallFailedReason, msg)
			events = append(events, Event{Type: "Warning", Reason: v2.UninstallFailedReason, Message: withLogs(msg, res.Logs),
				Annotations: eventMeta(cur.ChartVersion, cur.ConfigDigest, "")})
		} else {
			msg := fmt.Sprintf(fmtUninstallOK, cur.FullReleaseName(), cur.VersionedChartName())
			setCondition(hr, v2.RemediatedCondition, metav1.ConditionTrue, v2.UninstallSucceededReason, msg)
			events = append(events, Event{Type: "Normal", Reason: v2.UninstallSucceededReason, Message: msg,
				Annotations: eventMeta(cur.ChartVersion, cur.ConfigDigest, "")})
		}
		Summarize(hr)
	}
	return events
}

// MarkInSync restores Released/Ready after a reconcile found nothing to do,
// e.g. when a rollback target already matches what is desired.
func MarkInSync(hr *v2.HelmRelease) {
	cur := hr.Status.History.Latest()
	if cur == nil {
		return
	}
	if c := apimeta.FindStatusCondition(hr.Status.Conditions, v2.RemediatedCondition); c != nil && c.Status == metav1.ConditionTrue {
		deleteCondition(hr, v2.RemediatedCondition)
		setCondition(hr, v2.ReleasedCondition, metav1.ConditionTrue, v2.UpgradeSucceededReason,
			fmt.Sprintf(fmtUpgradeSuccess, cur.FullReleaseName(), cur.VersionedChartName()))
	}
	if c := apimeta.FindStatusCondition(hr.Status.Conditions, v2.ReleasedCondition); c != nil && c.Status != metav1.ConditionTrue {
		switch c.Reason {
		case v2.InstallFailedReason:
			setCondition(hr, v2.ReleasedCondition, metav1.ConditionTrue, v2.InstallSucceededReason,
				fmt.Sprintf(fmtInstallSuccess, cur.FullReleaseName(), cur.VersionedChartName()))
		case v2.UpgradeFailedReason:
			setCondition(hr, v2.ReleasedCondition, metav1.ConditionTrue, v2.UpgradeSucceededReason,
				fmt.Sprintf(fmtUpgradeSuccess, cur.FullReleaseName(), cur.VersionedChartName()))
		}
	}
	hr.Status.History.Truncate(true)
	deleteCondition(hr, meta.ReconcilingCondition)
	Summarize(hr)
}

// MarkRetriesExceeded sets Stalled the way AtomicRelease does.
func MarkRetriesExceeded(hr *v2.HelmRelease) {
	count := int64(0)
	if rem := hr.GetActiveRemediation(); rem != nil {
		count = rem.GetFailureCount(hr)
	}
	deleteCondition(hr, meta.ReconcilingCondition)
	setCondition(hr, meta.StalledCondition, metav1.ConditionTrue, reasonRetriesExceeded,
		fmt.Sprintf("Failed to %s after %d attempt(s)", hr.Status.LastAttemptedReleaseAction, count))
}

// MarkReconciling sets Reconciling (and Ready=Unknown before a release
// action, so a long wait shows as progress).
func MarkReconciling(hr *v2.HelmRelease, next Action, timeout time.Duration) {
	msg := fmt.Sprintf("Running '%s' action with timeout of %s", next, timeout)
	setCondition(hr, meta.ReconcilingCondition, metav1.ConditionTrue, meta.ProgressingReason, msg)
	if next == ActionInstall || next == ActionUpgrade {
		setCondition(hr, meta.ReadyCondition, metav1.ConditionUnknown, meta.ProgressingReason, msg)
	}
}

// MarkRetrying keeps Reconciling with the Ready message while a remediation
// has retries left.
func MarkRetrying(hr *v2.HelmRelease) {
	msg := ""
	if c := apimeta.FindStatusCondition(hr.Status.Conditions, meta.ReadyCondition); c != nil {
		msg = c.Message
	}
	setCondition(hr, meta.ReconcilingCondition, metav1.ConditionTrue, meta.ProgressingWithRetryReason, msg)
}

// MarkNotReady sets Ready=False for a prerequisite that failed (source,
// values, artifact).
func MarkNotReady(hr *v2.HelmRelease, reason, msg string) {
	setCondition(hr, meta.ReadyCondition, metav1.ConditionFalse, reason, msg)
}

// ClearPrerequisiteFailure turns a Ready=False left by a prerequisite that now
// passes back into Unknown, as Flux does before going on.
func ClearPrerequisiteFailure(hr *v2.HelmRelease, reasons ...string) {
	c := apimeta.FindStatusCondition(hr.Status.Conditions, meta.ReadyCondition)
	if c == nil || c.Status != metav1.ConditionFalse {
		return
	}
	for _, r := range reasons {
		if c.Reason == r {
			setCondition(hr, meta.ReadyCondition, metav1.ConditionUnknown, meta.ProgressingReason, "reconciliation in progress")
			return
		}
	}
}

// Summarize derives Ready from Remediated and Released like helm-controller:
// the newest of the two wins, Remediated before Released at equal generation,
// and any remediation counts as not ready. Ready=True removes Stalled.
func Summarize(hr *v2.HelmRelease) {
	var pick *metav1.Condition
	for _, t := range []string{v2.RemediatedCondition, v2.ReleasedCondition} {
		c := apimeta.FindStatusCondition(hr.Status.Conditions, t)
		if c == nil {
			continue
		}
		if pick == nil || c.ObservedGeneration > pick.ObservedGeneration {
			pick = c
		}
	}
	if pick == nil {
		return
	}
	status := pick.Status
	if pick.Type == v2.RemediatedCondition {
		status = metav1.ConditionFalse
	}
	if status == metav1.ConditionTrue {
		deleteCondition(hr, meta.StalledCondition)
	}
	setCondition(hr, meta.ReadyCondition, status, pick.Reason, pick.Message)
}

func setCondition(hr *v2.HelmRelease, t string, s metav1.ConditionStatus, reason, msg string) {
	apimeta.SetStatusCondition(&hr.Status.Conditions, metav1.Condition{
		Type: t, Status: s, Reason: reason, Message: msg, ObservedGeneration: hr.Generation,
	})
}

func deleteCondition(hr *v2.HelmRelease, t string) {
	apimeta.RemoveStatusCondition(&hr.Status.Conditions, t)
}

func eventMeta(revision, token, appVersion string) map[string]string {
	m := map[string]string{}
	if revision != "" {
		m[metaRevisionKey] = revision
	}
	if token != "" {
		m[metaTokenKey] = token
	}
	if appVersion != "" {
		m[metaAppVersionKey] = appVersion
	}
	return m
}

func withLogs(msg string, logs []string) string {
	if len(logs) == 0 {
		return msg
	}
	return msg + "\n\nLast Helm logs:\n\n" + strings.Join(logs, "\n")
}
