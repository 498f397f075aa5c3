package releasecheck

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kubectl-gitops/kubectl-gitops/internal/chartsource"
	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxmodel"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/term"
	"github.com/kubectl-gitops/kubectl-gitops/internal/textdiff"
)

// Diff formats for --diff.
const (
	DiffValues   = "values"
	DiffRendered = "rendered"
)

// Flags are the values of the flags override and promote share
// (--validate, --diff, --chart-dir): a plain config, bound to the flags in
// plugins/command.
type Flags struct {
	Validate bool
	Diff     string
	ChartDir string
}

// CheckFlags validates the flag values; it touches nothing.
func (f *Flags) CheckFlags() error {
	switch f.Diff {
	case "", DiffValues, DiffRendered:
	default:
		return fmt.Errorf("unknown --diff %q: use --diff=values or --diff=rendered", f.Diff)
	}
	if f.Diff == DiffRendered && !f.Validate {
		return errors.New("--diff=rendered needs the chart rendered: drop --validate=false")
	}
	return nil
}

// Env is what a command gives the gate.
type Env struct {
	Out, ErrOut io.Writer
	Getenv      func(string) string
	// RESTConfig returns the cluster's config; nil or an error means offline.
	RESTConfig func() (*rest.Config, error)
	Repo       *gitrepo.Repo
	// Timeout bounds the probe of the cluster (5s when 0).
	Timeout time.Duration
	// Files are checkout files as the command is about to write them
	// (repo-relative path -> content): the chart after the change is
	// resolved from these, the chart before from the work tree.
	Files map[string][]byte
	// Objects, when set, looks the chart source objects up in a model of
	// what the clusters apply (ModelObjects, ClusterObjects); unset, they
	// are looked up in the model of Repo (chartsource.Resolver).
	Objects func(kind, namespace, name string) (map[string]any, string, bool)
	// BeforeObjects, when set, is Objects for the chart before the change
	// (the source as the work tree has it, where Objects has it as Files
	// will); unset, Objects serves both.
	BeforeObjects func(kind, namespace, name string) (map[string]any, string, bool)
	// Model is the model of Repo when the command has built it: without
	// Objects, sources are looked up there (chartsource.Resolver.Model).
	Model *fluxmodel.Model
}

// Connect probes the cluster: a Cluster and a dynamic client when it
// answers, else nil and the reason, for messages. The probe stops when ctx
// is cancelled (the caller then looks at ctx, not at the reason).
func Connect(ctx context.Context, env Env) (*Cluster, dynamic.Interface, string) {
	if env.RESTConfig == nil {
		return nil, nil, "no cluster configured"
	}
	cfg, err := env.RESTConfig()
	if err != nil {
		return nil, nil, fmt.Sprintf("no cluster: %v", err)
	}
	cfg = rest.CopyConfig(cfg)
	cfg.Timeout = env.Timeout
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Sprintf("no cluster: %v", err)
	}
	// dc.ServerVersion, with ctx: it uses context.TODO().
	body, err := dc.RESTClient().Get().AbsPath("/version").Do(ctx).Raw()
	if err == nil {
		err = json.Unmarshal(body, &version.Info{})
	}
	if err != nil {
		return nil, nil, fmt.Sprintf("cluster not reachable: %v", err)
	}
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, err.Error()
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, nil, err.Error()
	}
	return &Cluster{Discovery: dc, Kube: kc}, dyn, ""
}

// Gate checks the change of HelmRelease document doc from before to after
// (file contents; before nil for a new file) when f.Validate is set. It
// prints warnings and notes to env.ErrOut and the --diff=rendered diff to
// env.Out, and returns an error carrying exit code 4 (Failed), that names
// each problem and the change behind it, when the change does not
// validate. A chart it cannot resolve is a warning, not an error: the
// returned report is then nil.
func (f *Flags) Gate(ctx context.Context, env Env, doc manifest.Doc, before, after []byte, changes []Change) (*Report, error) {
	if !f.Validate {
		return nil, nil
	}
	b, a, err := Compose(ctx, env.Repo, doc, before, after)
	if err == nil {
		return f.GateRelease(ctx, env, b, a, changes)
	}
	return nil, unresolved(ctx, env, err)
}

// GateRelease is Gate for HelmReleases already composed.
func (f *Flags) GateRelease(ctx context.Context, env Env, before, after *helmv2.HelmRelease, changes []Change) (*Report, error) {
	if !f.Validate {
		return nil, nil
	}
	cl, dyn, offline := Connect(ctx, env)
	if ctx.Err() != nil {
		return nil, fmt.Errorf("probing the cluster: %w", context.Cause(ctx))
	}
	c := &Checker{
		Resolver: &chartsource.Resolver{Repo: env.Repo, Objects: env.Objects, Model: env.Model, ChartDir: f.ChartDir, Cluster: dyn, Files: env.Files, Getenv: env.Getenv},
		Cluster:  cl,
		Offline:  offline,
	}
	if env.Files != nil {
		before := env.Objects
		if env.BeforeObjects != nil {
			before = env.BeforeObjects
		}
		c.BeforeResolver = &chartsource.Resolver{Repo: env.Repo, Objects: before, Model: env.Model, ChartDir: f.ChartDir, Cluster: dyn, Getenv: env.Getenv}
	}
	rep, err := c.Check(ctx, before, after)
	if err != nil {
		return nil, unresolved(ctx, env, err)
	}
	for _, n := range rep.Notes() {
		fmt.Fprintf(env.ErrOut, "note: %s\n", n)
	}
	if f.Diff == DiffRendered {
		color := term.Color(env.Out, env.Getenv)
		var buf bytes.Buffer
		changed, err := rep.WriteDiff(&buf, color)
		if err != nil {
			return rep, err
		}
		if !changed {
			fmt.Fprintf(&buf, "HelmRelease %s: the rendered manifests do not change\n", rep.Release)
		}
		if _, err := env.Out.Write(buf.Bytes()); err != nil {
			return rep, err
		}
	}
	if !rep.Valid() {
		var b strings.Builder
		rep.Explain(&b, changes)
		b.WriteString("nothing was written: fix the values, or pass --validate=false to write them anyway")
		return rep, &InvalidError{Explanation: b.String()}
	}
	objs := len(rep.After.Objects)
	fmt.Fprintf(env.ErrOut, "validated HelmRelease %s: %d rendered object(s) of %s checked against %s\n", rep.Release, objs, rep.Chart, rep.Schema)
	return rep, nil
}

// InvalidError is a change whose chart does not render or validate with
// the new values: nothing was written (exit 4, failed).
type InvalidError struct {
	// Explanation names each problem and the change behind it.
	Explanation string
}

func (e *InvalidError) Error() string { return e.Explanation }

// ExitCode is 4: what was checked has failed.
func (e *InvalidError) ExitCode() int { return int(exitcode.Failed) }

func unresolved(ctx context.Context, env Env, err error) error {
	var ue *chartsource.UnresolvableError
	// Cancelled, the look-up was stopped, not refused: no warning, and the
	// command stops.
	if errors.As(err, &ue) && ctx.Err() == nil {
		fmt.Fprintf(env.ErrOut, "warning: not validated: %v\n", err)
		return nil
	}
	return err
}

// ValuesDiff prints the file diff for --diff=values (the caller decides
// when: a dry run prints it anyway).
func ValuesDiff(env Env, path string, before, after []byte) error {
	_, err := textdiff.Unified(env.Out, path, before, after, textdiff.Options{Color: term.Color(env.Out, env.Getenv)})
	return err
}
