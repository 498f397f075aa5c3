package fluxstatus

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	sourcev1 "github.com/fluxcd/source-controller/api/v1"
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
	// Tool is the tool as it was invoked ("flux gitops"), for fixes that
	// name one of its commands; "" reads as "kubectl gitops".
	Tool string
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
	for _, k := range slices.Sorted(maps.Keys(c.Forbidden)) {
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
		r.Releases = append(r.Releases, traceRelease(c, commit, l, o.Now, o.Tool))
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
	// tool is the tool as invoked, for fixes that name its commands.
	tool string
}

func traceRelease(c *Cluster, commit *Commit, l *link, now time.Time, tool string) Release {
	if tool == "" {
		tool = "kubectl gitops"
	}
	t := &tracer{c: c, commit: commit, l: l, now: now, tool: tool}
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
