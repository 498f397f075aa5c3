package fluxstatus

import (
	"fmt"

	"github.com/fluxcd/pkg/apis/meta"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The "manifests applied" stage: has the Kustomization that applies the
// HelmRelease applied a revision that contains the commit?

func (t *tracer) kustomizationStage(prev Stage) Stage {
	ks := t.l.kustomization
	s := Stage{Name: StageKustomization}
	name := ks.Namespace + "/" + ks.Name
	s.Evidence.add("kustomization", name)
	s.Evidence.add("lastAppliedRevision", ks.Status.LastAppliedRevision)
	s.startAfter(prev)
	if prev.State != Done {
		s.set(Waiting, "SourceNotReady", "waits for the source")
		return s
	}
	if t.commit.Relation(ks.Status.LastAppliedRevision).included() {
		s.set(Done, meta.ReconciliationSucceededReason, "applied "+ks.Status.LastAppliedRevision)
		if ev, ok := t.eventWithAnnotation(KindKustomization, ks.Namespace, ks.Name, "", "kustomize.toolkit.fluxcd.io/revision", ks.Status.LastAppliedRevision); ok {
			s.setFinish(eventTime(ev), FromEvent)
		} else if c := apimeta.FindStatusCondition(ks.Status.Conditions, meta.ReadyCondition); c != nil {
			s.setFinish(c.LastTransitionTime.Time, FromStatus)
		}
		t.deployedBy(ks.Status.LastAppliedRevision)
		return s
	}
	if ks.Spec.Suspend {
		s.set(Waiting, meta.SuspendedReason, "Kustomization "+name+" is suspended")
		t.diag(DiagSuspended, StageKustomization, s.Message, fmt.Sprintf("flux resume kustomization %s -n %s", ks.Name, ks.Namespace))
		return s
	}
	if c := apimeta.FindStatusCondition(ks.Status.Conditions, meta.ReadyCondition); c != nil && c.Status == metav1.ConditionFalse &&
		t.commit.Relation(ks.Status.LastAttemptedRevision).included() {
		s.set(Failed, c.Reason, c.Message)
		t.diag(DiagApplyFailed, StageKustomization, "Kustomization "+name+" failed to apply the commit: "+c.Message,
			"fix the manifests under "+ks.Spec.Path+" and push")
		return s
	}
	s.set(Waiting, "NotAppliedYet", "Kustomization "+name+" has not applied the commit yet (interval "+ks.Spec.Interval.Duration.String()+")")
	if isTrue(ks.Status.Conditions, meta.ReconcilingCondition) {
		s.State, s.Reason = InProgress, meta.ProgressingReason
	}
	return s
}
