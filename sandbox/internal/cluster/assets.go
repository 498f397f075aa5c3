package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/kubectl-gitops/kubectl-gitops/sandbox/internal/build"
)

// Binaries are the executables and files a sandbox runs, all built or generated before anything starts.
type Binaries struct {
	APIServer, ControllerManager, Scheduler, Etcd, Kwok   string
	SourceController, KustomizeController, HelmController string
	// CRDs are manifests to apply before the controllers start; KwokStages is kwok's --config.
	CRDs       []string
	KwokStages string
	// BuildTimes records each cold build, for the figures in docs/sandbox.md.
	BuildTimes map[string]time.Duration
}

// Prepare builds (or finds in the cache) everything the sandbox runs.
//
// helmControllerSrc is the module of the project's own HelmRelease reconciler; helmControllerExe, when set
// (from GITOPS_SANDBOX_HELM_CONTROLLER), is a real helm-controller binary to run instead.
func Prepare(ctx context.Context, c build.Cache, helmControllerSrc, helmControllerExe string) (Binaries, error) {
	b := Binaries{BuildTimes: map[string]time.Duration{}}
	mods := []build.Module{build.Etcd(), build.Kubernetes(), build.Kwok(), build.SourceController(), build.KustomizeController()}
	for _, m := range mods {
		d, err := c.Ensure(ctx, m)
		if err != nil {
			return b, err
		}
		if d > 0 {
			b.BuildTimes[m.Name] = d
		}
	}
	bin := func(m build.Module, name string) string {
		for _, t := range m.Targets {
			if t.Bin == name {
				return c.BinPath(m, t)
			}
		}
		panic("no target " + name)
	}
	k := build.Kubernetes()
	b.APIServer, b.ControllerManager, b.Scheduler = bin(k, "kube-apiserver"), bin(k, "kube-controller-manager"), bin(k, "kube-scheduler")
	b.Etcd = bin(build.Etcd(), "etcd")
	b.Kwok = bin(build.Kwok(), "kwok")
	b.SourceController = bin(build.SourceController(), "source-controller")
	b.KustomizeController = bin(build.KustomizeController(), "kustomize-controller")

	var err error
	if b.KwokStages, b.CRDs, err = Assets(ctx, c); err != nil {
		return b, err
	}

	switch {
	case helmControllerExe != "":
		if fi, err := os.Stat(helmControllerExe); err != nil || fi.Mode()&0o111 == 0 {
			return b, fmt.Errorf("GITOPS_SANDBOX_HELM_CONTROLLER=%s is not an executable file; point it at a helm-controller binary or unset it to use the project's reconciler", helmControllerExe)
		}
		b.HelmController = helmControllerExe
	case helmControllerSrc != "":
		start := time.Now()
		if b.HelmController, err = buildLocal(ctx, c, helmControllerSrc); err != nil {
			return b, err
		}
		if d := time.Since(start); d > time.Second {
			b.BuildTimes["helm-controller"] = d.Round(100 * time.Millisecond)
		}
	}
	return b, nil
}

