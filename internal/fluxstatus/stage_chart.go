package fluxstatus

import (
	"fmt"

	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
)

// The "chart built" stage: has the HelmChart been built from a revision that
// contains the commit?

func (t *tracer) chartStage(src Stage, needed bool) Stage {
	s := Stage{Name: StageChart}
	s.startAfter(src)
	hc := t.l.chart
	if hc == nil {
		switch {
		case t.c.forbidden(KindHelmChart):
			s.set(Forbidden, "Forbidden", t.c.Forbidden[KindHelmChart])
		default:
			s.set(Waiting, "NotFound", "HelmChart "+t.l.chartKey.String()+" not created yet")
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
		s.set(NotNeeded, DiagNoWatchedPath, "the commit changed nothing under ./"+t.l.chartPath)
		return s
	}
	if src.State != Done {
		s.set(Waiting, "SourceNotReady", "waits for the source")
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
		s.set(Done, sourcev1.ChartPackageSucceededReason, "packaged chart "+version)
		if ev, ok := t.eventWithAnnotation(KindHelmChart, hc.Namespace, hc.Name, sourcev1.ChartPackageSucceededReason, "source.toolkit.fluxcd.io/revision", version); ok {
			s.setFinish(eventTime(ev), FromEvent)
		} else if hc.Status.Artifact != nil {
			s.setFinish(hc.Status.Artifact.LastUpdateTime.Time, FromStatus)
		}
		return s
	}
	if hc.Spec.Suspend {
		s.set(Waiting, meta.SuspendedReason, "HelmChart "+hc.Namespace+"/"+hc.Name+" is suspended")
		t.diag(DiagSuspended, StageChart, s.Message, fmt.Sprintf("flux resume source chart %s -n %s", hc.Name, hc.Namespace))
		return s
	}
	observed := t.commit.Relation(hc.Status.ObservedSourceArtifactRevision).included()
	if c := failing(hc.Status.Conditions, sourcev1.BuildFailedCondition, sourcev1.FetchFailedCondition, meta.StalledCondition); c != nil && observed {
		s.set(Failed, c.Reason, c.Message)
		t.diag(DiagChartBuildFailed, StageChart, "the chart does not build: "+c.Message, "fix the chart under ./"+t.l.chartPath+" and push")
		return s
	}
	// source-controller records the source revision it observes before it
	// has built from it (a progressive status patch: Reconciling=True, Ready
	// Unknown): the verdict waits until that reconcile is over.
	settled := !isTrue(hc.Status.Conditions, meta.ReconcilingCondition) && isTrue(hc.Status.Conditions, meta.ReadyCondition)
	if observed && settled && !pendingVersion && strategy == sourcev1.ReconcileStrategyChartVersion {
		s.set(Failed, DiagChartVersionUnchanged, fmt.Sprintf("commit fetched, but chart not rebuilt: Chart.yaml version %s unchanged and reconcileStrategy is ChartVersion", orNone(version)))
		t.diag(DiagChartVersionUnchanged, StageChart,
			fmt.Sprintf("the commit was fetched but the chart was not rebuilt: ./%s/Chart.yaml still says version %s, and with reconcileStrategy ChartVersion (the default) Flux only rebuilds when that version changes, so nothing will be upgraded",
				t.l.chartPath, orNone(version)),
			fmt.Sprintf("bump version in ./%s/Chart.yaml and push, or set spec.chart.spec.reconcileStrategy: Revision in HelmRelease %s to ship every commit", t.l.chartPath, t.l.hrKey))
		return s
	}
	s.State, s.Reason = Waiting, "NotObservedYet"
	if observed || isTrue(hc.Status.Conditions, meta.ReconcilingCondition) {
		s.State, s.Reason = InProgress, meta.ProgressingReason
	}
	s.Message = "HelmChart has not built the commit yet (observed " + orNone(hc.Status.ObservedSourceArtifactRevision) + ")"
	return s
}
