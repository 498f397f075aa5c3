// Package render renders a Helm chart as `helm template` does (and as
// helm-controller does before it installs): the release name, the target
// namespace, the capabilities of the cluster when one is reachable or of a
// named default Kubernetes version otherwise, dependencies enabled by
// condition and tags, hooks included (tests excluded), NOTES.txt left out.
package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/releaseutil"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-gitops/kubectl-gitops/internal/helmvalues"
)

// DefaultKubeVersion is the Kubernetes version charts see
// (.Capabilities.KubeVersion) when no cluster is reachable: the version
// whose API schema is bundled for validation.
const DefaultKubeVersion = "v1.34.4"

// Options say how to render.
type Options struct {
	ReleaseName string
	Namespace   string
	// Capabilities of the target cluster; nil for DefaultCapabilities().
	Capabilities *chartutil.Capabilities
}

// Object is one rendered Kubernetes object.
type Object struct {
	// Template is the chart file it came from: sample-app/templates/deployment.yaml.
	Template   string
	APIVersion string
	Kind       string
	Name       string
	// Namespace is metadata.namespace, or "" (Helm puts namespaced objects
	// without one in the release namespace).
	Namespace string
	// Hook is the Helm hook annotation, "" for plain manifests.
	Hook string
	// Object is the decoded object (numbers as json.Number).
	Object map[string]any
	// YAML is the manifest as the chart rendered it.
	YAML string
}

// ID is "Kind namespace/name", the namespace defaulting to ns (the
// release namespace), or "Kind name" when both are empty.
func (o Object) ID(ns string) string {
	if o.Namespace != "" {
		ns = o.Namespace
	}
	if ns == "" {
		return o.Kind + " " + o.Name
	}
	return o.Kind + " " + ns + "/" + o.Name
}

// Key identifies the object across two renders: apiVersion's group, kind,
// namespace (defaulted to ns), name.
func (o Object) Key(ns string) string {
	group := o.APIVersion
	if i := strings.LastIndexByte(group, '/'); i >= 0 {
		group = group[:i]
	} else {
		group = ""
	}
	if o.Namespace != "" {
		ns = o.Namespace
	}
	return group + "|" + o.Kind + "|" + ns + "|" + o.Name
}

// DefaultCapabilities are Helm's capabilities with KubeVersion set to
// DefaultKubeVersion.
func DefaultCapabilities() *chartutil.Capabilities {
	caps := chartutil.DefaultCapabilities.Copy()
	kv, err := chartutil.ParseKubeVersion(DefaultKubeVersion)
	if err == nil {
		caps.KubeVersion = *kv
	}
	return caps
}

// ClusterCapabilities asks the cluster for its version and API versions, as
// Helm does when it installs.
func ClusterCapabilities(dc discovery.DiscoveryInterface) (*chartutil.Capabilities, error) {
	v, err := dc.ServerVersion()
	if err != nil {
		return nil, fmt.Errorf("asking the cluster for its version: %w", err)
	}
	return capabilitiesFor(v, dc)
}

func capabilitiesFor(v *version.Info, dc discovery.DiscoveryInterface) (*chartutil.Capabilities, error) {
	caps := chartutil.DefaultCapabilities.Copy()
	caps.KubeVersion = chartutil.KubeVersion{Version: v.GitVersion, Major: v.Major, Minor: v.Minor}
	if kv, err := chartutil.ParseKubeVersion(v.GitVersion); err != nil || kv.Major == "0" {
		// An API server built without version stamps (go build of
		// k8s.io/kubernetes, as the sandbox does) says v0.0.0-master; its
		// major and minor fields are still right.
		caps.KubeVersion.Version = fmt.Sprintf("v%s.%s.0", v.Major, strings.TrimSuffix(v.Minor, "+"))
	}
	_, resources, err := dc.ServerGroupsAndResources()
	if err != nil && len(resources) == 0 {
		return nil, fmt.Errorf("listing the cluster's API versions: %w", err)
	}
	var vs []string
	for _, r := range resources {
		vs = append(vs, r.GroupVersion)
		for _, res := range r.APIResources {
			vs = append(vs, r.GroupVersion+"/"+res.Kind)
		}
	}
	sort.Strings(vs)
	caps.APIVersions = vs
	return caps, nil
}

