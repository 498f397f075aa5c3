package trace

import (
	"context"
	"fmt"
	"strings"
	"sync"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxstatus"
	"github.com/kubectl-gitops/kubectl-gitops/internal/live"
)

// maxDriftReleases bounds the releases whose live objects a trace compares
// with their deployed release: each costs a read of Helm's storage and two
// requests per object, so a trace over more deployed releases skips it.
const maxDriftReleases = 50

// driftReads are the drift comparisons of one computation. They start
// while the cluster is still being read (fluxstatus.FetchOptions.Affected
// calls start once the affected HelmReleases are known), for each of them
// that is Ready: by the time the report says which releases are deployed,
// their Helm storage and live objects are read or on their way, instead of
// costing two more round trips at the end. A release the report finds
// deployed that was not started is compared then.
type driftReads struct {
	cmp    *live.Comparer
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	reads  map[types.NamespacedName]*driftRead
}

type driftRead struct {
	done chan struct{}
	res  *live.Result
}

// newDriftReads returns nil when there is no API server to ask (a test's
// fake client) or no comparer can be built: no drift is reported then.
func (o *runner) newDriftReads(ctx context.Context) *driftReads {
	cfg, err := o.factory.ToRESTConfig()
	if err != nil || cfg.Host == "" {
		return nil
	}
	cmp, err := live.NewComparer(cfg)
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	return &driftReads{cmp: cmp, ctx: ctx, cancel: cancel, reads: map[types.NamespacedName]*driftRead{}}
}

// start begins the comparison of each Ready release of hrs, unless there
// are more than maxDriftReleases of them (then the report's deployed ones
// are not compared at all, see addDrift).
func (d *driftReads) start(hrs []*helmv2.HelmRelease) {
	if d == nil {
		return
	}
	var ready []*helmv2.HelmRelease
	for _, hr := range hrs {
		if apimeta.IsStatusConditionTrue(hr.Status.Conditions, "Ready") {
			ready = append(ready, hr)
		}
	}
	if len(ready) > maxDriftReleases {
		return
	}
	for _, hr := range ready {
		d.read(hr)
	}
}

// read starts the comparison of hr, once, and returns it.
func (d *driftReads) read(hr *helmv2.HelmRelease) *driftRead {
	key := types.NamespacedName{Namespace: hr.Namespace, Name: hr.Name}
	d.mu.Lock()
	defer d.mu.Unlock()
	if r, ok := d.reads[key]; ok {
		return r
	}
	r := &driftRead{done: make(chan struct{})}
	d.reads[key] = r
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer close(r.done)
		if res, err := d.cmp.Compare(d.ctx, live.Input{HR: hr, Removed: true, DriftOnly: true}); err == nil {
			r.res = res
		}
	}()
	return r
}

// finish stops the comparisons nobody waits for (a release the report
// does not find deployed) and waits until they have returned.
func (d *driftReads) finish() {
	if d == nil {
		return
	}
	d.cancel()
	d.wg.Wait()
}

// addDrift adds "drift" evidence to the release stage of each deployed
// release whose live objects differ from the deployed Helm release (the
// deployed manifest applied as helm-controller in a server-side dry run,
// as its drift detection does). What cannot be read adds nothing.
func (o *runner) addDrift(snap *snapshot) {
	d := snap.drift
	if d == nil {
		return
	}
	defer d.finish()
	type job struct {
		stage *fluxstatus.Stage
		i     int
	}
	var jobs []job
	for i := range snap.report.Releases {
		r := &snap.report.Releases[i]
		for j := range r.Stages {
			if s := &r.Stages[j]; s.Name == fluxstatus.StageRelease && s.State == fluxstatus.Done {
				jobs = append(jobs, job{stage: s, i: i})
			}
		}
	}
	if len(jobs) == 0 || len(jobs) > maxDriftReleases {
		return
	}
	reads := make([]*driftRead, len(jobs))
	for k, j := range jobs {
		r := snap.report.Releases[j.i]
		if hr := findHelmRelease(snap.fetched.Cluster, r.Namespace, r.Name); hr != nil {
			reads[k] = d.read(hr)
		}
	}
	for k, j := range jobs {
		if reads[k] == nil {
			continue
		}
		<-reads[k].done
		res := reads[k].res
		if res == nil || res.Deployed == nil {
			continue
		}
		var drifted []string
		for _, ob := range res.Objects {
			if len(ob.Drift) > 0 {
				drifted = append(drifted, fmt.Sprintf("%s (%s)", ob.Object, strings.Join(ob.Drift, ", ")))
			}
		}
		if len(drifted) > 0 {
			j.stage.Evidence = append(j.stage.Evidence, fluxstatus.KV{Key: "drift", Value: strings.Join(drifted, "; ")})
		}
	}
}

func findHelmRelease(c *fluxstatus.Cluster, ns, name string) *helmv2.HelmRelease {
	for i := range c.HelmReleases {
		if hr := &c.HelmReleases[i]; hr.Namespace == ns && hr.Name == name {
			return hr
		}
	}
	return nil
}
