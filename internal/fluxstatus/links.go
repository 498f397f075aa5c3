package fluxstatus

import (
	"sort"
	"strings"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"k8s.io/apimachinery/pkg/types"
)

// link is how one HelmRelease depends on one of the traced sources.
type link struct {
	hrKey  types.NamespacedName
	hr     *helmv2.HelmRelease
	srcKey types.NamespacedName
	source *sourcev1.GitRepository
	// viaChart: the chart is built from the source; chart is its HelmChart
	// (nil when not created yet or not readable).
	viaChart  bool
	chartKey  types.NamespacedName
	chart     *sourcev1.HelmChart
	chartPath string
	// kustomization applies the HelmRelease from the source.
	kustomization *kustomizev1.Kustomization
	// manual: the commit changed the HelmRelease's manifest but no
	// Kustomization applies it (applied by hand).
	manual bool
}

func (l *link) via() []string {
	var v []string
	if l.viaChart {
		v = append(v, "chart")
	}
	if l.kustomization != nil {
		v = append(v, "kustomization")
	}
	if l.manual {
		v = append(v, "manual")
	}
	return v
}

// manualOnly: nothing from the sources reaches the release but the commit
// changed its manifest (applied by hand).
func (l *link) manualOnly() bool { return l.manual && !l.viaChart && l.kustomization == nil }

func sameSource(kind, name, ns, defaultNS string, src types.NamespacedName) bool {
	if ns == "" {
		ns = defaultNS
	}
	return kind == KindGitRepository && name == src.Name && ns == src.Namespace
}

// HelmReleaseInventoryID is how a Kustomization's inventory names a HelmRelease.
func helmReleaseInventoryID(key types.NamespacedName) string {
	return key.Namespace + "_" + key.Name + "_" + helmv2.GroupVersion.Group + "_" + KindHelmRelease
}

// links finds every HelmRelease downstream of sources. commit may be nil
// (then hand-applied manifests are not considered).
func links(c *Cluster, sources []types.NamespacedName, commit *Commit) []*link {
	byHR := map[types.NamespacedName]*link{}
	get := func(hr *helmv2.HelmRelease, src types.NamespacedName) *link {
		k := types.NamespacedName{Namespace: hr.Namespace, Name: hr.Name}
		if l, ok := byHR[k]; ok {
			return l
		}
		l := &link{hrKey: k, hr: hr, srcKey: src, source: c.gitRepository(src)}
		byHR[k] = l
		return l
	}
	for _, src := range sources {
		for i := range c.HelmReleases {
			hr := &c.HelmReleases[i]
			var chartPath string
			linked := false
			if ch := hr.Spec.Chart; ch != nil && sameSource(ch.Spec.SourceRef.Kind, ch.Spec.SourceRef.Name, ch.Spec.SourceRef.Namespace, hr.Namespace, src) {
				linked, chartPath = true, ch.Spec.Chart
			}
			key, hasChart := HelmChartKey(hr)
			hc := (*sourcev1.HelmChart)(nil)
			if hasChart {
				hc = c.helmChart(key)
			}
			if hr.Spec.ChartRef != nil && hc != nil && sameSource(hc.Spec.SourceRef.Kind, hc.Spec.SourceRef.Name, "", hc.Namespace, src) {
				linked, chartPath = true, hc.Spec.Chart
			}
			if !linked {
				continue
			}
			l := get(hr, src)
			l.viaChart, l.chartKey, l.chart, l.chartPath = true, key, hc, cleanPath(chartPath)
		}
		for _, ks := range c.kustomizationsFrom(src) {
			ids := map[string]bool{}
			if ks.Status.Inventory != nil {
				for _, e := range ks.Status.Inventory.Entries {
					ids[e.ID] = true
				}
			}
			for j := range c.HelmReleases {
				hr := &c.HelmReleases[j]
				k := types.NamespacedName{Namespace: hr.Namespace, Name: hr.Name}
				lbl := hr.Labels
				byLabel := lbl["kustomize.toolkit.fluxcd.io/name"] == ks.Name && lbl["kustomize.toolkit.fluxcd.io/namespace"] == ks.Namespace
				if ids[helmReleaseInventoryID(k)] || byLabel {
					get(hr, src).kustomization = ks
				}
			}
		}
	}
	if commit != nil && len(sources) > 0 {
		for _, want := range commit.HelmReleases {
			for i := range c.HelmReleases {
				hr := &c.HelmReleases[i]
				if hr.Name != want.Name || (want.Namespace != "" && hr.Namespace != want.Namespace) {
					continue
				}
				k := types.NamespacedName{Namespace: hr.Namespace, Name: hr.Name}
				if l, ok := byHR[k]; ok && l.kustomization != nil {
					continue
				}
				get(hr, sources[0]).manual = true
			}
		}
	}
	out := make([]*link, 0, len(byHR))
	for _, l := range byHR {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].hrKey.String() < out[j].hrKey.String() })
	return out
}

