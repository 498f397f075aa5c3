// Package releasecheck answers "what would this change to a HelmRelease do,
// and would the cluster accept it?" before anything is written: it resolves
// the chart as Flux would (internal/chartsource), composes the values as
// helm-controller does (valuesFrom, then spec.values), renders the chart
// with the values before and after (internal/render), and validates both
// (internal/validate). Problems found only after the change are the
// change's; problems found before too are reported as already there.
package releasecheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/strvals"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"

	"github.com/kubectl-gitops/kubectl-gitops/internal/chartsource"
	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
	"github.com/kubectl-gitops/kubectl-gitops/internal/validate"
)

// Cluster is what a reachable cluster offers the check.
type Cluster struct {
	Discovery discovery.DiscoveryInterface
	// Kube reads valuesFrom ConfigMaps and Secrets; nil leaves them out.
	Kube kubernetes.Interface
}

// Checker checks HelmRelease changes. Cluster nil means offline: the
// bundled schema and the default Kubernetes version are used, and
// valuesFrom references are left out (and named in the warnings).
type Checker struct {
	Resolver *chartsource.Resolver
	// BeforeResolver resolves the chart of the release before the change
	// when the change moves the chart (promote); nil for Resolver.
	BeforeResolver *chartsource.Resolver
	Cluster        *Cluster
	// Offline says why there is no cluster, for the report ("" when there is one).
	Offline string
}

// Kind of a Finding.
const (
	KindValues = "values" // values.schema.json
	KindRender = "render" // the chart failed to render
	KindObject = "object" // a rendered object the API server would refuse
)

// Finding is one problem.
type Finding struct {
	Kind string `json:"kind"`
	// Object is "Deployment ns/name" for KindObject.
	Object   string `json:"object,omitempty"`
	Template string `json:"template,omitempty"`
	// Field is the object field (KindObject) or the values path (KindValues).
	Field   string `json:"field,omitempty"`
	Value   any    `json:"value,omitempty"`
	Message string `json:"message"`
}

func (f Finding) key() string {
	return fmt.Sprintf("%s|%s|%s|%v|%s", f.Kind, f.Object, f.Field, f.Value, f.Message)
}

// Side is one render: the values and what came of them.
type Side struct {
	Values   map[string]any  `json:"-"`
	Objects  []render.Object `json:"-"`
	Findings []Finding       `json:"findings,omitempty"`
}

// Report is the outcome of a check.
type Report struct {
	Release     string `json:"release"`
	Chart       string `json:"chart"`
	Revision    string `json:"revision,omitempty"`
	Schema      string `json:"schema"`
	KubeVersion string `json:"kubeVersion"`
	// New are the problems the change brings; Existing those already there.
	New      []Finding `json:"new,omitempty"`
	Existing []Finding `json:"existing,omitempty"`
	// NotChecked lists kinds rendered that no schema was found for.
	NotChecked []string `json:"notChecked,omitempty"`
	Warnings   []string `json:"warnings,omitempty"`
	Namespace  string   `json:"-"`
	Before     *Side    `json:"-"`
	After      *Side    `json:"-"`
	// secrets are the string values that came from Secrets: never printed.
	secrets map[string]bool
}

// DisplayName is namespace/name for people: <no namespace>/name when the
// manifest sets none (and no kustomization gives one), never "/name".
func DisplayName(namespace, name string) string {
	if namespace == "" {
		namespace = "<no namespace>"
	}
	return namespace + "/" + name
}

// Valid reports whether the change brings no new problem.
func (r *Report) Valid() bool { return len(r.New) == 0 }

