package trace

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxstatus"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
)

// ReconcileAnnotation is what `flux reconcile` sets to ask for a reconcile now.
const ReconcileAnnotation = "reconcile.fluxcd.io/requestedAt"

// run traces the commit once, or until deployed/failed with --watch/--wait.
func (o *runner) run(ctx context.Context) error {
	if o.fleetMode() {
		if err := o.resolveGit(ctx); err != nil {
			return err
		}
		if err := o.completeFleet(ctx); err != nil {
			return err
		}
		return o.runFleet(ctx)
	}
	snap, err := o.first(ctx)
	if err != nil {
		return err
	}
	if o.Reconcile {
		o.requestReconcile(ctx, o.scope, snap)
		if snap, err = o.compute(ctx, o.scope, nil, o.once()); err != nil {
			return err
		}
	}
	defer snap.drift.finish()
	if err := o.notFound(o.scope, snap); err != nil && !o.mayAppear(o.scope, snap) {
		if len(snap.fetched.Sources) > 0 {
			_ = o.print(snap.report, false)
		}
		return err
	}
	if !o.Watch && !o.Wait {
		o.addDrift(snap)
		if err := o.print(snap.report, false); err != nil {
			return err
		}
		return resultError(snap.report)
	}
	return o.watchLoop(ctx, snap)
}

// first resolves the revision in git and makes the first computation, the
// two side by side: the first round of requests (GitRepositories,
// HelmCharts, Kustomizations) needs nothing from git, so it is sent while
// git opens the checkout and resolves the commit, and only matching the
// sources to the remotes waits for git. An error of git's wins over the
// cluster's, as when git was asked first.
func (o *runner) first(ctx context.Context) (*snapshot, error) {
	var gitErr error
	o.gitResolved = make(chan struct{})
	go func() { defer close(o.gitResolved); gitErr = o.resolveGit(ctx) }()
	err := o.resolveCluster()
	var snap *snapshot
	if err == nil {
		// The drift of a deployed release is reported by a trace that
		// prints once; with --reconcile, of the computation after it.
		snap, err = o.compute(ctx, o.scope, nil, o.once() && !o.Reconcile)
	}
	<-o.gitResolved
	if gitErr != nil {
		return nil, gitErr
	}
	return snap, err
}

// snapshot is one computation: what was fetched and what it means.
type snapshot struct {
	fetched *fluxstatus.Fetched
	report  *fluxstatus.Report
	// drift holds the drift comparisons started for addDrift (nil: none).
	drift *driftReads
}

// once reports whether the trace prints one report (no --watch or --wait):
// only that one reports drift.
func (o *runner) once() bool { return !o.Watch && !o.Wait }

// compute fetches and traces the cluster of sc. list answers the fetch's
// lists (nil: the API server; --watch passes its caches). With drift, the
// drift comparisons of the affected releases start while the cluster is
// read (driftReads); the snapshot holds them for addDrift.
func (o *runner) compute(ctx context.Context, sc *scope, list fluxstatus.ListFunc, drift bool) (snap *snapshot, err error) {
	var reads *driftReads
	if drift {
		reads = o.newDriftReads(ctx)
		defer func() {
			if err != nil {
				reads.finish()
			}
		}()
	}
	// What git says about the commit alone (its paths, whether it is
	// pushed, the manifests it touches) needs nothing from the cluster:
	// the git processes run while the API requests are in flight. The
	// facts cache keeps the answer (an error is asked again below).
	commitFacts := make(chan struct{})
	go func() {
		defer close(commitFacts)
		if !o.waitGit() {
			return
		}
		_, _ = o.facts.facts(ctx, o.Revision, fluxstatus.Questions{})
	}()
	f, err := fluxstatus.Fetch(ctx, sc.dyn, fluxstatus.FetchOptions{
		Namespace:          sc.namespace,
		FallbackNamespaces: sc.fallbackNamespaces,
		MatchSource:        o.matchSource,
		HelmReleases:       sc.hrKeys,
		List:               list,
		Affected:           reads.start,
	})
	<-commitFacts
	if !o.waitGit() {
		return nil, errGitFailed
	}
	if err != nil {
		return nil, fmt.Errorf("reading Flux objects: %w (check --context and that Flux is installed)", err)
	}
	facts, err := o.facts.facts(ctx, o.Revision, fluxstatus.Ask(f.Cluster, f.Sources))
	if err != nil {
		return nil, fmt.Errorf("checking the commit against the cluster's revisions in %s: %w", o.repo.Root, err)
	}
	rep := fluxstatus.Trace(f.Cluster, facts, fluxstatus.Options{
		Now:             sc.factory.Clock().Now(),
		Sources:         f.Sources,
		HelmReleases:    sc.hrKeys,
		Namespace:       sc.namespace,
		ManualNamespace: sc.manualNamespace,
		Tool:            o.tool,
	})
	return &snapshot{fetched: f, report: rep, drift: reads}, nil
}

