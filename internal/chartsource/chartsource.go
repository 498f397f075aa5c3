// Package chartsource resolves the chart a HelmRelease uses the way Flux's
// source-controller would: the source object it names (found in the GitOps
// checkout, else read from the cluster), fetched at the revision its ref
// selects, the chart at its path, and the chart's values replaced by the
// HelmRelease's valuesFiles.
//
// Git sources are fetched with the user's own git (so their credential
// helpers, SSH keys and insteadOf rules apply) into a cache keyed by URL
// under ${XDG_CACHE_HOME:-~/.cache}/kubectl-gitops/charts; the files of a
// commit, which never change, are extracted once per commit and path.
package chartsource

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/kubectl-gitops/kubectl-gitops/internal/cachedir"
	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxmodel"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
)

const sourceGroup = "source.toolkit.fluxcd.io"

// Kinds of chart source.
const (
	KindGitRepository  = "GitRepository"
	KindHelmRepository = "HelmRepository"
	KindOCIRepository  = "OCIRepository"
	KindBucket         = "Bucket"
	KindHelmChart      = "HelmChart"
)

// Resolver resolves charts. The zero value resolves Git sources found in
// no checkout and never asks a cluster; set what is available.
type Resolver struct {
	// Repo is the GitOps checkout the source objects are looked up in.
	Repo *gitrepo.Repo
	// Objects, when set, looks source objects up in a model of what the
	// clusters apply (fluxmodel); where says which file (and line) holds
	// the object. Unset, they are looked up in the model of Repo: the
	// objects its clusters apply, else those written in files no cluster
	// applies (chart sources applied by hand), named as such.
	Objects func(kind, namespace, name string) (obj map[string]any, where string, ok bool)
	// Model, when Objects is unset, is the model of Repo already built
	// (fluxmodel.LoadEntries otherwise builds it on the first look-up).
	Model *fluxmodel.Model
	// ChartDir is a local checkout of the chart's source (--chart-dir): the
	// chart is read from there instead of fetching the source.
	ChartDir string
	// CacheDir holds fetched sources; "" for CacheRoot(Getenv).
	CacheDir string
	// Getenv reads the environment (XDG_CACHE_HOME, HOME) for CacheRoot.
	Getenv func(string) string
	// Cluster, when set, is asked for source objects the checkout lacks.
	Cluster dynamic.Interface
	// GitEnv is added to git's environment (tests).
	GitEnv []string
	// Files replace the work-tree content of checkout files (repo-relative
	// paths): how a command asks about the checkout as it is about to
	// write it.
	Files map[string][]byte

	// Lookups remembers each source look-up of the run, failures
	// included, and bounds each one; nil makes one on first use. Share
	// one between Resolvers to look each source up once per run.
	Lookups *Lookups

	mu    sync.Mutex
	model *checkoutModel
}

// Chart is a resolved chart.
type Chart struct {
	Chart *chart.Chart
	// From says where it came from, for people: "GitRepository
	// flux-system/app (http://.../app.git, branch main@sha1:0123abcd)".
	From string
	// Revision is the source revision in Flux's form (main@sha1:<sha>,
	// v1.2.3@sha256:..., 1.2.3).
	Revision string
}

// UnresolvableError says why a chart could not be resolved: callers that
// treat validation as best-effort turn it into a warning.
type UnresolvableError struct {
	Reason string
	Err    error
}

func (e *UnresolvableError) Error() string {
	if e.Err == nil {
		return e.Reason
	}
	return e.Reason + ": " + e.Err.Error()
}

func (e *UnresolvableError) Unwrap() error { return e.Err }

func unresolvable(err error, format string, args ...any) error {
	return &UnresolvableError{Reason: fmt.Sprintf(format, args...), Err: err}
}

// CacheRoot is ${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-gitops/charts, the
// variables read with getenv (USERPROFILE is the home on Windows).
func CacheRoot(getenv func(string) string) (string, error) {
	root, err := cachedir.Root(getenv)
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "charts"), nil
}

func (r *Resolver) cacheDir() (string, error) {
	if r.CacheDir != "" {
		return r.CacheDir, nil
	}
	return CacheRoot(r.Getenv)
}

// Resolve returns the chart hr uses, with its values replaced by the merged
// spec.chart.spec.valuesFiles when those are set.
func (r *Resolver) Resolve(ctx context.Context, hr *helmv2.HelmRelease) (*Chart, error) {
	if cr := hr.Spec.ChartRef; cr != nil {
		if r.ChartDir != "" {
			return r.fromDir(helmv2.HelmChartTemplateSpec{})
		}
		ns := cr.Namespace
		if ns == "" {
			ns = hr.Namespace
		}
		return r.resolveChartRef(ctx, cr.Kind, cr.Name, ns)
	}
	if hr.Spec.Chart == nil {
		return nil, unresolvable(nil, "HelmRelease %s has neither spec.chart nor spec.chartRef", hr.Name)
	}
	spec := hr.Spec.Chart.Spec
	ref := spec.SourceRef
	ns := ref.Namespace
	if ns == "" {
		ns = hr.Namespace
	}
	switch ref.Kind {
	case KindGitRepository, KindHelmRepository:
	default:
		return nil, unresolvable(nil, "charts from a %s are not resolved yet (only GitRepository and HelmRepository)", ref.Kind)
	}
	if r.ChartDir != "" {
		return r.fromDir(spec)
	}
	if ref.Kind == KindHelmRepository {
		var hrepo sourcev1.HelmRepository
		where, err := r.sourceObject(ctx, ref.Kind, ref.Name, ns, &hrepo)
		if err != nil {
			return nil, err
		}
		if hrepo.Namespace == "" {
			hrepo.Namespace = ns
		}
		if hrepo.Spec.Type == sourcev1.HelmRepositoryTypeOCI {
			ch, err := r.fromOCIHelmRepo(ctx, &hrepo, where, spec.Chart, spec.Version)
			if err != nil {
				return nil, err
			}
			return ch, applyValuesFiles(ch.Chart, spec, rawReader(ch))
		}
		return r.fromHelmRepo(ctx, &hrepo, where, spec)
	}
	var gr sourcev1.GitRepository
	where, err := r.sourceObject(ctx, ref.Kind, ref.Name, ns, &gr)
	if err != nil {
		return nil, err
	}
	if gr.Namespace == "" {
		gr.Namespace = ns
	}
	return r.fromGit(ctx, &gr, where, spec)
}