// AffectedHelmReleases lists the HelmReleases downstream of sources (for the
// fetcher, which then reads their workloads).
func AffectedHelmReleases(c *Cluster, sources []types.NamespacedName) []*helmv2.HelmRelease {
	var out []*helmv2.HelmRelease
	for _, l := range links(c, sources, nil) {
		out = append(out, l.hr)
	}
	return out
}

// watchedPaths returns the directories of the source a link depends on.
func (l *link) watchedPaths() []string {
	var p []string
	if l.viaChart {
		p = append(p, l.chartPath)
	}
	if l.kustomization != nil {
		p = append(p, cleanPath(l.kustomization.Spec.Path))
	}
	return p
}

// touchesWatched reports whether any path the commit touched is under one
// of dirs and not excluded by the GitRepository's ignore rules.
func touchesWatched(paths, dirs []string, ignore string) bool {
	rules := parseIgnore(ignore)
	for _, p := range paths {
		if rules.ignored(p) {
			continue
		}
		for _, d := range dirs {
			if d == "" || p == d || strings.HasPrefix(p, d+"/") {
				return true
			}
		}
	}
	return false
}

// SourcesSettling reports whether HelmReleases downstream of sources may
// still appear: a source has no artifact yet, or a Kustomization applied
// from one has not applied its current revision (or is not Ready yet), or
// names in its inventory a HelmRelease in namespace ("" = any) not seen yet.
func (c *Cluster) SourcesSettling(sources []types.NamespacedName, namespace string) bool {
	for _, src := range sources {
		gr := c.gitRepository(src)
		if gr == nil || gr.Status.Artifact == nil {
			return true
		}
		for _, ks := range c.kustomizationsFrom(src) {
			if ks.Status.LastAppliedRevision != gr.Status.Artifact.Revision || !isTrue(ks.Status.Conditions, meta.ReadyCondition) {
				return true
			}
			// Its inventory names a HelmRelease not seen yet (the watches
			// deliver the Kustomization's status before the object).
			if c.forbidden(KindHelmRelease) {
				continue
			}
			for _, key := range inventoryHelmReleases(ks) {
				if (namespace == "" || key.Namespace == namespace) && c.helmRelease(key) == nil {
					return true
				}
			}
		}
	}
	return false
}

// kustomizationsFrom lists the Kustomizations that apply src.
func (c *Cluster) kustomizationsFrom(src types.NamespacedName) []*kustomizev1.Kustomization {
	var out []*kustomizev1.Kustomization
	for i := range c.Kustomizations {
		ks := &c.Kustomizations[i]
		if sameSource(ks.Spec.SourceRef.Kind, ks.Spec.SourceRef.Name, ks.Spec.SourceRef.Namespace, ks.Namespace, src) {
			out = append(out, ks)
		}
	}
	return out
}

// inventoryHelmReleases lists the HelmReleases a Kustomization's inventory
// names (entry IDs are namespace_name_group_kind, as helmReleaseInventoryID
// writes them).
func inventoryHelmReleases(ks *kustomizev1.Kustomization) []types.NamespacedName {
	if ks.Status.Inventory == nil {
		return nil
	}
	var out []types.NamespacedName
	for _, e := range ks.Status.Inventory.Entries {
		ns, rest, _ := strings.Cut(e.ID, "_")
		if name, ok := strings.CutSuffix(rest, "_"+helmv2.GroupVersion.Group+"_"+KindHelmRelease); ok {
			out = append(out, types.NamespacedName{Namespace: ns, Name: name})
		}
	}
	return out
}
