//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxstatus"
	"github.com/kubectl-gitops/kubectl-gitops/test/e2e/e2eutil"
)

// traceJSON runs `kubectl-gitops trace ... -o json` and decodes the report.
func traceJSON(t *testing.T, e *e2eutil.Env, repo string, args ...string) (e2eutil.Result, *fluxstatus.Report) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res := e.Run(t, ctx, repo, append([]string{"trace"}, append(args, "-o", "json")...)...)
	var rep fluxstatus.Report
	if err := json.Unmarshal([]byte(res.Stdout), &rep); err != nil {
		t.Fatalf("trace -o json printed no report (exit %d): %v\n%s\n%s", res.ExitCode, err, res.Stdout, res.Stderr)
	}
	return res, &rep
}

func release(t *testing.T, rep *fluxstatus.Report, ns, name string) fluxstatus.Release {
	t.Helper()
	for _, r := range rep.Releases {
		if r.Namespace == ns && r.Name == name {
			return r
		}
	}
	t.Fatalf("no release %s/%s in the report: %+v", ns, name, rep.Releases)
	return fluxstatus.Release{}
}

func stage(rel fluxstatus.Release, name string) fluxstatus.Stage {
	for _, s := range rel.Stages {
		if s.Name == name {
			return s
		}
	}
	return fluxstatus.Stage{}
}

func hasDiag(rel fluxstatus.Release, code string) bool {
	for _, d := range rel.Diagnoses {
		if d.Code == code {
			return true
		}
	}
	return false
}

func wantExit(t *testing.T, res e2eutil.Result, code exitcode.Code) {
	t.Helper()
	if res.ExitCode != int(code) {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", res.ExitCode, code, res.Stdout, res.Stderr)
	}
}

// Scenario 1 with reconcileStrategy Revision: the commit reaches running pods; --reconcile --wait returns 0
// and every stage is done with the chart version carrying the commit.
func TestTraceScenario1Revision(t *testing.T) {
	e := e2eutil.Setup(t)
	ns := e.Namespace(t)
	f := e.DeployFounding(t, ns, e2eutil.FoundingOptions{ReconcileStrategy: "Revision"})
	e.Binary(t) // built before the clock starts: the figure is Flux's time, not the compiler's
	sha := scenario1Commit(t, f)
	pushed := time.Now()
	res, rep := traceJSON(t, e, f.App.Clone, sha, "-n", ns, "--reconcile", "--wait", "--timeout", "3m")
	t.Logf("push to deployed with --reconcile --wait: %s", time.Since(pushed).Round(time.Millisecond))
	wantExit(t, res, exitcode.OK)
	rel := release(t, rep, ns, e2eutil.HelmRelease)
	if !rel.Deployed || rel.DeployedBy != nil {
		t.Fatalf("release = %+v", rel)
	}
	for _, name := range []string{fluxstatus.StageSource, fluxstatus.StageChart, fluxstatus.StageRelease, fluxstatus.StageRollout} {
		if s := stage(rel, name); s.State != fluxstatus.Done || s.FinishedAt == nil {
			t.Errorf("stage %s = %+v, want done with a finish time", name, s)
		}
	}
	if got := stage(rel, fluxstatus.StageChart).Evidence.Get("chartVersion"); got != "0.1.2+"+sha[:12] {
		t.Errorf("chart version = %q", got)
	}
	if got := stage(rel, fluxstatus.StageRollout).Evidence.Get("readyPods"); got != "3/3" {
		t.Errorf("ready pods = %q, want 3/3", got)
	}

	// The table for people, against the same cluster.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tab := e.Run(t, ctx, f.App.Clone, "trace", sha[:8], "-n", ns)
	wantExit(t, tab, exitcode.OK)
	if !strings.Contains(tab.Stdout, "DEPLOYED") || !strings.Contains(tab.Stdout, "deployed everywhere") {
		t.Errorf("table:\n%s", tab.Stdout)
	}
}