// sourceObject finds the source object in the model of the checkout
// (Objects, else the model of Repo), else in the cluster, and decodes it into out. It returns where it was found.
func (r *Resolver) sourceObject(ctx context.Context, kind, name, ns string, out any) (string, error) {
	id := fmt.Sprintf("%s %s/%s", kind, orAny(ns), name)
	var checkoutErr error
	if r.Objects != nil {
		if obj, where, ok := r.Objects(kind, ns, name); ok {
			if err := decodeInto(obj, out); err != nil {
				return "", unresolvable(err, "decoding %s in %s", id, where)
			}
			return where, nil
		}
		checkoutErr = fmt.Errorf("%s is not applied by any cluster of the repository", id)
	} else if r.Repo != nil {
		obj, where, err := r.fromModel(ctx, kind, name, ns)
		if err == nil {
			if err := decodeInto(obj, out); err != nil {
				return "", unresolvable(err, "decoding %s in %s", id, where)
			}
			return where, nil
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		checkoutErr = err
	}
	if r.Cluster != nil && ns != "" {
		gvr := schema.GroupVersionResource{Group: sourceGroup, Version: "v1", Resource: strings.ToLower(kind) + "s"}
		u, err := r.Cluster.Resource(gvr).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			if err := runtimeFromUnstructured(u, out); err != nil {
				return "", unresolvable(err, "decoding %s from the cluster", id)
			}
			return "the cluster", nil
		}
		return "", unresolvable(errors.Join(checkoutErr, err), "%s is neither in the checkout nor readable in the cluster", id)
	}
	if checkoutErr == nil {
		checkoutErr = errors.New("no checkout to look in")
	}
	return "", unresolvable(checkoutErr, "%s is not in the checkout (and no cluster was asked)", id)
}

func orAny(ns string) string {
	if ns == "" {
		return "<any namespace>"
	}
	return ns
}

func decodeInto(v any, out any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

func runtimeFromUnstructured(u *unstructured.Unstructured, out any) error {
	return decodeInto(u.Object, out)
}

// fromDir loads the chart from --chart-dir: the chart's own directory, or a
// checkout of its source repository that has the chart at its path.
func (r *Resolver) fromDir(spec helmv2.HelmChartTemplateSpec) (*Chart, error) {
	root := r.ChartDir
	dir := filepath.Join(root, filepath.FromSlash(cleanPath(spec.Chart)))
	if _, err := os.Stat(filepath.Join(dir, "Chart.yaml")); err != nil {
		if _, err2 := os.Stat(filepath.Join(root, "Chart.yaml")); err2 != nil {
			return nil, unresolvable(nil, "--chart-dir %s has no Chart.yaml, nor %s/Chart.yaml", root, spec.Chart)
		}
		dir = root
	}
	ch, err := loader.LoadDir(dir)
	if err != nil {
		return nil, unresolvable(err, "loading the chart in %s", dir)
	}
	read := func(p string) ([]byte, bool, error) {
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(cleanPath(p))))
		if errors.Is(err, os.ErrNotExist) {
			return nil, false, nil
		}
		return b, err == nil, err
	}
	if err := applyValuesFiles(ch, spec, read); err != nil {
		return nil, err
	}
	return &Chart{Chart: ch, From: "--chart-dir " + dir, Revision: ch.Metadata.Version}, nil
}

// applyValuesFiles replaces the chart's values with the valuesFiles merged
// in order, as source-controller does when it packages the chart.
func applyValuesFiles(ch *chart.Chart, spec helmv2.HelmChartTemplateSpec, read func(string) ([]byte, bool, error)) error {
	if len(spec.ValuesFiles) == 0 {
		return nil
	}
	merged := map[string]any{}
	for _, f := range spec.ValuesFiles {
		b, ok, err := read(f)
		if err != nil {
			return unresolvable(err, "reading valuesFiles %s", f)
		}
		if !ok {
			if spec.IgnoreMissingValuesFiles {
				continue
			}
			return unresolvable(nil, "valuesFiles %s does not exist in the source (set ignoreMissingValuesFiles to allow that)", f)
		}
		vals, err := chartutil.ReadValues(b)
		if err != nil {
			return unresolvable(err, "valuesFiles %s is not valid YAML", f)
		}
		merged = MergeMaps(merged, vals)
	}
	ch.Values = merged
	return nil
}

// MergeMaps deep-merges b over a (maps merge, anything else in b wins), as
// Flux merges values; a is not modified.
func MergeMaps(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if bm, ok := v.(map[string]any); ok {
			if am, ok := out[k].(map[string]any); ok {
				out[k] = MergeMaps(am, bm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// cleanPath turns "./charts/app" into "charts/app".
func cleanPath(p string) string {
	p = path.Clean("/" + strings.TrimSpace(p))
	return strings.TrimPrefix(p, "/")
}

func cacheKey(url string) string {
	sum := sha256.Sum256([]byte(gitrepo.NormalizeURL(url)))
	return hex.EncodeToString(sum[:])[:20]
}
