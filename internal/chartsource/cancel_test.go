package chartsource

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
)

// A cancelled context stops a chart look-up that waits on a source that
// does not answer, whatever the source, and the error says it was the
// cancellation (not the source): promote and diff end because their work
// stopped, not because main's grace period ran out.
func TestResolveStopsWhenCancelled(t *testing.T) {
	gitRelease := release()
	helmRelease := release()
	helmRelease.Spec.Chart.Spec.Chart = "podinfo"
	helmRelease.Spec.Chart.Spec.SourceRef = helmv2Ref("HelmRepository", "podinfo")
	for _, c := range []struct {
		name     string
		resolver func(addr string) *Resolver
		hr       *helmv2.HelmRelease
	}{
		{"GitRepository over http", func(addr string) *Resolver {
			return &Resolver{Repo: gitops(t, "http://"+addr+"/app.git", "branch: main"), CacheDir: t.TempDir()}
		}, gitRelease},
		{"HelmRepository over http", func(addr string) *Resolver { return helmRepoCheckout(t, "http://"+addr+"/charts", "") }, helmRelease},
		{"HelmRepository of type oci", func(addr string) *Resolver {
			return helmRepoCheckout(t, "oci://"+addr+"/charts", "  type: oci\n  insecure: true\n")
		}, helmRelease},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr, accepted := binarytest.HangingServer(t)
			r := c.resolver(addr)
			// A look-up timeout far beyond the test's: only the
			// cancellation can end the call.
			r.Lookups = NewLookups(time.Hour)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, err := r.Resolve(ctx, c.hr)
				done <- err
			}()
			select {
			case <-accepted: // the request is on its way and unanswered
			case err := <-done:
				t.Fatalf("returned before the source was asked: %v", err)
			case <-time.After(10 * time.Second):
				buf := make([]byte, 1<<20)
				t.Fatalf("the source was never asked\n%s", buf[:runtime.Stack(buf, true)])
			}
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("got %v, want an error that is context.Canceled", err)
				}
			case <-time.After(10 * time.Second): // a safety net, not a speed target
				t.Fatal("still waiting on the source after the context was cancelled")
			}
		})
	}
}