// Scenario 1 with the default ChartVersion strategy: fetched, never upgraded; trace must say why (exit 4).
func TestTraceScenario1ChartVersionDiagnosed(t *testing.T) {
	e := e2eutil.Setup(t)
	ns := e.Namespace(t)
	f := e.DeployFounding(t, ns, e2eutil.FoundingOptions{})
	sha := scenario1Commit(t, f)
	res, rep := traceJSON(t, e, f.App.Clone, sha, "-n", ns, "--reconcile", "--wait", "--timeout", "2m")
	wantExit(t, res, exitcode.Failed)
	rel := release(t, rep, ns, e2eutil.HelmRelease)
	if s := stage(rel, fluxstatus.StageSource); s.State != fluxstatus.Done {
		t.Errorf("source = %+v, want done (the commit was fetched)", s)
	}
	if s := stage(rel, fluxstatus.StageChart); s.State != fluxstatus.Failed || s.Reason != fluxstatus.DiagChartVersionUnchanged {
		t.Errorf("chart = %+v", s)
	}
	if !hasDiag(rel, fluxstatus.DiagChartVersionUnchanged) || rel.Deployed {
		t.Errorf("release = %+v", rel)
	}
	// The cluster really did not move.
	e.WaitRollout(t, ns, e2eutil.Deployment, e2eutil.Rollout{Replicas: 2, Image: "nginx:1.21"}, 30*time.Second)
}

// Scenario 2: a commit to the GitOps repo changes the HelmRelease's values, applied by the Kustomization.
func TestTraceGitOpsRepoCommit(t *testing.T) {
	e := e2eutil.Setup(t)
	ns := e.Namespace(t)
	f := e.DeployFounding(t, ns, e2eutil.FoundingOptions{})
	sha := f.GitOps.Commit(t, "sample-app: 4 replicas", func(dir string) {
		e2eutil.ReplaceInFile(t, dir, "helmrelease/sample-app-helmrelease.yaml", "  values:\n", "  values:\n    replicaCount: 4\n")
	})
	res, rep := traceJSON(t, e, f.GitOps.Clone, sha, "-n", ns, "--reconcile", "--wait", "--timeout", "3m")
	wantExit(t, res, exitcode.OK)
	rel := release(t, rep, ns, e2eutil.HelmRelease)
	if strings.Join(rel.Via, ",") != "kustomization" {
		t.Errorf("via = %v, want kustomization", rel.Via)
	}
	for name, want := range map[string]fluxstatus.State{fluxstatus.StageSource: fluxstatus.Done, fluxstatus.StageKustomization: fluxstatus.Done,
		fluxstatus.StageChart: fluxstatus.NotNeeded, fluxstatus.StageRelease: fluxstatus.Done, fluxstatus.StageRollout: fluxstatus.Done} {
		if s := stage(rel, name); s.State != want {
			t.Errorf("stage %s = %+v, want %s", name, s, want)
		}
	}
	e.WaitRollout(t, ns, e2eutil.Deployment, e2eutil.Rollout{Replicas: 4, Image: "nginx:1.21"}, 30*time.Second)
}

// A commit superseded by a later one counts as deployed, by that later commit.
func TestTraceSupersededCommit(t *testing.T) {
	e := e2eutil.Setup(t)
	ns := e.Namespace(t)
	f := e.DeployFounding(t, ns, e2eutil.FoundingOptions{ReconcileStrategy: "Revision"})
	first := scenario1Commit(t, f)
	later := f.App.Commit(t, "nginx 1.23", func(dir string) {
		e2eutil.ReplaceInFile(t, dir, "charts/sample-app/values.yaml", `tag: "1.22"`, `tag: "1.23"`)
	})
	res, _ := traceJSON(t, e, f.App.Clone, later, "-n", ns, "--reconcile", "--wait", "--timeout", "3m")
	wantExit(t, res, exitcode.OK)
	res, rep := traceJSON(t, e, f.App.Clone, first, "-n", ns)
	wantExit(t, res, exitcode.OK)
	rel := release(t, rep, ns, e2eutil.HelmRelease)
	if !rel.Deployed || rel.DeployedBy == nil || rel.DeployedBy.SHA != later || rel.DeployedBy.Subject != "nginx 1.23" {
		t.Fatalf("release = %+v, want deployed by %s", rel, later)
	}
}

