package trace

import (
	"context"
	"fmt"
	"strings"
	"sync"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"

	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxstatus"
	"github.com/kubectl-gitops/kubectl-gitops/internal/live"
)

// maxDriftReleases bounds the releases whose live objects a trace compares
// with their deployed release: each costs a read of Helm's storage and two
// requests per object, so a trace over more deployed releases skips it.
const maxDriftReleases = 50

// addDrift adds "drift" evidence to the release stage of each deployed
// release whose live objects differ from the deployed Helm release (the
// deployed manifest applied as helm-controller in a server-side dry run,
// as its drift detection does). What cannot be read adds nothing.
func (o *runner) addDrift(ctx context.Context, snap *snapshot) {
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
	cfg, err := o.factory.ToRESTConfig()
	if err != nil || cfg.Host == "" {
		return // no API server to ask (a test's fake client)
	}
	cmp, err := live.NewComparer(cfg)
	if err != nil {
		return
	}
	var wg sync.WaitGroup
	for _, j := range jobs {
		r := snap.report.Releases[j.i]
		hr := findHelmRelease(snap.fetched.Cluster, r.Namespace, r.Name)
		if hr == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := cmp.Compare(ctx, live.Input{HR: hr, Removed: true, DriftOnly: true})
			if err != nil || res.Deployed == nil {
				return
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
		}()
	}
	wg.Wait()
}

func findHelmRelease(c *fluxstatus.Cluster, ns, name string) *helmv2.HelmRelease {
	for i := range c.HelmReleases {
		if hr := &c.HelmReleases[i]; hr.Namespace == ns && hr.Name == name {
			return hr
		}
	}
	return nil
}
