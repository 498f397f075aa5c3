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
	name := hr.Namespace + "/" + hr.Name
	s.startAfter(prev)
	deployed := deployedSnapshot(hr)
	if deployed != nil {
		s.Evidence.add("chartVersion", deployed.ChartVersion)
		s.Evidence.add("helmRevision", fmt.Sprintf("%d", deployed.Version))
	}
	if !needed && !t.l.manual {
		s.set(NotNeeded, DiagNoWatchedPath, "the commit changes nothing this release uses")
		return s
	}
	if prev.State == NotNeeded && t.l.kustomization == nil && !t.l.manual {
		s.set(NotNeeded, prev.Reason, prev.Message)
		return s
	}
	if prev.State != Done && prev.State != NotNeeded {
		s.set(Waiting, "Waiting", "waits for the "+stageTitles[prev.Name]+" stage")
		if prev.State == Failed {
			s.Message = "will not start: the " + stageTitles[prev.Name] + " stage failed"
		}
		return s
	}
	// The commit is in the running release when the deployed snapshot was
	// built from a chart containing it (chart link) and from the current
	// generation (kustomization link: the commit changed the spec).
	target := ""
	if t.l.viaChart && t.l.chart != nil && t.l.chart.Status.Artifact != nil {
		target = t.l.chart.Status.Artifact.Revision
	}
	genOK := hr.Status.ObservedGeneration >= hr.Generation && hr.Status.LastAttemptedGeneration >= hr.Generation
	snapOK := func(sn *helmv2.Snapshot) bool {
		if sn == nil {
			return false
		}
		if t.l.viaChart {
			if sha := ChartVersionSHA(sn.ChartVersion); sha != "" {
				if !t.commit.Relation(sha).included() {
					return false
				}
			} else if sn.ChartVersion != target {
				return false
			}
		}
		return true
	}
	released := apimeta.FindStatusCondition(hr.Status.Conditions, helmv2.ReleasedCondition)
	ready := apimeta.FindStatusCondition(hr.Status.Conditions, meta.ReadyCondition)
	upToDate := genOK || t.l.kustomization == nil && !t.l.manual
	if snapOK(deployed) && upToDate && (released == nil || released.Status == metav1.ConditionTrue) {
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
		return s
	}
	s.Evidence.add("lastAttemptedRevision", hr.Status.LastAttemptedRevision)
	if hr.Status.Failures > 0 {
		s.Evidence.add("failures", fmt.Sprintf("%d (install %d, upgrade %d)", hr.Status.Failures, hr.Status.InstallFailures, hr.Status.UpgradeFailures))
	}
	if hr.Spec.Suspend {
		s.set(Waiting, meta.SuspendedReason, "HelmRelease "+name+" is suspended")
		t.diag(DiagSuspended, StageRelease, s.Message, fmt.Sprintf("flux resume helmrelease %s -n %s", hr.Name, hr.Namespace))
		return s
	}
	attempted := hr.Status.LastAttemptedGeneration >= hr.Generation
	if t.l.viaChart {
		attempted = attempted && (hr.Status.LastAttemptedRevision == target || snapOK(hr.Status.History.Latest()))
	}
	stalled := apimeta.FindStatusCondition(hr.Status.Conditions, meta.StalledCondition)
	remediated := apimeta.FindStatusCondition(hr.Status.Conditions, helmv2.RemediatedCondition)
	if attempted && released != nil && released.Status == metav1.ConditionFalse {
		s.Reason, s.Message = released.Reason, released.Message
		if remediated != nil && remediated.Status == metav1.ConditionTrue {
			prevRel := hr.Status.History.Previous(true)
			to := ""
			if prevRel != nil {
				to = fmt.Sprintf(" to v%d (chart %s)", prevRel.Version, prevRel.ChartVersion)
			}
			t.diag(DiagRolledBack, StageRelease, "Flux rolled the release back"+to+": "+remediated.Message, "")
		}
		if stalled != nil && stalled.Status == metav1.ConditionTrue {
			s.State = Failed
			t.diag(DiagReleaseFailed, StageRelease, "Helm "+string(hr.Status.LastAttemptedReleaseAction)+" failed and Flux gave up ("+stalled.Message+"): "+firstLine(released.Message),
				fmt.Sprintf("fix the values or templates and push; then flux reconcile helmrelease %s -n %s --force (or --reset)", hr.Name, hr.Namespace))
		} else {
			s.State = InProgress
			t.diag(DiagRetrying, StageRelease, fmt.Sprintf("Helm %s failed %d time(s), Flux retries: %s", hr.Status.LastAttemptedReleaseAction, hr.Status.Failures, firstLine(released.Message)),
				"if the error is in the values or templates, fix them and push; retries will not help")
		}
		return s
	}
	if ready != nil && ready.Status == metav1.ConditionFalse {
		switch ready.Reason {
		case helmv2.ArtifactFailedReason:
			// helm-controller retries an unreadable chart artifact: right
			// after an install its HelmChart may not be in its cache yet
			// ("could not get Source object: ... not found"). Only Stalled
			// makes it final.
			if isTrue(hr.Status.Conditions, meta.StalledCondition) {
				s.set(Failed, ready.Reason, ready.Message)
				t.diag(DiagReleaseFailed, StageRelease, "HelmRelease "+name+" cannot get its chart: "+ready.Message, "check the HelmChart and its source (kubectl gitops trace shows the chart stage)")
				return s
			}
			s.set(Waiting, ready.Reason, ready.Message)
			return s
		case "ValuesError", "InitFailed":
			s.set(Failed, ready.Reason, ready.Message)
			t.diag(DiagReleaseFailed, StageRelease, "HelmRelease "+name+" cannot start: "+ready.Message, "fix the HelmRelease spec (values, valuesFrom, chart) and push")
			return s
		case meta.DependencyNotReadyReason, "SourceNotReady":
			s.set(Waiting, ready.Reason, ready.Message)
			return s
		}
	}
	if isTrue(hr.Status.Conditions, meta.ReconcilingCondition) || (ready != nil && ready.Status == metav1.ConditionUnknown) {
		s.set(InProgress, meta.ProgressingReason, "Helm "+orWord(string(hr.Status.LastAttemptedReleaseAction), "upgrade")+" in progress")
		if ready != nil && ready.Message != "" {
			s.Message = ready.Message
		}
		return s
	}
	s.State, s.Reason = Waiting, "NotReconciledYet"
	due := ""
	if ready != nil && hr.Spec.Interval.Duration > 0 {
		d := ready.LastTransitionTime.Add(hr.Spec.Interval.Duration).Sub(t.now).Round(time.Second)
		if d > 0 {
			due = fmt.Sprintf(" (next reconcile due in ~%s)", d)
		}
	}
	s.Message = "HelmRelease " + name + " has not picked up the change yet" + due
	return s
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