// Assets returns kwok's stage file and the Flux CRDs, extracting or generating them into the cache once.
func Assets(ctx context.Context, c build.Cache) (kwok string, crds []string, err error) {
	if kwok, err = kwokStages(ctx, c); err != nil {
		return "", nil, err
	}
	for _, f := range []func(context.Context, build.Cache) (string, error){sourceCRDs, kustomizeCRDs, helmReleaseCRD} {
		dir, err := f(ctx, c)
		if err != nil {
			return "", nil, err
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		sort.Strings(files)
		crds = append(crds, files...)
	}
	return kwok, crds, nil
}

// Modules lists the third-party modules by name, for `sandbox build NAME...`.
func Modules() []build.Module {
	return []build.Module{build.Etcd(), build.Kubernetes(), build.Kwok(), build.SourceController(), build.KustomizeController(), build.ControllerGen()}
}

// cachedDir returns cache/<name>, filling it with fill on first use. fill writes into a temporary
// directory that is renamed into place, so an interrupted fill is redone next time.
func cachedDir(c build.Cache, name string, fill func(dir string) error) (string, error) {
	final := filepath.Join(c.Dir, name)
	if _, err := os.Stat(final); err == nil {
		return final, nil
	}
	unlock, err := c.Lock(context.Background(), strings.ReplaceAll(name, "/", "_"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(final); err == nil {
		return final, nil
	}
	tmp := final + fmt.Sprintf(".tmp%d", os.Getpid())
	os.RemoveAll(tmp)
	if err := os.MkdirAll(filepath.Dir(tmp), 0o755); err != nil {
		return "", err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", err
	}
	if err := fill(tmp); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.Rename(tmp, final); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("moving %s into the cache: %w", name, err)
	}
	return final, nil
}

func copyFiles(dst string, srcs ...string) error {
	for _, s := range srcs {
		data, err := os.ReadFile(s)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dst, filepath.Base(s)), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func moduleCRDs(ctx context.Context, c build.Cache, m build.Module, path string) (string, error) {
	return cachedDir(c, filepath.Join("crds", m.Name+"-"+m.Version), func(dir string) error {
		src, err := c.ModuleDir(ctx, m, path)
		if err != nil {
			return err
		}
		files, err := filepath.Glob(filepath.Join(src, "config", "crd", "bases", "*.yaml"))
		if err != nil || len(files) == 0 {
			return fmt.Errorf("no CRDs under %s/config/crd/bases", src)
		}
		return copyFiles(dir, files...)
	})
}

func sourceCRDs(ctx context.Context, c build.Cache) (string, error) {
	return moduleCRDs(ctx, c, build.SourceController(), "github.com/fluxcd/source-controller")
}

func kustomizeCRDs(ctx context.Context, c build.Cache) (string, error) {
	return moduleCRDs(ctx, c, build.KustomizeController(), "github.com/fluxcd/kustomize-controller")
}

// helmReleaseCRD generates the HelmRelease CRD with controller-gen from the API types, the way
// helm-controller's own Makefile does, because no module the proxy serves ships the YAML.
func helmReleaseCRD(ctx context.Context, c build.Cache) (string, error) {
	api := build.HelmControllerAPI()
	cg := build.ControllerGen()
	return cachedDir(c, filepath.Join("crds", api.Name+"-"+api.Version), func(dir string) error {
		if _, err := c.Ensure(ctx, cg); err != nil {
			return err
		}
		if err := c.Prepare(ctx, api); err != nil {
			return err
		}
		cmd := exec.CommandContext(ctx, c.BinPath(cg, cg.Targets[0]), "crd:crdVersions=v1",
			"paths=github.com/fluxcd/helm-controller/api/v2", "output:crd:artifacts:config="+dir)
		cmd.Dir = c.SrcDir(api)
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "GOTOOLCHAIN=local")
		if out, err := cmd.CombinedOutput(); err != nil {
			return &build.Error{Module: "helm-controller/api " + api.Version, Step: "controller-gen crd", Tail: string(out), Err: err}
		}
		if _, err := os.Stat(filepath.Join(dir, "helm.toolkit.fluxcd.io_helmreleases.yaml")); err != nil {
			return fmt.Errorf("controller-gen wrote no HelmRelease CRD into %s: %w", dir, err)
		}
		return nil
	})
}

// kwokStages writes kwok's --config: the "fast" node and pod stages plus the lease heartbeat. Without the
// heartbeat kwok writes no node Lease and the node-lifecycle controller marks every pod NotReady about 50 s
// after start (see docs/sandbox.md).
func kwokStages(ctx context.Context, c build.Cache) (string, error) {
	m := build.Kwok()
	dir, err := cachedDir(c, "kwok-stages-"+m.Version, func(dir string) error {
		src, err := c.ModuleDir(ctx, m, "sigs.k8s.io/kwok")
		if err != nil {
			return err
		}
		var docs []string
		for _, f := range []string{
			"node/fast/node-initialize.yaml",
			"node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
			"pod/fast/pod-ready.yaml",
			"pod/fast/pod-complete.yaml",
			"pod/fast/pod-delete.yaml",
		} {
			data, err := os.ReadFile(filepath.Join(src, "kustomize", "stage", f))
			if err != nil {
				return fmt.Errorf("reading kwok's stage %s: %w", f, err)
			}
			docs = append(docs, strings.TrimPrefix(strings.TrimSpace(string(data)), "---\n"))
		}
		return os.WriteFile(filepath.Join(dir, "stages.yaml"), []byte(strings.Join(docs, "\n---\n")+"\n"), 0o644)
	})
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "stages.yaml"), nil
}

// buildLocal builds the project's HelmRelease reconciler, cached by a hash of its source tree so a warm
// `up` does not even link it.
func buildLocal(ctx context.Context, c build.Cache, src string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "go.mod") && !strings.HasSuffix(p, "go.sum") {
			return nil
		}
		rel, _ := filepath.Rel(src, p)
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		fmt.Fprintf(h, "%s\x00", rel)
		_, err = io.Copy(h, f)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("reading the HelmRelease reconciler's source in %s: %w", src, err)
	}
	out := filepath.Join(c.Dir, "bin", "helm-controller-local-"+hex.EncodeToString(h.Sum(nil))[:12])
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	unlock, err := c.Lock(ctx, filepath.Base(out))
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	fmt.Fprintf(c.Log, "building the HelmRelease reconciler from %s\n", src)
	tmp := out + fmt.Sprintf(".tmp%d", os.Getpid())
	if err := build.RunGo(ctx, "helm-controller ("+src+")", src, "build", "-o", tmp, "./cmd/helm-controller"); err != nil {
		os.Remove(tmp)
		return "", err
	}
	return out, os.Rename(tmp, out)
}