// Check renders and validates hr before and after a change (before may be
// nil for a new HelmRelease). It returns *chartsource.UnresolvableError when
// the chart cannot be resolved; callers treat that as a warning.
func (c *Checker) Check(ctx context.Context, before, after *helmv2.HelmRelease) (*Report, error) {
	ch, err := c.Resolver.Resolve(ctx, after)
	if err != nil {
		return nil, err
	}
	beforeChart := ch
	if c.BeforeResolver != nil && before != nil {
		if beforeChart, err = c.BeforeResolver.Resolve(ctx, before); err != nil {
			return nil, err
		}
	}
	rep := &Report{
		Release:   DisplayName(after.Namespace, after.Name),
		Chart:     ch.From,
		Revision:  ch.Revision,
		Namespace: after.GetReleaseNamespace(),
		secrets:   map[string]bool{},
	}
	caps := render.DefaultCapabilities()
	if c.Cluster != nil {
		if cc, err := render.ClusterCapabilities(c.Cluster.Discovery); err == nil {
			caps = cc
		} else {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("rendering for Kubernetes %s: %v", caps.KubeVersion.Version, err))
		}
	}
	rep.KubeVersion = caps.KubeVersion.Version
	rep.Warnings = append(rep.Warnings, missingDependencies(ch.Chart)...)
	opts := render.Options{ReleaseName: after.GetReleaseName(), Namespace: after.GetReleaseNamespace(), Capabilities: caps}

	sides := []*Side{}
	for i, hr := range []*helmv2.HelmRelease{before, after} {
		if hr == nil {
			sides = append(sides, nil)
			continue
		}
		ch := ch
		if i == 0 {
			ch = beforeChart
		}
		s := &Side{}
		s.Values, err = c.values(ctx, hr, rep)
		if err != nil {
			return nil, err
		}
		probs, err := validate.Values(ch.Chart, s.Values)
		if err != nil {
			return nil, err
		}
		for _, p := range probs {
			s.Findings = append(s.Findings, Finding{Kind: KindValues, Field: p.Field, Message: p.Message})
		}
		s.Objects, err = render.Render(ch.Chart, s.Values, opts)
		if err != nil {
			s.Findings = append(s.Findings, Finding{Kind: KindRender, Message: err.Error()})
		}
		sides = append(sides, s)
	}
	rep.Before, rep.After = sides[0], sides[1]

	schemas, err := c.schemas(rep)
	if err != nil {
		return nil, err
	}
	rep.Schema = schemas.Source
	notChecked := map[string]bool{}
	for _, s := range sides {
		if s == nil {
			continue
		}
		for _, o := range s.Objects {
			probs, err := schemas.Object(o.Object)
			var ns *validate.ErrNoSchema
			if errors.As(err, &ns) {
				notChecked[o.APIVersion+" "+o.Kind] = true
				continue
			}
			for _, p := range probs {
				s.Findings = append(s.Findings, Finding{Kind: KindObject, Object: o.ID(rep.Namespace), Template: o.Template, Field: p.Field, Value: p.Value, Message: p.Message})
			}
		}
	}
	for k := range notChecked {
		rep.NotChecked = append(rep.NotChecked, k)
	}
	sort.Strings(rep.NotChecked)

	had := map[string]bool{}
	if rep.Before != nil {
		for _, f := range rep.Before.Findings {
			had[f.key()] = true
		}
	}
	for _, f := range rep.After.Findings {
		f = rep.redact(f)
		if had[f.key()] {
			rep.Existing = append(rep.Existing, f)
		} else {
			rep.New = append(rep.New, f)
		}
	}
	return rep, nil
}

// schemas are the cluster's for the group-versions rendered, else the
// bundled ones.
func (c *Checker) schemas(rep *Report) (*validate.Schemas, error) {
	if c.Cluster != nil {
		seen := map[schema.GroupVersion]bool{}
		var gvs []schema.GroupVersion
		for _, s := range []*Side{rep.Before, rep.After} {
			if s == nil {
				continue
			}
			for _, o := range s.Objects {
				gv, err := schema.ParseGroupVersion(o.APIVersion)
				if err == nil && !seen[gv] {
					seen[gv] = true
					gvs = append(gvs, gv)
				}
			}
		}
		s, err := validate.FromCluster(c.Cluster.Discovery.OpenAPIV3(), gvs)
		if err == nil {
			return s, nil
		}
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("using the bundled schema: %v", err))
	}
	return validate.Bundled()
}