func (o *runner) matchSource(gr *sourcev1.GitRepository) bool {
	if !o.waitGit() {
		return false
	}
	for _, r := range o.remotes {
		if gitrepo.SameRepository(r.URL, gr.Spec.URL) {
			return true
		}
	}
	return false
}

// errGitFailed stands for git's error while the first computation ends:
// first returns git's own.
var errGitFailed = errors.New("resolving the revision failed")

// waitGit waits until git has resolved the revision (see first) and
// reports whether it did.
func (o *runner) waitGit() bool {
	if o.gitResolved != nil {
		<-o.gitResolved
	}
	return o.facts != nil
}

// notFound turns "nothing to trace" in the cluster of sc into a NotFound
// error that says why.
func (o *runner) notFound(sc *scope, s *snapshot) error {
	c := s.fetched.Cluster
	if len(s.fetched.Sources) == 0 {
		if msg, ok := c.Forbidden[fluxstatus.KindGitRepository]; ok {
			return exitcode.Errorf(exitcode.NotFound, "cannot read GitRepositories: %s (ask for list on gitrepositories.source.toolkit.fluxcd.io)", msg)
		}
		var remotes, urls []string
		for _, r := range o.remotes {
			remotes = append(remotes, r.URL)
		}
		for _, gr := range c.GitRepositories {
			urls = append(urls, gr.Namespace+"/"+gr.Name+"="+gr.Spec.URL)
		}
		seen := "none"
		if len(urls) > 0 {
			seen = strings.Join(urls, ", ")
		}
		return exitcode.Errorf(exitcode.NotFound, "no Flux GitRepository fetches this checkout: remotes %s; GitRepositories in the cluster: %s (use --repo to pick the checkout Flux watches, or --context for the cluster)",
			strings.Join(remotes, ", "), seen)
	}
	if len(s.report.Releases) == 0 {
		where, hint := "namespace "+sc.namespace, "drop -n to trace every namespace the sources reach"
		if sc.namespace == "" {
			where, hint = "any namespace", "check that a Kustomization from this repo applies the HelmRelease, or use -A for releases applied by hand"
		}
		if len(sc.hrKeys) > 0 {
			var ks []string
			for _, k := range sc.hrKeys {
				ks = append(ks, k.String())
			}
			where = strings.Join(ks, ", ")
		}
		if len(sc.hrKeys) > 0 {
			hint = "check the names with kubectl get helmreleases -A"
		}
		if msg, ok := s.fetched.Cluster.Forbidden[fluxstatus.KindHelmRelease]; ok {
			return exitcode.Errorf(exitcode.NotFound, "cannot read HelmReleases: %s (ask for list on helmreleases.helm.toolkit.fluxcd.io, or name the namespace with -n)", msg)
		}
		return exitcode.Errorf(exitcode.NotFound, "no HelmRelease in %s uses %s (as a chart source or through a Kustomization); %s", where, sourceNames(s.fetched.Sources), hint)
	}
	return nil
}

