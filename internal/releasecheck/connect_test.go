package releasecheck

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
)

// Connect finds a cluster that answers /version, and its probe of one
// that does not answer stops when ctx is cancelled, long before the
// probe's own timeout: promote and diff stop on a signal while they wait
// on the cluster.
func TestConnect(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/version" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"major":"1","minor":"33","gitVersion":"v1.33.0"}`))
	}))
	defer srv.Close()
	cl, dyn, offline := Connect(context.Background(), Env{RESTConfig: func() (*rest.Config, error) { return &rest.Config{Host: srv.URL}, nil }})
	if cl == nil || dyn == nil || offline != "" {
		t.Errorf("answering cluster: got %v, %v, %q", cl, dyn, offline)
	}

	addr, accepted := binarytest.HangingServer(t)
	env := Env{Timeout: time.Hour, RESTConfig: func() (*rest.Config, error) { return &rest.Config{Host: "http://" + addr}, nil }}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan string, 1)
	go func() {
		_, _, offline := Connect(ctx, env)
		done <- offline
	}()
	select {
	case <-accepted:
	case <-time.After(10 * time.Second):
		t.Fatal("the cluster was never asked")
	}
	cancel()
	select {
	case offline := <-done:
		if offline == "" {
			t.Error("a probe stopped by ctx found a cluster")
		}
	case <-time.After(10 * time.Second): // a safety net, not a speed target
		t.Fatal("still probing the cluster after the context was cancelled")
	}
}