// Render renders ch with values (the user-supplied values, before the
// chart's defaults are coalesced in). The chart is not modified.
func Render(ch *chart.Chart, values map[string]any, o Options) ([]Object, error) {
	caps := o.Capabilities
	if caps == nil {
		caps = DefaultCapabilities()
	}
	vals := chartutil.Values(helmvalues.Copy(values))
	// Dependencies are enabled and their values imported on a copy: the
	// same chart renders the values before and after a change.
	ch = copyChart(ch)
	if err := chartutil.ProcessDependenciesWithMerge(ch, vals); err != nil {
		return nil, fmt.Errorf("processing the chart's dependencies: %w", err)
	}
	top, err := chartutil.ToRenderValuesWithSchemaValidation(ch, vals, chartutil.ReleaseOptions{
		Name: o.ReleaseName, Namespace: o.Namespace, Revision: 1, IsInstall: true,
	}, caps, true)
	if err != nil {
		return nil, err
	}
	files, err := engine.Render(ch, top)
	if err != nil {
		return nil, err
	}
	for name := range files {
		if strings.HasSuffix(name, "NOTES.txt") {
			delete(files, name)
		}
	}
	hooks, manifests, err := releaseutil.SortManifests(files, caps.APIVersions, releaseutil.InstallOrder)
	if err != nil {
		return nil, fmt.Errorf("splitting the rendered manifests: %w", err)
	}
	var out []Object
	for _, m := range manifests {
		objs, err := decode(m.Name, m.Content, "")
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	for _, h := range hooks {
		if isTestHook(h) {
			continue
		}
		events := make([]string, len(h.Events))
		for i, e := range h.Events {
			events[i] = string(e)
		}
		objs, err := decode(h.Path, h.Manifest, strings.Join(events, ","))
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	return out, nil
}

func isTestHook(h *release.Hook) bool {
	for _, e := range h.Events {
		if e == release.HookTest {
			return true
		}
	}
	return false
}

func decode(template, content, hook string) ([]Object, error) {
	j, err := yaml.YAMLToJSON([]byte(content))
	if err != nil {
		return nil, fmt.Errorf("%s: the rendered YAML does not parse: %w", template, err)
	}
	if bytes.Equal(bytes.TrimSpace(j), []byte("null")) {
		return nil, nil
	}
	d := json.NewDecoder(bytes.NewReader(j))
	d.UseNumber()
	var obj map[string]any
	if err := d.Decode(&obj); err != nil {
		return nil, fmt.Errorf("%s: the rendered document is not an object: %w", template, err)
	}
	if kind, _ := obj["kind"].(string); strings.HasSuffix(kind, "List") {
		if items, ok := obj["items"].([]any); ok {
			var out []Object
			for _, it := range items {
				if m, ok := it.(map[string]any); ok {
					out = append(out, newObject(template, hook, m, ""))
				}
			}
			return out, nil
		}
	}
	return []Object{newObject(template, hook, obj, content)}, nil
}

func newObject(template, hook string, obj map[string]any, text string) Object {
	o := Object{Template: template, Hook: hook, Object: obj, YAML: text}
	o.APIVersion, _ = obj["apiVersion"].(string)
	o.Kind, _ = obj["kind"].(string)
	if md, ok := obj["metadata"].(map[string]any); ok {
		o.Name, _ = md["name"].(string)
		o.Namespace, _ = md["namespace"].(string)
	}
	if o.YAML == "" {
		if b, err := yaml.Marshal(obj); err == nil {
			o.YAML = string(b)
		}
	}
	return o
}

// copyChart copies what ProcessDependencies changes (the dependency list and
// the values of each chart), recursively.
func copyChart(c *chart.Chart) *chart.Chart {
	cp := *c
	cp.Values = helmvalues.Copy(c.Values)
	deps := c.Dependencies()
	copied := make([]*chart.Chart, len(deps))
	for i, d := range deps {
		copied[i] = copyChart(d)
	}
	cp.SetDependencies(copied...)
	return &cp
}
