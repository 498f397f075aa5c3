package e2eutil

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fleet is a sandbox with several clusters: one kubeconfig with a context per cluster, one Git server.
type Fleet struct {
	// Kubeconfig, GitURL, GitRoot and StateDir are the sandbox's; Contexts are its clusters in order.
	Kubeconfig, GitURL, GitRoot, StateDir string
	Contexts                              []string
	// Clusters are an Env per context, sharing the Git server.
	Clusters map[string]*Env
}

var (
	fleetOnce sync.Once
	fleetEnv  *Fleet
	fleetErr  error
	// fleetStarted is the state directory of a sandbox this run started (stopped by Main), if any.
	fleetStarted string
)

// FleetClusters is what the fleet tests need: two clusters.
var FleetClusters = []string{"staging", "production"}

// Fleet returns the clusters of a multi-cluster sandbox. When the running sandbox has several clusters
// (`make sandbox-up SANDBOX_CLUSTERS="staging production"`, as hack/test.sh starts it) they are used;
// otherwise a two-cluster sandbox is started for this run in <state dir>-fleet and stopped when the
// package's tests end, so `make e2e` on a one-cluster sandbox still runs the fleet tests.
func (e *Env) Fleet(t testing.TB) *Fleet {
	t.Helper()
	fleetOnce.Do(func() { fleetEnv, fleetErr = e.loadFleet() })
	if fleetErr != nil {
		t.Fatalf("no multi-cluster sandbox: %v", fleetErr)
	}
	return fleetEnv
}

func (e *Env) loadFleet() (*Fleet, error) {
	if len(e.Contexts) >= 2 {
		return newFleet(e.Kubeconfig, e.GitURL, e.GitRoot, e.Root, e.Contexts)
	}
	dir := e.StateDir + "-fleet"
	sandbox := filepath.Join(os.TempDir(), fmt.Sprintf("kubectl-gitops-e2e-sandbox-%d", os.Getpid()))
	build := exec.Command("go", "build", "-o", sandbox, "./cmd/sandbox")
	build.Dir = filepath.Join(e.Root, "sandbox")
	build.Env = append(os.Environ(), "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building the sandbox program: %v\n%s", err, out)
	}
	defer os.Remove(sandbox)
	up := exec.Command(sandbox, "up", "--clusters", strings.Join(FleetClusters, " "))
	up.Dir = filepath.Join(e.Root, "sandbox")
	up.Env = append(os.Environ(), "GITOPS_SANDBOX_DIR="+dir)
	start := time.Now()
	out, err := up.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("the running sandbox has one cluster, and starting a two-cluster one in %s failed: %v\n%s", dir, err, out)
	}
	if !strings.Contains(string(out), "sandbox already running") {
		fleetStarted = dir
	}
	fmt.Fprintf(os.Stderr, "e2e: started a two-cluster sandbox in %s for the fleet tests (%.0f s)\n", dir, time.Since(start).Seconds())
	vars, err := readEnvFile(filepath.Join(dir, "env"))
	if err != nil {
		return nil, err
	}
	return newFleet(vars["KUBECONFIG"], vars["GITOPS_SANDBOX_GIT_URL"], vars["GITOPS_SANDBOX_GIT_ROOT"], e.Root, strings.Split(vars["GITOPS_SANDBOX_CONTEXTS"], ","))
}

func newFleet(kubeconfig, gitURL, gitRoot, root string, contexts []string) (*Fleet, error) {
	f := &Fleet{Kubeconfig: kubeconfig, GitURL: strings.TrimRight(gitURL, "/"), GitRoot: gitRoot, StateDir: filepath.Dir(kubeconfig),
		Contexts: contexts, Clusters: map[string]*Env{}}
	for _, c := range contexts {
		ce := &Env{Kubeconfig: kubeconfig, GitURL: f.GitURL, GitRoot: gitRoot, StateDir: f.StateDir, Root: root, Context: c, Contexts: contexts}
		if err := ce.connect(); err != nil {
			return nil, err
		}
		f.Clusters[c] = ce
	}
	return f, nil
}

func readEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "="); ok {
			vars[k] = v
		}
	}
	return vars, sc.Err()
}

// stopFleet stops the sandbox Fleet started, if it did.
func stopFleet() {
	if fleetStarted == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sandbox := filepath.Join(fleetStarted, "bin", "sandbox") // the copy `up` keeps in its state directory
	down := exec.CommandContext(ctx, sandbox, "down")
	down.Env = append(os.Environ(), "GITOPS_SANDBOX_DIR="+fleetStarted)
	if out, err := down.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: stopping the fleet sandbox in %s: %v\n%s", fleetStarted, err, out)
	}
}

// PKI is a file of the cluster's keys and certificates in the sandbox state directory (pki/<cluster>/).
func (f *Fleet) PKI(cluster, file string) string {
	return filepath.Join(f.StateDir, "pki", cluster, file)
}
