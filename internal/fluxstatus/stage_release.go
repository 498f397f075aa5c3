package fluxstatus

import (
	"fmt"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"github.com/fluxcd/pkg/apis/meta"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The "release upgraded" stage: has helm-controller installed or upgraded
// the release with that chart?

func (t *tracer) releaseStage(prev Stage, needed bool) Stage {
	s := Stage{Name: StageRelease}
	hr := t.l.hr
	s.startAfter(prev)
	deployed := deployedSnapshot(hr)
	if deployed != nil {
		s.Evidence.add("chartVersion", deployed.ChartVersion)
		s.Evidence.add("helmRevision", fmt.Sprintf("%d", deployed.Version))
	}
	if t.releaseNotStarted(&s, prev, needed) {
		return s
	}
	released := apimeta.FindStatusCondition(hr.Status.Conditions, helmv2.ReleasedCondition)
	if t.releaseDeployed(&s, deployed, released) {
		return s
	}
	s.Evidence.add("lastAttemptedRevision", hr.Status.LastAttemptedRevision)
	if hr.Status.Failures > 0 {
		s.Evidence.add("failures", fmt.Sprintf("%d (install %d, upgrade %d)", hr.Status.Failures, hr.Status.InstallFailures, hr.Status.UpgradeFailures))
	}
	ready := apimeta.FindStatusCondition(hr.Status.Conditions, meta.ReadyCondition)
	if hr.Spec.Suspend {
		t.releaseSuspended(&s)
		return s
	}
	if t.releaseAttempted() && released != nil && released.Status == metav1.ConditionFalse {
		t.releaseFailed(&s, released)
		return s
	}
	if t.releaseNotReady(&s, ready) {
		return s
	}
	if isTrue(hr.Status.Conditions, meta.ReconcilingCondition) || (ready != nil && ready.Status == metav1.ConditionUnknown) {
		releaseReconciling(&s, hr, ready)
		return s
	}
	t.releaseNotPickedUp(&s, ready)
	return s
}

// releaseNotStarted sets s when the release has nothing to do with the
// commit, or waits for the stage before it; false when it is to be read.
func (t *tracer) releaseNotStarted(s *Stage, prev Stage, needed bool) bool {
	switch {
	case !needed && !t.l.manual:
		s.set(NotNeeded, DiagNoWatchedPath, "the commit changes nothing this release uses")
	case prev.State == NotNeeded && t.l.kustomization == nil && !t.l.manual:
		s.set(NotNeeded, prev.Reason, prev.Message)
	case prev.State != Done && prev.State != NotNeeded:
		s.set(Waiting, "Waiting", "waits for the "+stageTitles[prev.Name]+" stage")
		if prev.State == Failed {
			s.Message = "will not start: the " + stageTitles[prev.Name] + " stage failed"
		}
	default:
		return false
	}
	return true
}

// chartTarget is the revision of the chart artifact the commit reaches
// the release through ("" when not through a chart, or none yet).
func (t *tracer) chartTarget() string {
	if t.l.viaChart && t.l.chart != nil && t.l.chart.Status.Artifact != nil {
		return t.l.chart.Status.Artifact.Revision
	}
	return ""
}

// snapshotHasCommit: the release snapshot sn was built from a chart that
// contains the commit (always, when the commit reaches the release through
// a Kustomization rather than its chart).
func (t *tracer) snapshotHasCommit(sn *helmv2.Snapshot) bool {
	if sn == nil {
		return false
	}
	if !t.l.viaChart {
		return true
	}
	if sha := ChartVersionSHA(sn.ChartVersion); sha != "" {
		return t.commit.Relation(sha).included()
	}
	return sn.ChartVersion == t.chartTarget()
}

// releaseDeployed sets s to Done when the commit is in the running
// release: the deployed snapshot was built from a chart containing it
// (chart link) and from the current generation (kustomization link: the
// commit changed the spec), and Released is not False.
func (t *tracer) releaseDeployed(s *Stage, deployed *helmv2.Snapshot, released *metav1.Condition) bool {
	hr := t.l.hr
	genOK := hr.Status.ObservedGeneration >= hr.Generation && hr.Status.LastAttemptedGeneration >= hr.Generation
	upToDate := genOK || t.l.kustomization == nil && !t.l.manual
	if !t.snapshotHasCommit(deployed) || !upToDate || (released != nil && released.Status != metav1.ConditionTrue) {
		return false
	}
	s.State, s.Reason = Done, string(deployed.Action)
	if released != nil {
		s.Reason, s.Message = released.Reason, released.Message
	}
	if s.Message == "" {
		s.Message = fmt.Sprintf("Helm release v%d with chart %s@%s", deployed.Version, deployed.ChartName, deployed.ChartVersion)
	}
	s.setFinish(deployed.LastDeployed.Time, FromStatus)
	if latest := hr.Status.History.Latest(); latest == deployed && hr.Status.LastAttemptedReleaseActionDuration != nil {
		s.setStart(deployed.LastDeployed.Time.Add(-hr.Status.LastAttemptedReleaseActionDuration.Duration), FromStatus)
	}
	if sha := ChartVersionSHA(deployed.ChartVersion); sha != "" {
		t.deployedBy(sha)
	}
	return true
}

// releaseAttempted: helm-controller has tried the current generation, and
// (through a chart) the chart that holds the commit.
func (t *tracer) releaseAttempted() bool {
	hr := t.l.hr
	attempted := hr.Status.LastAttemptedGeneration >= hr.Generation
	if t.l.viaChart {
		attempted = attempted && (hr.Status.LastAttemptedRevision == t.chartTarget() || t.snapshotHasCommit(hr.Status.History.Latest()))
	}
	return attempted
}

// releaseSuspended: spec.suspend holds the release.
func (t *tracer) releaseSuspended(s *Stage) {
	hr := t.l.hr
	s.set(Waiting, meta.SuspendedReason, "HelmRelease "+hr.Namespace+"/"+hr.Name+" is suspended")
	t.diag(DiagSuspended, StageRelease, s.Message, fmt.Sprintf("flux resume helmrelease %s -n %s", hr.Name, hr.Namespace))
}

// releaseFailed: Released is False for the attempt that carries the
// commit; rolled back (Remediated), then given up (Stalled: failed) or
// retried (in progress).
func (t *tracer) releaseFailed(s *Stage, released *metav1.Condition) {
	hr := t.l.hr
	s.Reason, s.Message = released.Reason, released.Message
	if remediated := apimeta.FindStatusCondition(hr.Status.Conditions, helmv2.RemediatedCondition); remediated != nil && remediated.Status == metav1.ConditionTrue {
		to := ""
		if prevRel := hr.Status.History.Previous(true); prevRel != nil {
			to = fmt.Sprintf(" to v%d (chart %s)", prevRel.Version, prevRel.ChartVersion)
		}
		t.diag(DiagRolledBack, StageRelease, "Flux rolled the release back"+to+": "+remediated.Message, "")
	}
	if stalled := apimeta.FindStatusCondition(hr.Status.Conditions, meta.StalledCondition); stalled != nil && stalled.Status == metav1.ConditionTrue {
		s.State = Failed
		t.diag(DiagReleaseFailed, StageRelease, "Helm "+string(hr.Status.LastAttemptedReleaseAction)+" failed and Flux gave up ("+stalled.Message+"): "+firstLine(released.Message),
			fmt.Sprintf("fix the values or templates and push; then flux reconcile helmrelease %s -n %s --force (or --reset)", hr.Name, hr.Namespace))
		return
	}
	s.State = InProgress
	t.diag(DiagRetrying, StageRelease, fmt.Sprintf("Helm %s failed %d time(s), Flux retries: %s", hr.Status.LastAttemptedReleaseAction, hr.Status.Failures, firstLine(released.Message)),
		"if the error is in the values or templates, fix them and push; retries will not help")
}

// releaseNotReady reads Ready=False by its reason; false when Ready is
// not False, or for a reason that says nothing about this stage.
func (t *tracer) releaseNotReady(s *Stage, ready *metav1.Condition) bool {
	if ready == nil || ready.Status != metav1.ConditionFalse {
		return false
	}
	hr := t.l.hr
	switch ready.Reason {
	case helmv2.ArtifactFailedReason:
		t.releaseArtifactFailed(s, ready)
	case "ValuesError", "InitFailed":
		s.set(Failed, ready.Reason, ready.Message)
		t.diag(DiagReleaseFailed, StageRelease, "HelmRelease "+hr.Namespace+"/"+hr.Name+" cannot start: "+ready.Message, "fix the HelmRelease spec (values, valuesFrom, chart) and push")
	case meta.DependencyNotReadyReason, "SourceNotReady":
		s.set(Waiting, ready.Reason, ready.Message)
	default:
		return false
	}
	return true
}

// releaseArtifactFailed: helm-controller retries an unreadable chart
// artifact: right after an install its HelmChart may not be in its cache
// yet ("could not get Source object: ... not found"). Only Stalled makes
// it final.
func (t *tracer) releaseArtifactFailed(s *Stage, ready *metav1.Condition) {
	hr := t.l.hr
	if !isTrue(hr.Status.Conditions, meta.StalledCondition) {
		s.set(Waiting, ready.Reason, ready.Message)
		return
	}
	s.set(Failed, ready.Reason, ready.Message)
	t.diag(DiagReleaseFailed, StageRelease, "HelmRelease "+hr.Namespace+"/"+hr.Name+" cannot get its chart: "+ready.Message, "check the HelmChart and its source ("+t.tool+" trace shows the chart stage)")
}

// releaseReconciling: helm-controller is installing or upgrading now.
func releaseReconciling(s *Stage, hr *helmv2.HelmRelease, ready *metav1.Condition) {
	s.set(InProgress, meta.ProgressingReason, "Helm "+orWord(string(hr.Status.LastAttemptedReleaseAction), "upgrade")+" in progress")
	if ready != nil && ready.Message != "" {
		s.Message = ready.Message
	}
}

// releaseNotPickedUp: nothing says helm-controller has seen the change;
// when the next reconcile is due, if Ready says when the last one was.
func (t *tracer) releaseNotPickedUp(s *Stage, ready *metav1.Condition) {
	hr := t.l.hr
	s.State, s.Reason = Waiting, "NotReconciledYet"
	due := ""
	if ready != nil && hr.Spec.Interval.Duration > 0 {
		d := ready.LastTransitionTime.Add(hr.Spec.Interval.Duration).Sub(t.now).Round(time.Second)
		if d > 0 {
			due = fmt.Sprintf(" (next reconcile due in ~%s)", d)
		}
	}
	s.Message = "HelmRelease " + hr.Namespace + "/" + hr.Name + " has not picked up the change yet" + due
}

// deployedSnapshot is the newest history entry with status deployed: the
// release that is running.
func deployedSnapshot(hr *helmv2.HelmRelease) *helmv2.Snapshot {
	h := append(helmv2.Snapshots(nil), hr.Status.History...)
	h.SortByVersion()
	for _, s := range h {
		if s.Status == "deployed" {
			return s
		}
	}
	return nil
}