// A values change that renders an invalid Deployment: Helm fails, Flux retries (retries: 2) and gives
// up; trace --wait exits 4 with the API server's message.
func TestTraceFailingUpgrade(t *testing.T) {
	e := e2eutil.Setup(t)
	ns := e.Namespace(t)
	f := e.DeployFounding(t, ns, e2eutil.FoundingOptions{ReconcileStrategy: "Revision"})
	sha := f.App.Commit(t, "broken memory limit", func(dir string) {
		e2eutil.ReplaceInFile(t, dir, "charts/sample-app/values.yaml", "memory: 128Mi", "memory: not-a-quantity")
	})
	res, rep := traceJSON(t, e, f.App.Clone, sha, "-n", ns, "--reconcile", "--wait", "--timeout", "4m")
	wantExit(t, res, exitcode.Failed)
	rel := release(t, rep, ns, e2eutil.HelmRelease)
	s := stage(rel, fluxstatus.StageRelease)
	if s.State != fluxstatus.Failed || !strings.Contains(s.Message, "not-a-quantity") && !strings.Contains(s.Message, "quantit") {
		t.Errorf("release stage = %+v", s)
	}
	if !hasDiag(rel, fluxstatus.DiagReleaseFailed) {
		t.Errorf("diagnoses = %+v", rel.Diagnoses)
	}
	if s.Evidence.Get("failures") == "" {
		t.Errorf("no failure counters in the evidence: %+v", s.Evidence)
	}
}

// Pods that never become ready (requests no node can satisfy): --wait times out with exit 5 and the
// scheduler's message.
func TestTracePodsNeverReady(t *testing.T) {
	e := e2eutil.Setup(t)
	ns := e.Namespace(t)
	f := e.DeployFounding(t, ns, e2eutil.FoundingOptions{ReconcileStrategy: "Revision"})
	sha := f.App.Commit(t, "huge cpu request", func(dir string) {
		e2eutil.ReplaceInFile(t, dir, "charts/sample-app/values.yaml", "cpu: 10m", "cpu: \"5000\"")
	})
	res, rep := traceJSON(t, e, f.App.Clone, sha, "-n", ns, "--reconcile", "--wait", "--timeout", "40s")
	wantExit(t, res, exitcode.Pending)
	rel := release(t, rep, ns, e2eutil.HelmRelease)
	if !hasDiag(rel, fluxstatus.DiagRolloutStuck) {
		t.Fatalf("no RolloutStuck diagnosis: %+v", rel)
	}
	for _, d := range rel.Diagnoses {
		if d.Code == fluxstatus.DiagRolloutStuck && !strings.Contains(d.Message, "Unschedulable") {
			t.Errorf("diagnosis does not say unschedulable: %s", d.Message)
		}
	}
}

// --watch ends with the exit code of the result and draws more than one view as stages complete.
func TestTraceWatchExitCode(t *testing.T) {
	e := e2eutil.Setup(t)
	ns := e.Namespace(t)
	f := e.DeployFounding(t, ns, e2eutil.FoundingOptions{ReconcileStrategy: "Revision"})
	sha := scenario1Commit(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	res := e.Run(t, ctx, f.App.Clone, "trace", sha, "-n", ns, "--reconcile", "--watch", "--timeout", "3m")
	wantExit(t, res, exitcode.OK)
	if n := strings.Count(res.Stdout, "Result:"); n < 2 {
		t.Errorf("%d views drawn, want a redraw per change", n)
	}
	if !strings.HasSuffix(strings.TrimSpace(res.Stdout), "g = commit date.") || !strings.Contains(res.Stdout, "deployed everywhere") {
		t.Errorf("last view:\n%s", res.Stdout)
	}
}

// Without --reconcile the commit waits for the GitRepository's interval (1m); trace says when the next
// fetch is due and exits 5; with --reconcile it is live in seconds.
func TestTraceReconcileShortensPushToReady(t *testing.T) {
	e := e2eutil.Setup(t)
	ns := e.Namespace(t)
	f := e.DeployFounding(t, ns, e2eutil.FoundingOptions{ReconcileStrategy: "Revision"})
	sha := scenario1Commit(t, f)
	res, rep := traceJSON(t, e, f.App.Clone, sha, "-n", ns)
	if res.ExitCode == int(exitcode.Pending) {
		rel := release(t, rep, ns, e2eutil.HelmRelease)
		if !hasDiag(rel, fluxstatus.DiagNotFetchedYet) {
			t.Errorf("not fetched yet, but no NotFetchedYet diagnosis: %+v", rel)
		}
	} else {
		wantExit(t, res, exitcode.OK) // the interval happened to fire: still a valid outcome
	}
	start := time.Now()
	res, _ = traceJSON(t, e, f.App.Clone, sha, "-n", ns, "--reconcile", "--wait", "--timeout", "2m")
	wantExit(t, res, exitcode.OK)
	took := time.Since(start)
	t.Logf("push-to-ready with --reconcile: %s (GitRepository interval 1m)", took.Round(time.Millisecond))
	if took > 55*time.Second {
		t.Errorf("--reconcile took %s, no faster than the 1m interval", took)
	}
}
