package fluxstatus

import (
	"fmt"
	"sort"
	"strings"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// SchemaVersion of the JSON report; bump only on incompatible changes.
const SchemaVersion = 1

// Options select what to trace.
type Options struct {
	// Now is "now" (from the injected clock).
	Now time.Time
	// Sources are the GitRepositories whose URL is a remote of the checkout.
	Sources []types.NamespacedName
	// HelmReleases, when set, restricts the report to these.
	HelmReleases []types.NamespacedName
	// Namespace, when set, restricts the report to HelmReleases in it.
	Namespace string
	// ManualNamespace, when set, is the only namespace where a HelmRelease
	// that no Kustomization applies and whose chart is not from the sources
	// (one applied by hand, found because the commit changed its manifest)
	// is traced. Releases a source reaches are traced wherever they live.
	ManualNamespace string
}

// Trace computes where commit stands in every HelmRelease downstream of the
// sources.
func Trace(c *Cluster, commit *Commit, o Options) *Report {
	r := &Report{
		SchemaVersion: SchemaVersion,
		Revision:      RevisionRef{Input: commit.Input, SHA: commit.SHA, Subject: commit.Subject, CommittedAt: commit.CommittedAt.UTC()},
		GeneratedAt:   o.Now.UTC(),
		Sources:       []SourceRef{},
		Releases:      []Release{},
	}
	for _, k := range sortedKeys(c.Forbidden) {
		r.Forbidden = append(r.Forbidden, ForbiddenKind{Kind: k, Message: c.Forbidden[k]})
	}
	for _, s := range o.Sources {
		ref := SourceRef{Kind: KindGitRepository, Namespace: s.Namespace, Name: s.Name}
		if gr := c.gitRepository(s); gr != nil {
			ref.URL = gr.Spec.URL
			if gr.Status.Artifact != nil {
				ref.Revision = gr.Status.Artifact.Revision
			}
		}
		r.Sources = append(r.Sources, ref)
	}
	want := map[types.NamespacedName]bool{}
	for _, k := range o.HelmReleases {
		want[k] = true
	}
	for _, l := range links(c, o.Sources, commit) {
		if len(want) > 0 && !want[l.hrKey] {
			continue
		}
		if o.Namespace != "" && l.hrKey.Namespace != o.Namespace {
			continue
		}
		if l.manualOnly() && o.ManualNamespace != "" && l.hrKey.Namespace != o.ManualNamespace {
			continue
		}
		r.Releases = append(r.Releases, traceRelease(c, commit, l, o.Now))
	}
	if len(r.Releases) == 0 {
		msg := "no HelmRelease uses these sources (as a chart source or through a Kustomization)"
		fix := "check the namespace (-n, -A) and --helmrelease"
		if c.forbidden(KindHelmRelease) {
			msg = "HelmReleases could not be read: " + c.Forbidden[KindHelmRelease]
			fix = "ask for list/get/watch on helmreleases.helm.toolkit.fluxcd.io"
		}
		r.Diagnoses = append(r.Diagnoses, Diagnosis{Code: DiagNoRelease, Message: msg, Fix: fix})
	}
	r.State, r.Deployed = overall(r.Releases)
	return r
}

// overall folds release states: any failure fails the whole trace; it is
// deployed only when every release is.
func overall(rs []Release) (State, bool) {
	if len(rs) == 0 {
		return Waiting, false
	}
	st := Done
	for _, rel := range rs {
		st = worse(st, rel.State)
	}
	return st, st == Done
}

var severity = map[State]int{NotNeeded: 0, Done: 1, Waiting: 2, Forbidden: 3, InProgress: 4, Failed: 5}

func worse(a, b State) State {
	if severity[b] > severity[a] {
		return b
	}
	return a
}

// tracer carries the state of one release's trace.
type tracer struct {
	c      *Cluster
	commit *Commit
	l      *link
	now    time.Time
	rel    *Release
}

func traceRelease(c *Cluster, commit *Commit, l *link, now time.Time) Release {
	t := &tracer{c: c, commit: commit, l: l, now: now}
	rel := Release{Namespace: l.hrKey.Namespace, Name: l.hrKey.Name, Via: l.via(),
		Source: SourceRef{Kind: KindGitRepository, Namespace: l.srcKey.Namespace, Name: l.srcKey.Name}}
	if l.source != nil {
		rel.Source.URL = l.source.Spec.URL
		if l.source.Status.Artifact != nil {
			rel.Source.Revision = l.source.Status.Artifact.Revision
		}
	}
	t.rel = &rel

	needed := true
	if len(commit.Paths) > 0 && l.source != nil && !l.manual {
		ignore := ""
		if l.source.Spec.Ignore != nil {
			ignore = *l.source.Spec.Ignore
		}
		if !touchesWatched(commit.Paths, l.watchedPaths(), ignore) {
			needed = false
			t.diag(DiagNoWatchedPath, "", fmt.Sprintf("the commit touched no path this release depends on (%s in %s/%s)",
				strings.Join(quoteAll(l.watchedPaths()), ", "), l.srcKey.Namespace, l.srcKey.Name),
				"nothing to deploy for this release; if you expected a change, check the chart path, the Kustomization path and spec.ignore")
		}
	}
	revisionStrategy := l.chart != nil && l.chart.Spec.ReconcileStrategy == sourcev1.ReconcileStrategyRevision
	if revisionStrategy && l.viaChart {
		// With the Revision strategy every commit builds a chart, whatever it touched.
		needed = true
	}

	var stages []Stage
	src := t.sourceStage()
	stages = append(stages, src)
	prev := src
	releaseReady := false
	if l.kustomization != nil {
		ks := t.kustomizationStage(prev)
		stages = append(stages, ks)
		prev = ks
	}
	if l.viaChart {
		ch := t.chartStage(src, needed)
		stages = append(stages, ch)
		if prev.State == Done || prev.State == NotNeeded {
			prev = pickLater(prev, ch)
		}
		if ch.State != Done && ch.State != NotNeeded {
			prev = ch
		}
	} else {
		stages = append(stages, Stage{Name: StageChart, State: NotNeeded, Message: "the chart does not come from this repository"})
	}
	relStage := t.releaseStage(prev, needed)
	stages = append(stages, relStage)
	releaseReady = relStage.State == Done
	stages = append(stages, t.rolloutStage(relStage, releaseReady))
	for i := range stages {
		stages[i].Title = stageTitles[stages[i].Name]
		finishDuration(&stages[i], now)
	}
	rel.Stages = stages
	rel.State = Done
	allNotNeeded := true
	for _, s := range stages {
		rel.State = worse(rel.State, s.State)
		if s.State != NotNeeded && s.Name != StageSource {
			allNotNeeded = false
		}
	}
	if allNotNeeded && rel.State == Done {
		rel.State = NotNeeded
	}
	rel.Deployed = rel.State == Done || rel.State == NotNeeded
	if rel.State == NotNeeded {
		rel.State = Done
	}
	return rel
}

func pickLater(a, b Stage) Stage {
	if b.FinishedAt != nil && (a.FinishedAt == nil || b.FinishedAt.After(*a.FinishedAt)) {
		return b
	}
	return a
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, p := range s {
		if p == "" {
			p = "."
		}
		out[i] = "./" + strings.TrimPrefix(p, "./")
		if p == "." {
			out[i] = "./"
		}
	}
	return out
}

func (t *tracer) diag(code, stage, msg, fix string) {
	for _, d := range t.rel.Diagnoses {
		if d.Code == code && d.Message == msg {
			return
		}
	}
	t.rel.Diagnoses = append(t.rel.Diagnoses, Diagnosis{Code: code, Stage: stage, Message: msg, Fix: fix})
}

func (t *tracer) deployedBy(rev string) {
	sha := RevisionSHA(rev)
	if sha == "" || t.commit.Relation(sha) != Contains || t.rel.DeployedBy != nil {
		return
	}
	full := sha
	for k := range t.commit.Subjects {
		if strings.HasPrefix(k, sha) {
			full = k
		}
	}
	t.rel.DeployedBy = &CommitRef{SHA: full, Subject: t.commit.subject(sha)}
}

// ---- source fetched ----

func (t *tracer) sourceStage() Stage {
	s := Stage{Name: StageSource}
	gr := t.l.source
	if gr == nil {
		if t.c.forbidden(KindGitRepository) {
			s.State, s.Reason, s.Message = Forbidden, "Forbidden", t.c.Forbidden[KindGitRepository]
			return s
		}
		s.State, s.Reason, s.Message = Waiting, "NotFound", fmt.Sprintf("GitRepository %s not found", t.l.srcKey)
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
		s.State, s.Reason = Done, "ArtifactInStorage"
		s.Message = "fetched revision " + rev
		if ev, ok := t.eventWithAnnotation(KindGitRepository, gr.Namespace, gr.Name, "NewArtifact", "source.toolkit.fluxcd.io/revision", rev); ok {
			s.setFinish(eventTime(ev), FromEvent)
		} else {
			s.setFinish(gr.Status.Artifact.LastUpdateTime.Time, FromStatus)
		}
		if rel == Contains {
			t.deployedBy(rev)
			s.Evidence.add("containsCommitVia", short(RevisionSHA(rev)))
		}
		return s
	}
	if gr.Spec.Suspend {
		s.State, s.Reason, s.Message = Waiting, "Suspended", "GitRepository "+name+" is suspended"
		t.diag(DiagSuspended, StageSource, "GitRepository "+name+" is suspended: Flux does not fetch it",
			fmt.Sprintf("flux resume source git %s -n %s", gr.Name, gr.Namespace))
		return s
	}
	if c := failing(gr.Status.Conditions, "FetchFailed", "Stalled"); c != nil {
		s.State, s.Reason, s.Message = Failed, c.Reason, c.Message
		t.diag(DiagSourceFailed, StageSource, "GitRepository "+name+" cannot fetch: "+c.Message,
			"fix the URL, credentials (spec.secretRef) or ref of the GitRepository, then trace again with --reconcile")
		return s
	}
	switch rel {
	case Behind, Unknown:
		if rel == Behind && !t.commit.Pushed {
			s.State, s.Reason = Waiting, "NotPushed"
			s.Message = "the commit is not on any remote branch; Flux cannot see it"
			t.diag(DiagNotPushed, StageSource, "the commit is not pushed: no remote-tracking branch contains it", "git push")
			return s
		}
		if rel == Unknown && rev != "" {
			s.State, s.Reason = Waiting, "RevisionNotInCheckout"
			s.Message = fmt.Sprintf("the cluster has %s, which your checkout does not have", rev)
			t.diag(DiagNotInCheckout, StageSource, s.Message+", so ancestry cannot be checked", "git fetch, then trace again")
			return s
		}
		if pin := PinnedRef(gr); rel == Behind && pin != "" {
			// A tag or a commit never moves by itself: no fetch will bring the commit.
			s.State, s.Reason = Waiting, DiagPinned
			s.Message = fmt.Sprintf("GitRepository %s is pinned to %s (%s), which does not contain the commit", name, pin, short(RevisionSHA(rev)))
			t.diag(DiagPinned, StageSource, s.Message+"; Flux will not fetch the commit until the ref moves",
				"move spec.ref of GitRepository "+name+" to a ref that contains the commit (kubectl gitops promote moves it from the environment before)")
			return s
		}
		s.State, s.Reason = Waiting, "NotFetchedYet"
		if isTrue(gr.Status.Conditions, "Reconciling") {
			s.State, s.Reason = InProgress, "Progressing"
		}
		due := t.nextFetch(gr)
		s.Message = "not fetched yet; cluster has " + orNone(rev) + "; " + due
		t.diag(DiagNotFetchedYet, StageSource, "Flux has not fetched the commit yet ("+due+")",
			"run with --reconcile to fetch now (or: flux reconcile source git "+gr.Name+" -n "+gr.Namespace+")")
	case Diverged:
		s.State, s.Reason = Failed, "NotOnBranch"
		ref := refName(gr)
		s.Message = fmt.Sprintf("the cluster follows %s at %s, which does not contain the commit", ref, short(RevisionSHA(rev)))
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
		return "commit " + short(r.Commit)
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
			return "commit " + short(r.Commit)
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
	if c := apimeta.FindStatusCondition(gr.Status.Conditions, "Ready"); c != nil && c.LastTransitionTime.After(last) {
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

// ---- manifests applied (Kustomization) ----

func (t *tracer) kustomizationStage(prev Stage) Stage {
	ks := t.l.kustomization
	s := Stage{Name: StageKustomization}
	name := ks.Namespace + "/" + ks.Name
	s.Evidence.add("kustomization", name)
	s.Evidence.add("lastAppliedRevision", ks.Status.LastAppliedRevision)
	s.startAfter(prev)
	if prev.State != Done {
		s.State, s.Reason, s.Message = Waiting, "SourceNotReady", "waits for the source"
		return s
	}
	if t.commit.Relation(ks.Status.LastAppliedRevision).included() {
		s.State, s.Reason, s.Message = Done, "ReconciliationSucceeded", "applied "+ks.Status.LastAppliedRevision
		if ev, ok := t.eventWithAnnotation(KindKustomization, ks.Namespace, ks.Name, "", "kustomize.toolkit.fluxcd.io/revision", ks.Status.LastAppliedRevision); ok {
			s.setFinish(eventTime(ev), FromEvent)
		} else if c := apimeta.FindStatusCondition(ks.Status.Conditions, "Ready"); c != nil {
			s.setFinish(c.LastTransitionTime.Time, FromStatus)
		}
		t.deployedBy(ks.Status.LastAppliedRevision)
		return s
	}
	if ks.Spec.Suspend {
		s.State, s.Reason, s.Message = Waiting, "Suspended", "Kustomization "+name+" is suspended"
		t.diag(DiagSuspended, StageKustomization, s.Message, fmt.Sprintf("flux resume kustomization %s -n %s", ks.Name, ks.Namespace))
		return s
	}
	if c := apimeta.FindStatusCondition(ks.Status.Conditions, "Ready"); c != nil && c.Status == metav1.ConditionFalse &&
		t.commit.Relation(ks.Status.LastAttemptedRevision).included() {
		s.State, s.Reason, s.Message = Failed, c.Reason, c.Message
		t.diag(DiagApplyFailed, StageKustomization, "Kustomization "+name+" failed to apply the commit: "+c.Message,
			"fix the manifests under "+ks.Spec.Path+" and push")
		return s
	}
	s.State, s.Reason, s.Message = Waiting, "NotAppliedYet", "Kustomization "+name+" has not applied the commit yet (interval "+ks.Spec.Interval.Duration.String()+")"
	if isTrue(ks.Status.Conditions, "Reconciling") {
		s.State, s.Reason = InProgress, "Progressing"
	}
	return s
}

// ---- chart built ----

func (t *tracer) chartStage(src Stage, needed bool) Stage {
	s := Stage{Name: StageChart}
	s.startAfter(src)
	hc := t.l.chart
	if hc == nil {
		switch {
		case t.c.forbidden(KindHelmChart):
			s.State, s.Reason, s.Message = Forbidden, "Forbidden", t.c.Forbidden[KindHelmChart]
		default:
			s.State, s.Reason, s.Message = Waiting, "NotFound", "HelmChart "+t.l.chartKey.String()+" not created yet"
		}
		return s
	}
	s.Evidence.add("helmChart", hc.Namespace+"/"+hc.Name)
	strategy := hc.Spec.ReconcileStrategy
	if strategy == "" {
		strategy = sourcev1.ReconcileStrategyChartVersion
	}
	s.Evidence.add("reconcileStrategy", strategy)
	version := ""
	if hc.Status.Artifact != nil {
		version = hc.Status.Artifact.Revision
		s.Evidence.add("chartVersion", version)
	}
	s.Evidence.add("observedSourceRevision", hc.Status.ObservedSourceArtifactRevision)
	if !needed {
		s.State, s.Reason, s.Message = NotNeeded, DiagNoWatchedPath, "the commit changed nothing under ./"+t.l.chartPath
		return s
	}
	if src.State != Done {
		s.State, s.Reason, s.Message = Waiting, "SourceNotReady", "waits for the source"
		return s
	}
	built := false
	// pendingVersion: the HelmChart observed a revision whose Chart.yaml no
	// longer says the version it last built (no commit of that run of the
	// version is found looking back from it): the new version is on its way.
	pendingVersion := false
	if sha := ChartVersionSHA(version); sha != "" {
		built = t.commit.Relation(sha).included()
		if built {
			t.deployedBy(sha)
		}
	} else if version != "" {
		b := ChartBuild{Path: t.l.chartPath, Version: version}
		if intro, ok := t.commit.ChartBuilds[b.Key()]; ok {
			built = t.commit.Relation(intro).included()
		} else {
			pendingVersion = true
		}
	}
	if built {
		s.State, s.Reason, s.Message = Done, "ChartPackageSucceeded", "packaged chart "+version
		if ev, ok := t.eventWithAnnotation(KindHelmChart, hc.Namespace, hc.Name, "ChartPackageSucceeded", "source.toolkit.fluxcd.io/revision", version); ok {
			s.setFinish(eventTime(ev), FromEvent)
		} else if hc.Status.Artifact != nil {
			s.setFinish(hc.Status.Artifact.LastUpdateTime.Time, FromStatus)
		}
		return s
	}
	if hc.Spec.Suspend {
		s.State, s.Reason, s.Message = Waiting, "Suspended", "HelmChart "+hc.Namespace+"/"+hc.Name+" is suspended"
		t.diag(DiagSuspended, StageChart, s.Message, fmt.Sprintf("flux resume source chart %s -n %s", hc.Name, hc.Namespace))
		return s
	}
	observed := t.commit.Relation(hc.Status.ObservedSourceArtifactRevision).included()
	if c := failing(hc.Status.Conditions, "BuildFailed", "FetchFailed", "Stalled"); c != nil && observed {
		s.State, s.Reason, s.Message = Failed, c.Reason, c.Message
		t.diag(DiagChartBuildFailed, StageChart, "the chart does not build: "+c.Message, "fix the chart under ./"+t.l.chartPath+" and push")
		return s
	}
	// source-controller records the source revision it observes before it
	// has built from it (a progressive status patch: Reconciling=True, Ready
	// Unknown): the verdict waits until that reconcile is over.
	settled := !isTrue(hc.Status.Conditions, "Reconciling") && isTrue(hc.Status.Conditions, "Ready")
	if observed && settled && !pendingVersion && strategy == sourcev1.ReconcileStrategyChartVersion {
		s.State, s.Reason = Failed, DiagChartVersionUnchanged
		s.Message = fmt.Sprintf("commit fetched, but chart not rebuilt: Chart.yaml version %s unchanged and reconcileStrategy is ChartVersion", orNone(version))
		t.diag(DiagChartVersionUnchanged, StageChart,
			fmt.Sprintf("the commit was fetched but the chart was not rebuilt: ./%s/Chart.yaml still says version %s, and with reconcileStrategy ChartVersion (the default) Flux only rebuilds when that version changes, so nothing will be upgraded",
				t.l.chartPath, orNone(version)),
			fmt.Sprintf("bump version in ./%s/Chart.yaml and push, or set spec.chart.spec.reconcileStrategy: Revision in HelmRelease %s to ship every commit", t.l.chartPath, t.l.hrKey))
		return s
	}
	s.State, s.Reason = Waiting, "NotObservedYet"
	if observed || isTrue(hc.Status.Conditions, "Reconciling") {
		s.State, s.Reason = InProgress, "Progressing"
	}
	s.Message = "HelmChart has not built the commit yet (observed " + orNone(hc.Status.ObservedSourceArtifactRevision) + ")"
	return s
}

// ---- release upgraded ----

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
		s.State, s.Reason, s.Message = NotNeeded, DiagNoWatchedPath, "the commit changes nothing this release uses"
		return s
	}
	if prev.State == NotNeeded && t.l.kustomization == nil && !t.l.manual {
		s.State, s.Reason, s.Message = NotNeeded, prev.Reason, prev.Message
		return s
	}
	if prev.State != Done && prev.State != NotNeeded {
		s.State, s.Reason, s.Message = Waiting, "Waiting", "waits for the "+stageTitles[prev.Name]+" stage"
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
	released := apimeta.FindStatusCondition(hr.Status.Conditions, "Released")
	ready := apimeta.FindStatusCondition(hr.Status.Conditions, "Ready")
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
		s.State, s.Reason, s.Message = Waiting, "Suspended", "HelmRelease "+name+" is suspended"
		t.diag(DiagSuspended, StageRelease, s.Message, fmt.Sprintf("flux resume helmrelease %s -n %s", hr.Name, hr.Namespace))
		return s
	}
	attempted := hr.Status.LastAttemptedGeneration >= hr.Generation
	if t.l.viaChart {
		attempted = attempted && (hr.Status.LastAttemptedRevision == target || snapOK(hr.Status.History.Latest()))
	}
	stalled := apimeta.FindStatusCondition(hr.Status.Conditions, "Stalled")
	remediated := apimeta.FindStatusCondition(hr.Status.Conditions, "Remediated")
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
		case "ValuesError", "ArtifactFailed", "InitFailed":
			s.State, s.Reason, s.Message = Failed, ready.Reason, ready.Message
			t.diag(DiagReleaseFailed, StageRelease, "HelmRelease "+name+" cannot start: "+ready.Message, "fix the HelmRelease spec (values, valuesFrom, chart) and push")
			return s
		case "DependencyNotReady", "SourceNotReady":
			s.State, s.Reason, s.Message = Waiting, ready.Reason, ready.Message
			return s
		}
	}
	if isTrue(hr.Status.Conditions, "Reconciling") || (ready != nil && ready.Status == metav1.ConditionUnknown) {
		s.State, s.Reason = InProgress, "Progressing"
		s.Message = "Helm " + orWord(string(hr.Status.LastAttemptedReleaseAction), "upgrade") + " in progress"
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

// ---- rollout complete ----

func (t *tracer) rolloutStage(rel Stage, releaseDone bool) Stage {
	s := Stage{Name: StageRollout}
	if rel.State == NotNeeded {
		s.State, s.Reason, s.Message = NotNeeded, rel.Reason, "nothing to roll out"
		return s
	}
	if rel.State != Done && rel.State != InProgress {
		s.State, s.Reason, s.Message = Waiting, "Waiting", "waits for the release"
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
			s.State, s.Reason, s.Message = NotNeeded, "NoWorkloads", "the release has no Deployments, StatefulSets or DaemonSets"
		} else {
			s.State, s.Reason, s.Message = Waiting, "Waiting", "waits for the release"
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

// ---- helpers ----

func failing(conds []metav1.Condition, types ...string) *metav1.Condition {
	for _, ty := range types {
		if c := apimeta.FindStatusCondition(conds, ty); c != nil && c.Status == metav1.ConditionTrue {
			if ty == "Stalled" {
				// Stalled carries the reason; prefer Ready's message when richer.
				if r := apimeta.FindStatusCondition(conds, "Ready"); r != nil && r.Status == metav1.ConditionFalse && r.Message != "" {
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

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
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

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
