package fluxstatus

import (
	"fmt"
	"strings"
	"time"
)

// The "rollout complete" stage: are the release's workloads rolled out and
// their pods Ready?

func (t *tracer) rolloutStage(rel Stage, releaseDone bool) Stage {
	s := Stage{Name: StageRollout}
	if rel.State == NotNeeded {
		s.set(NotNeeded, rel.Reason, "nothing to roll out")
		return s
	}
	if rel.State != Done && rel.State != InProgress {
		s.set(Waiting, "Waiting", "waits for the release")
		return s
	}
	hr := t.l.hr
	rs := t.c.rollouts(hr)
	// Kinds RBAC kept from us that the release may own: their rollout
	// cannot be confirmed, whatever the others say.
	var hidden []string
	for _, k := range WorkloadKinds {
		if t.c.forbidden(k) && mayHave(hr, k) {
			hidden = append(hidden, k)
		}
	}
	if len(rs) == 0 && len(hidden) == 0 {
		if releaseDone {
			s.set(NotNeeded, "NoWorkloads", "the release has no Deployments, StatefulSets or DaemonSets")
		} else {
			s.set(Waiting, "Waiting", "waits for the release")
		}
		return s
	}
	st := Done
	var started, finished time.Time
	var readyTotal, wantTotal int32
	var msgs []string
	onlyDeployments := true
	for _, r := range rs {
		st = worse(st, r.state)
		onlyDeployments = onlyDeployments && r.kind == KindDeployment
		readyTotal += r.ready
		wantTotal += r.want
		if r.revision != "" {
			s.Evidence.add(revisionEvidence[r.kind], r.namespace+"/"+r.revision)
		}
		s.Workloads = append(s.Workloads, WorkloadRef{Kind: r.kind, Namespace: r.namespace, Name: r.name, Revision: r.revision,
			ReadyPods: fmt.Sprintf("%d/%d", r.ready, r.want), State: r.state, Message: r.msg})
		// The stage starts with the first workload that started rolling
		// after the release began; one whose pods did not change (an old
		// ReplicaSet, old pods) says nothing about this rollout.
		if !r.started.IsZero() && (rel.StartedAt == nil || !r.started.Before(*rel.StartedAt)) && (started.IsZero() || r.started.Before(started)) {
			started = r.started
		}
		if r.finished.After(finished) {
			finished = r.finished
		}
		if r.state == Done {
			continue
		}
		msg := r.kind + " " + r.name + ": " + r.msg
		if why := t.c.podTrouble(r.pods); why != "" {
			msg += ": " + why
			t.diag(DiagRolloutStuck, StageRollout, "rollout of "+r.kind+" "+r.namespace+"/"+r.name+" is stuck: "+why, podFix(why))
		}
		if r.onDelete {
			t.diag(DiagRolloutOnDelete, StageRollout, r.kind+" "+r.namespace+"/"+r.name+" has updateStrategy OnDelete, so Kubernetes does not roll it: "+r.msg,
				fmt.Sprintf("delete the pods still on the old revision (kubectl delete pod -n %s NAME; one at a time for a StatefulSet), or set updateStrategy to RollingUpdate", r.namespace))
		}
		msgs = append(msgs, msg)
	}
	for _, k := range hidden {
		st = worse(st, Forbidden)
		msgs = append(msgs, t.c.Forbidden[k])
	}
	if len(rs) > 0 {
		s.Evidence.add("readyPods", fmt.Sprintf("%d/%d", readyTotal, wantTotal))
	}
	if !started.IsZero() {
		s.setStart(started, FromStatus)
	} else {
		s.startAfter(rel)
	}
	s.State = st
	switch st {
	case Done:
		s.Reason, s.Message = "RolloutComplete", fmt.Sprintf("%d/%d pods ready", readyTotal, wantTotal)
		if onlyDeployments {
			s.Reason = "NewReplicaSetAvailable" // what it always said for Deployments
		}
		if !finished.IsZero() {
			s.setFinish(finished, FromStatus)
		}
		if !releaseDone {
			// Helm still waits on something else (hooks, other kinds).
			s.State = InProgress
		}
		return s
	case Forbidden:
		s.Reason = "Forbidden"
	case Failed:
		s.Reason = "ProgressDeadlineExceeded"
	case Waiting:
		s.Reason = "OnDelete"
	default:
		s.Reason = "RolloutInProgress"
	}
	s.Message = strings.Join(msgs, "; ")
	return s
}
