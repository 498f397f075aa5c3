// Command sandbox runs a local Flux cluster made of real parts built from Go modules: etcd, the Kubernetes
// control plane, kwok, source-controller, kustomize-controller, a HelmRelease reconciler and a Git server.
//
//	sandbox up       build what is missing, start everything, wait until ready, print the exports
//	sandbox env      print the exports of the running sandbox
//	sandbox status   show each component, its health and memory
//	sandbox down     stop everything the sandbox started and remove its state
//
// See docs/sandbox.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/kubectl-gitops/kubectl-gitops/sandbox/internal/build"
	"github.com/kubectl-gitops/kubectl-gitops/sandbox/internal/cluster"
	"github.com/kubectl-gitops/kubectl-gitops/sandbox/internal/gitserver"
)

const usage = `usage: sandbox up [--clusters "NAME..."]|down|env|status|build [MODULE...]

  up       build what is missing, start the cluster(s), wait until ready, print the exports;
           --clusters "staging production" runs one API server with its own controllers per name,
           one kube context per cluster in one kubeconfig (default: one cluster, as always)
  down     stop everything the sandbox started and remove its state directory
  env      print the exports of the running sandbox
  status   each component's pid, health and memory; exits 1 if any is unhealthy
  build    build (or find in the cache) every component without starting anything

Environment:
  GITOPS_SANDBOX_DIR              run state (default /tmp/kubectl-gitops-sandbox)
  GITOPS_SANDBOX_CLUSTERS         default of up --clusters (make sandbox-up SANDBOX_CLUSTERS="...")
  XDG_CACHE_HOME                  binaries are cached in $XDG_CACHE_HOME/kubectl-gitops/sandbox
  GITOPS_SANDBOX_HELM_CONTROLLER  run this helm-controller executable instead of the project's reconciler
`

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

type usageError struct{ error }

func run() error {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		return usageError{errors.New("no subcommand")}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	state := &cluster.State{Dir: cluster.DefaultStateDir()}
	sub, args := os.Args[1], os.Args[2:]
	switch sub {
	case "up", "build":
		fs := flag.NewFlagSet(sub, flag.ContinueOnError)
		src := fs.String("helm-controller-src", "", "module of the HelmRelease reconciler (default: sandbox/helm-controller of this repository)")
		timeout := fs.Duration("timeout", 3*time.Minute, "how long each component may take to become ready")
		clusterList := fs.String("clusters", os.Getenv("GITOPS_SANDBOX_CLUSTERS"), "names of the clusters to run, e.g. \"staging production\" (default: one cluster, context "+cluster.DefaultContext+")")
		if err := fs.Parse(args); err != nil {
			return usageError{err}
		}
		clusters, err := cluster.ParseClusters(*clusterList)
		if err != nil {
			return usageError{err}
		}
		dir, err := build.DefaultCacheDir()
		if err != nil {
			return err
		}
		cache := build.Cache{Dir: dir, Log: os.Stdout}
		if sub == "build" && fs.NArg() > 0 {
			return buildNamed(ctx, cache, fs.Args())
		}
		if *src == "" {
			*src = findHelmControllerSrc()
		}
		bins, err := cluster.Prepare(ctx, cache, *src, os.Getenv("GITOPS_SANDBOX_HELM_CONTROLLER"))
		if err != nil {
			return err
		}
		for name, d := range bins.BuildTimes {
			fmt.Printf("cold build of %s: %s\n", name, d)
		}
		if sub == "build" {
			return nil
		}
		return state.Up(ctx, cluster.UpOptions{Bins: bins, Out: os.Stdout, Timeout: *timeout, Clusters: clusters})
	case "down":
		return state.Down(ctx, os.Stdout)
	case "env":
		return state.PrintEnv(os.Stdout)
	case "status":
		return state.Status(ctx, os.Stdout)
	case "git-serve":
		// Internal: the Git server process `up` starts in the background.
		fs := flag.NewFlagSet(sub, flag.ContinueOnError)
		addr := fs.String("addr", "127.0.0.1:0", "listen address")
		root := fs.String("root", "", "directory of bare repositories")
		if err := fs.Parse(args); err != nil {
			return usageError{err}
		}
		return gitserver.Serve(ctx, *addr, *root)
	case "-h", "--help", "help":
		fmt.Print(usage)
		return nil
	default:
		fmt.Fprint(os.Stderr, usage)
		return usageError{fmt.Errorf("unknown subcommand %q", sub)}
	}
}

// buildNamed builds only the named third-party modules (to warm a cache piece by piece).
func buildNamed(ctx context.Context, c build.Cache, names []string) error {
	byName := map[string]build.Module{}
	for _, m := range cluster.Modules() {
		byName[m.Name] = m
	}
	for _, n := range names {
		if n == "assets" {
			if _, _, err := cluster.Assets(ctx, c); err != nil {
				return err
			}
			continue
		}
		m, ok := byName[n]
		if !ok {
			return usageError{fmt.Errorf("no module %q to build", n)}
		}
		if _, err := c.Ensure(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// findHelmControllerSrc looks for sandbox/helm-controller from the working directory upwards, so the
// command works from the repository root, from sandbox/, or from anywhere inside.
func findHelmControllerSrc() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		for _, c := range []string{filepath.Join(dir, "sandbox", "helm-controller"), filepath.Join(dir, "helm-controller")} {
			if _, err := os.Stat(filepath.Join(c, "cmd", "helm-controller")); err == nil {
				return c
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
