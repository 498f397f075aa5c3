package fluxstatus

import (
	"fmt"
	"strings"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
)

// The "source fetched" stage: has the GitRepository fetched a revision that
// contains the commit?

func (t *tracer) sourceStage() Stage {
	s := Stage{Name: StageSource}
	gr := t.l.source
	if gr == nil {
		if t.c.forbidden(KindGitRepository) {
			s.set(Forbidden, "Forbidden", t.c.Forbidden[KindGitRepository])
			return s
		}
		s.set(Waiting, "NotFound", fmt.Sprintf("GitRepository %s not found", t.l.srcKey))
		return s
	}
	s.setStart(t.commit.CommittedAt, FromGit)
	name := gr.Namespace + "/" + gr.Name
	rev := ""
	if gr.Status.Artifact != nil {
		rev = gr.Status.Artifact.Revision
		s.Evidence.add("revision", rev)
	}
	rel := t.commit.Relation(rev)
	if rel.included() {
		s.set(Done, sourcev1.ArtifactInStorageCondition, "fetched revision "+rev)
		if ev, ok := t.eventWithAnnotation(KindGitRepository, gr.Namespace, gr.Name, "NewArtifact", "source.toolkit.fluxcd.io/revision", rev); ok {
			s.setFinish(eventTime(ev), FromEvent)
		} else {
			s.setFinish(gr.Status.Artifact.LastUpdateTime.Time, FromStatus)
		}
		if rel == Contains {
			t.deployedBy(rev)
			s.Evidence.add("containsCommitVia", gitrepo.Short(RevisionSHA(rev)))
		}
		return s
	}
	if gr.Spec.Suspend {
		s.set(Waiting, meta.SuspendedReason, "GitRepository "+name+" is suspended")
		t.diag(DiagSuspended, StageSource, "GitRepository "+name+" is suspended: Flux does not fetch it",
			fmt.Sprintf("flux resume source git %s -n %s", gr.Name, gr.Namespace))
		return s
	}
	if c := failing(gr.Status.Conditions, sourcev1.FetchFailedCondition, meta.StalledCondition); c != nil {
		s.set(Failed, c.Reason, c.Message)
		t.diag(DiagSourceFailed, StageSource, "GitRepository "+name+" cannot fetch: "+c.Message,
			"fix the URL, credentials (spec.secretRef) or ref of the GitRepository, then trace again with --reconcile")
		return s
	}
	switch rel {
	case Behind, Unknown:
		if rel == Behind && !t.commit.Pushed {
			s.set(Waiting, "NotPushed", "the commit is not on any remote branch; Flux cannot see it")
			t.diag(DiagNotPushed, StageSource, "the commit is not pushed: no remote-tracking branch contains it", "git push")
			return s
		}
		if rel == Unknown && rev != "" {
			s.set(Waiting, "RevisionNotInCheckout", fmt.Sprintf("the cluster has %s, which your checkout does not have", rev))
			t.diag(DiagNotInCheckout, StageSource, s.Message+", so ancestry cannot be checked", "git fetch, then trace again")
			return s
		}
		if pin := PinnedRef(gr); rel == Behind && pin != "" {
			// A tag or a commit never moves by itself: no fetch will bring the commit.
			s.set(Waiting, DiagPinned, fmt.Sprintf("GitRepository %s is pinned to %s (%s), which does not contain the commit", name, pin, gitrepo.Short(RevisionSHA(rev))))
			t.diag(DiagPinned, StageSource, s.Message+"; Flux will not fetch the commit until the ref moves",
				"move spec.ref of GitRepository "+name+" to a ref that contains the commit ("+t.tool+" promote moves it from the environment before)")
			return s
		}
		s.State, s.Reason = Waiting, "NotFetchedYet"
		if isTrue(gr.Status.Conditions, meta.ReconcilingCondition) {
			s.State, s.Reason = InProgress, meta.ProgressingReason
		}
		due := t.nextFetch(gr)
		s.Message = "not fetched yet; cluster has " + orNone(rev) + "; " + due
		t.diag(DiagNotFetchedYet, StageSource, "Flux has not fetched the commit yet ("+due+")",
			"run with --reconcile to fetch now (or: flux reconcile source git "+gr.Name+" -n "+gr.Namespace+")")
	case Diverged:
		s.State, s.Reason = Failed, "NotOnBranch"
		ref := refName(gr)
		s.Message = fmt.Sprintf("the cluster follows %s at %s, which does not contain the commit", ref, gitrepo.Short(RevisionSHA(rev)))
		t.diag(DiagNotOnBranch, StageSource, "the commit is not on "+ref+", the ref GitRepository "+name+" follows",
			"merge or push the commit to "+ref)
	}
	return s
}

// PinnedRef names the ref a GitRepository is pinned to ("tag v0.1.3", "commit 1a2b3c4d5e6f"), or "" when
// it follows a branch or a semver range (a new matching tag is fetched by itself).
func PinnedRef(gr *sourcev1.GitRepository) string {
	r := gr.Spec.Reference
	if r == nil {
		return ""
	}
	switch {
	case r.Commit != "":
		return "commit " + gitrepo.Short(r.Commit)
	case r.SemVer != "":
		return ""
	case r.Tag != "":
		return "tag " + r.Tag
	case strings.HasPrefix(r.Name, "refs/tags/"):
		return "tag " + strings.TrimPrefix(r.Name, "refs/tags/")
	}
	return ""
}

func refName(gr *sourcev1.GitRepository) string {
	if r := gr.Spec.Reference; r != nil {
		switch {
		case r.Branch != "":
			return "branch " + r.Branch
		case r.Tag != "":
			return "tag " + r.Tag
		case r.SemVer != "":
			return "semver " + r.SemVer
		case r.Name != "":
			return r.Name
		case r.Commit != "":
			return "commit " + gitrepo.Short(r.Commit)
		}
	}
	return "the default branch"
}

// nextFetch says when the next fetch is due from the interval and the last
// time the controller reported on the object.
func (t *tracer) nextFetch(gr *sourcev1.GitRepository) string {
	var last time.Time
	if gr.Status.Artifact != nil {
		last = gr.Status.Artifact.LastUpdateTime.Time
	}
	if c := apimeta.FindStatusCondition(gr.Status.Conditions, meta.ReadyCondition); c != nil && c.LastTransitionTime.After(last) {
		last = c.LastTransitionTime.Time
	}
	if evs := t.c.eventsFor(KindGitRepository, gr.Namespace, gr.Name); len(evs) > 0 && eventTime(evs[0]).After(last) {
		last = eventTime(evs[0])
	}
	iv := gr.Spec.Interval.Duration
	if last.IsZero() || iv == 0 {
		return "next fetch time unknown"
	}
	due := last.Add(iv).Sub(t.now).Round(time.Second)
	if due < 0 {
		return fmt.Sprintf("fetch overdue by %s (interval %s): is source-controller running?", -due, iv)
	}
	return fmt.Sprintf("next fetch due in ~%s (interval %s)", due, iv)
}