// mayAppear: with --wait or --watch, no release yet is not the end when the
// sources have not settled (a source without an artifact, a Kustomization
// that has not applied its source's revision): the Kustomization may yet
// create the HelmRelease, as right after `kubectl apply` of a new repo.
func (o *runner) mayAppear(sc *scope, s *snapshot) bool {
	return (o.Wait || o.Watch) && len(s.fetched.Sources) > 0 && s.fetched.Cluster.SourcesSettling(s.fetched.Sources, sc.namespace)
}

func sourceNames(ss []types.NamespacedName) string {
	var out []string
	for _, s := range ss {
		out = append(out, "GitRepository "+s.String())
	}
	return strings.Join(out, ", ")
}

// resultError maps the report to the exit code contract.
func resultError(r *fluxstatus.Report) error {
	switch {
	case r.Deployed:
		return nil
	case r.State == fluxstatus.Failed:
		return exitcode.Errorf(exitcode.Failed, "commit %s failed to deploy: %s", gitrepo.Short(r.Revision.SHA), firstDiagnosis(r))
	default:
		return exitcode.Errorf(exitcode.Pending, "commit %s is not deployed yet (%s); use --wait to block until it is", gitrepo.Short(r.Revision.SHA), r.State)
	}
}

func firstDiagnosis(r *fluxstatus.Report) string {
	for _, rel := range r.Releases {
		for _, d := range rel.Diagnoses {
			return d.Message
		}
	}
	return string(r.State)
}

// requestReconcile sets the reconcile annotation on the sources, the
// HelmCharts, Kustomizations and HelmReleases involved, as `flux reconcile`
// does, so nobody waits for the intervals. Refusals are warnings.
func (o *runner) requestReconcile(ctx context.Context, sc *scope, s *snapshot) {
	now := sc.factory.Clock().Now().UTC().Format(time.RFC3339Nano)
	patch := []byte(fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, ReconcileAnnotation, now))
	type obj struct {
		gvr       schema.GroupVersionResource
		kind      string
		namespace string
		name      string
	}
	var objs []obj
	for _, src := range s.fetched.Sources {
		objs = append(objs, obj{fluxstatus.GitRepositoryGVR, "GitRepository", src.Namespace, src.Name})
	}
	seen := map[string]bool{}
	for _, rel := range s.report.Releases {
		key := types.NamespacedName{Namespace: rel.Namespace, Name: rel.Name}
		for _, hr := range s.fetched.Cluster.HelmReleases {
			if hr.Namespace != key.Namespace || hr.Name != key.Name {
				continue
			}
			if k, ok := fluxstatus.HelmChartKey(&hr); ok && !seen["hc"+k.String()] {
				seen["hc"+k.String()] = true
				objs = append(objs, obj{fluxstatus.HelmChartGVR, "HelmChart", k.Namespace, k.Name})
			}
		}
		for _, st := range rel.Stages {
			if st.Name == fluxstatus.StageKustomization {
				if ns, name, ok := strings.Cut(st.Evidence.Get("kustomization"), "/"); ok && !seen["ks"+ns+name] {
					seen["ks"+ns+name] = true
					objs = append(objs, obj{fluxstatus.KustomizationGVR, "Kustomization", ns, name})
				}
			}
		}
		objs = append(objs, obj{fluxstatus.HelmReleaseGVR, "HelmRelease", rel.Namespace, rel.Name})
	}
	for _, ob := range objs {
		_, err := sc.dyn.Resource(ob.gvr).Namespace(ob.namespace).Patch(ctx, ob.name, types.MergePatchType, patch, metav1.PatchOptions{})
		if err != nil {
			fmt.Fprintf(o.streams.ErrOut, "warning: could not request a reconcile of %s %s/%s: %v\n", ob.kind, ob.namespace, ob.name, err)
			continue
		}
		if o.Output == "table" {
			fmt.Fprintf(o.streams.ErrOut, "requested reconcile of %s %s/%s\n", ob.kind, ob.namespace, ob.name)
		}
	}
}
