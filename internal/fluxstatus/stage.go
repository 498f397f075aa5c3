package fluxstatus

import (
	"strings"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Helpers the stages share: conditions, events, owners and stage times.

func failing(conds []metav1.Condition, types ...string) *metav1.Condition {
	for _, ty := range types {
		if c := apimeta.FindStatusCondition(conds, ty); c != nil && c.Status == metav1.ConditionTrue {
			if ty == meta.StalledCondition {
				// Stalled carries the reason; prefer Ready's message when richer.
				if r := apimeta.FindStatusCondition(conds, meta.ReadyCondition); r != nil && r.Status == metav1.ConditionFalse && r.Message != "" {
					return r
				}
			}
			return c
		}
	}
	return nil
}

func isTrue(conds []metav1.Condition, ty string) bool {
	c := apimeta.FindStatusCondition(conds, ty)
	return c != nil && c.Status == metav1.ConditionTrue
}

func eventTime(e corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	case !e.FirstTimestamp.IsZero():
		return e.FirstTimestamp.Time
	}
	return e.CreationTimestamp.Time
}

// eventWithAnnotation finds the newest event on the object with reason (any
// when empty) whose annotation key equals value.
func (t *tracer) eventWithAnnotation(kind, ns, name, reason, key, value string) (corev1.Event, bool) {
	for _, e := range t.c.eventsFor(kind, ns, name) {
		if reason != "" && e.Reason != reason {
			continue
		}
		if e.Annotations[key] == value {
			return e, true
		}
		// Flux revisions may be written with or without the ref prefix.
		if a := RevisionSHA(e.Annotations[key]); a != "" && a == RevisionSHA(value) && ChartVersionSHA(value) == "" && strings.Contains(value, "sha") {
			return e, true
		}
	}
	return corev1.Event{}, false
}

func ownedBy(refs []metav1.OwnerReference, kind, name string) bool {
	for _, r := range refs {
		if r.Kind == kind && r.Name == name {
			return true
		}
	}
	return false
}

// set records what a stage concluded: its state, the machine-readable
// reason and the sentence for people.
func (s *Stage) set(state State, reason, message string) {
	s.State, s.Reason, s.Message = state, reason, message
}

func (s *Stage) setStart(t time.Time, from string) {
	if t.IsZero() {
		return
	}
	t = t.UTC()
	s.StartedAt, s.StartedFrom = &t, from
}

func (s *Stage) setFinish(t time.Time, from string) {
	if t.IsZero() {
		return
	}
	t = t.UTC()
	s.FinishedAt, s.FinishedFrom = &t, from
}

// startAfter: a stage starts when the one before it finished.
func (s *Stage) startAfter(prev Stage) {
	if prev.FinishedAt != nil {
		s.setStart(*prev.FinishedAt, prev.FinishedFrom)
	}
}

// finishDuration settles the timestamps for the stage's state: done stages
// keep both ends; running and waiting ones keep their start and count to now;
// stages that will not run keep neither.
func finishDuration(s *Stage, now time.Time) {
	switch s.State {
	case NotNeeded, Forbidden:
		s.StartedAt, s.StartedFrom, s.FinishedAt, s.FinishedFrom = nil, "", nil, ""
		return
	case InProgress, Waiting:
		s.FinishedAt, s.FinishedFrom = nil, ""
	case Failed:
		s.FinishedAt, s.FinishedFrom = nil, ""
		return
	}
	if s.StartedAt == nil {
		return
	}
	if s.FinishedAt != nil && s.FinishedAt.Before(*s.StartedAt) {
		// The evidence of the end predates this stage (an older ReplicaSet or
		// condition, nothing left to do once the stage began): it finished as
		// it started. A stage never ends before it starts.
		f := *s.StartedAt
		s.FinishedAt, s.FinishedFrom = &f, s.StartedFrom
	}
	end := now
	if s.FinishedAt != nil {
		end = *s.FinishedAt
	}
	d := end.Sub(*s.StartedAt).Round(time.Second).Seconds()
	if d < 0 {
		d = 0
	}
	s.DurationSeconds = &d
}

func orNone(s string) string { return orWord(s, "none") }

func orWord(s, w string) string {
	if s == "" {
		return w
	}
	return s
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
