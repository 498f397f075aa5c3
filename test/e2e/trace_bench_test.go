//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxstatus"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
	"github.com/kubectl-gitops/kubectl-gitops/test/e2e/e2eutil"
)

// countingTransport counts the HTTP requests a client makes.
type countingTransport struct {
	next http.RoundTripper
	n    *atomic.Int64
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

// TestTraceRequestsDoNotGrowOnRealCluster: the fetch behind one trace makes the same number of API
// requests before and after 1,000 unrelated HelmReleases (suspended, so no controller works on them)
// and their Deployments are added to the cluster. Figures are logged.
func TestTraceRequestsDoNotGrowOnRealCluster(t *testing.T) {
	e := e2eutil.Setup(t)
	ns := e.Namespace(t)
	f := e.DeployFounding(t, ns, e2eutil.FoundingOptions{ReconcileStrategy: "Revision"})

	fetch := func() (int64, time.Duration) { return fetchRequests(t, e, f.App.URL) }
	before, tookBefore := fetch()

	filler := e.Namespace(t)
	var b strings.Builder
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&b, `---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: app-%d, namespace: %s}
spec:
  suspend: true
  interval: 1h
  chart: {spec: {chart: ./charts/x, sourceRef: {kind: GitRepository, name: other}}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-%d
  namespace: %s
  labels: {helm.toolkit.fluxcd.io/name: app-%d, helm.toolkit.fluxcd.io/namespace: %s}
spec:
  replicas: 0
  selector: {matchLabels: {app: app-%d}}
  template:
    metadata: {labels: {app: app-%d}}
    spec: {containers: [{name: c, image: nginx}]}
`, i, filler, i, filler, i, filler, i, i)
	}
	e.ApplyYAML(t, filler, b.String())
	after, tookAfter := fetch()
	t.Logf("API requests per trace fetch: %d before, %d with 1,000 more HelmReleases and Deployments; took %s and %s",
		before, after, tookBefore.Round(time.Millisecond), tookAfter.Round(time.Millisecond))
	if after != before {
		t.Fatalf("requests grew with the cluster: %d -> %d", before, after)
	}
}

// fetchRequests runs the fetch behind `trace -A` of the app repo at url and returns the API requests it
// made and how long it took; it fails the test unless exactly one HelmRelease is affected.
func fetchRequests(t *testing.T, e *e2eutil.Env, url string) (int64, time.Duration) {
	t.Helper()
	var n atomic.Int64
	cfg := rest.CopyConfig(e.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return countingTransport{rt, &n} })
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res, err := fluxstatus.Fetch(context.Background(), dyn, fluxstatus.FetchOptions{
		Namespace:   "", // all namespaces, as `trace -A` reads
		MatchSource: func(gr *sourcev1.GitRepository) bool { return gitrepo.SameRepository(gr.Spec.URL, url) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(fluxstatus.AffectedHelmReleases(res.Cluster, res.Sources)) != 1 {
		t.Fatalf("want the founding HelmRelease, got sources %v", res.Sources)
	}
	return n.Load(), time.Since(start)
}