// values composes the values helm-controller passes to Helm: each
// valuesFrom in order (merged, or set at its targetPath), then spec.values
// merged over them.
func (c *Checker) values(ctx context.Context, hr *helmv2.HelmRelease, rep *Report) (map[string]any, error) {
	result := map[string]any{}
	var leftOut []string
	for _, ref := range hr.Spec.ValuesFrom {
		key := ref.ValuesKey
		if key == "" {
			key = "values.yaml"
		}
		id := fmt.Sprintf("%s %s/%s key %s", ref.Kind, hr.Namespace, ref.Name, key)
		if c.Cluster == nil || c.Cluster.Kube == nil {
			leftOut = append(leftOut, id)
			continue
		}
		data, found, err := c.readRef(ctx, hr.Namespace, ref.Kind, ref.Name, key)
		if err != nil {
			if ref.Optional {
				continue
			}
			leftOut = append(leftOut, fmt.Sprintf("%s (%v)", id, err))
			continue
		}
		if !found {
			if !ref.Optional {
				leftOut = append(leftOut, id+" (not found)")
			}
			continue
		}
		if ref.TargetPath != "" {
			if ref.Kind == "Secret" {
				rep.secrets[string(data)] = true
			}
			if err := strvals.ParseIntoString(ref.TargetPath+"="+string(data), result); err != nil {
				return nil, fmt.Errorf("valuesFrom %s targetPath %s: %w", id, ref.TargetPath, err)
			}
			continue
		}
		vals, err := chartutil.ReadValues(data)
		if err != nil {
			return nil, fmt.Errorf("valuesFrom %s is not YAML: %w", id, err)
		}
		if ref.Kind == "Secret" {
			collectStrings(vals, rep.secrets)
		}
		result = chartsource.MergeMaps(result, vals)
	}
	if len(leftOut) > 0 {
		why := c.Offline
		if why == "" {
			why = "could not be read"
		}
		w := fmt.Sprintf("valuesFrom left out of the render (%s): %s", why, strings.Join(leftOut, ", "))
		if !contains(rep.Warnings, w) {
			rep.Warnings = append(rep.Warnings, w)
		}
	}
	result = chartsource.MergeMaps(result, hr.GetValues())
	return normalize(result), nil
}

func (c *Checker) readRef(ctx context.Context, ns, kind, name, key string) ([]byte, bool, error) {
	switch kind {
	case "ConfigMap":
		cm, err := c.Cluster.Kube.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		v, ok := cm.Data[key]
		return []byte(v), ok, nil
	case "Secret":
		s, err := c.Cluster.Kube.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		v, ok := s.Data[key]
		return v, ok, nil
	}
	return nil, false, fmt.Errorf("unknown valuesFrom kind %q", kind)
}

func collectStrings(v any, into map[string]bool) {
	switch t := v.(type) {
	case map[string]any:
		for _, x := range t {
			collectStrings(x, into)
		}
	case []any:
		for _, x := range t {
			collectStrings(x, into)
		}
	case string:
		if t != "" {
			into[t] = true
		}
	default:
		if t != nil {
			into[fmt.Sprint(t)] = true
		}
	}
}

// normalize makes values look as Helm reads them from YAML (numbers as
// int64/float64, maps as map[string]any), whatever decoded them.
func normalize(m map[string]any) map[string]any {
	b, err := json.Marshal(m)
	if err != nil {
		return m
	}
	v, err := chartutil.ReadValues(b)
	if err != nil {
		return m
	}
	return v
}

// redact hides values that came from Secrets.
func (r *Report) redact(f Finding) Finding {
	if f.Value != nil && r.secrets[fmt.Sprint(f.Value)] {
		f.Value = "<redacted>"
	}
	return f
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// missingDependencies names the dependencies Chart.yaml lists that are not
// vendored in charts/: Helm renders without them.
func missingDependencies(ch *chart.Chart) []string {
	have := map[string]bool{}
	for _, d := range ch.Dependencies() {
		have[d.Name()] = true
	}
	var out []string
	for _, d := range ch.Metadata.Dependencies {
		if !have[d.Name] {
			out = append(out, fmt.Sprintf("chart dependency %s %s (%s) is not vendored in the chart's charts/ directory: its objects are not rendered", d.Name, d.Version, d.Repository))
		}
	}
	return out
}
