// Package fluxmodel holds the model of what each cluster applies from a
// repository, as Flux applies it: starting at the cluster entry points, it
// follows the Flux Kustomization objects (spec.path, sourceRef), builds every
// path with kustomize's own library (with the kustomization.yaml Flux
// generates for a folder that has none, and targetNamespace, namePrefix,
// nameSuffix, patches, images, components and postBuild substitution on top)
// and keeps every HelmRelease with its applied identity (cluster, namespace,
// name), its composed spec and, for every value, the file and line that set
// it.
//
// A file nobody includes is not part of the model. A repository with no Flux
// Kustomization and no kustomization.yaml at an entry point is modelled as
// its HelmRelease files themselves (Model.Plain).
package fluxmodel

import (
	"fmt"
	"io/fs"
	"sort"
	"strings"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
)

// Model is what every cluster of one checkout applies.
type Model struct {
	// Root is the checkout the model was built from.
	Root string
	// Clusters are sorted by name.
	Clusters []*Cluster
	// Plain is set when the repository has no entry point kustomize can
	// build: the model is then its HelmRelease files themselves.
	Plain bool
	// Layout says how the entry points were found, for the one line a
	// command prints about it.
	Layout string
	// fl reads the files the model was built from (nil: the disk at
	// Root).
	fl *files
}

// files is what the model reads its checkout through.
func (m *Model) files() *files {
	if m.fl == nil {
		return disk(m.Root)
	}
	return m.fl
}

// FS is the checkout the model was built from, as an io/fs file system
// rooted at its root.
func (m *Model) FS() fs.FS { return m.files().fsys() }

// ReadFile reads the file at rel (a slash path relative to the root) as
// the model sees it: from the disk, or from the commit's tree a model of
// LoadTree was built from.
func (m *Model) ReadFile(rel string) ([]byte, error) {
	return m.files().readFile(m.files().abs(rel))
}

// Cluster is one environment: what Flux applies from its entry point.
type Cluster struct {
	Name string
	// Entry is the directory (relative to the root, slash-separated) the
	// cluster starts from.
	Entry []string
	// Kustomizations are the Flux Kustomization objects reached from the
	// entry point, in the order they were followed.
	Kustomizations []*Kustomization
	// Releases are the HelmReleases applied, sorted by namespace/name.
	Releases []*Release
	// Objects are every other object applied, for source lookups.
	Objects []*Object
	// Errors are the builds that failed: each names its file.
	Errors []error
}

// Kustomization is one Flux Kustomization object of the model.
type Kustomization struct {
	Namespace, Name string
	// Path is spec.path, cleaned and relative to the root.
	Path string
	// File and Line are where the object is written.
	File string
	Line int
	// Followed is false when its source is not this repository; Note
	// says why.
	Followed bool
	Note     string
	Err      error
}

// Object is an applied object other than a HelmRelease.
type Object struct {
	APIVersion, Kind, Namespace, Name string
	File                              string
	Line                              int
	// Data is the object as applied. Secrets keep no data.
	Data map[string]any
}

// Release is one HelmRelease as a cluster applies it.
type Release struct {
	Cluster, Namespace, Name string
	// Kustomization is namespace/name of the Flux Kustomization that
	// applies it ("" for an entry point built directly).
	Kustomization string
	// Dir is the folder that build started from (the Flux Kustomization's
	// spec.path, or the entry point): where a new patch of this release for
	// this cluster is listed.
	Dir string
	// File and Line are where the base document is written.
	File string
	Line int
	// Object is the applied object, as a map (patches merged, names and
	// namespaces set, variables substituted).
	Object map[string]any
	// HR is Object decoded; nil when Err is set.
	HR *helmv2.HelmRelease
	// Provenance maps a field path under the object ("spec.values.replicaCount",
	// "spec.chart.spec.version") to where it was set.
	Provenance map[string]Setter
	// Err says why the release could not be built or decoded; it names the
	// file (and line where there is one).
	Err error
}

// Setter is where a value was set: a base file or a patch.
type Setter struct {
	File string
	Line int
	// Patch is true when the value comes from a patch over the base.
	Patch bool
}

func (s Setter) String() string {
	if s.Line > 0 {
		return fmt.Sprintf("%s:%d", s.File, s.Line)
	}
	return s.File
}

// Key is the applied identity of a release within its cluster.
func (r *Release) Key() string { return r.Namespace + "/" + r.Name }

// ID is the applied identity across clusters: cluster/namespace/name.
func (r *Release) ID() string {
	if r.Cluster == "" {
		return r.Key()
	}
	return r.Cluster + "/" + r.Key()
}

// ValueSetter returns where the value at a dotted path under spec.values was
// set, and whether it is known.
func (r *Release) ValueSetter(path string) (Setter, bool) {
	s, ok := r.Provenance["spec.values."+path]
	return s, ok
}

// Cluster returns the named cluster, or nil.
func (m *Model) Cluster(name string) *Cluster {
	for _, c := range m.Clusters {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Names returns the cluster names in order.
func (m *Model) Names() []string {
	out := make([]string, 0, len(m.Clusters))
	for _, c := range m.Clusters {
		out = append(out, c.Name)
	}
	return out
}

// Releases returns every release of every cluster, by ID.
func (m *Model) Releases() map[string]*Release {
	out := map[string]*Release{}
	for _, c := range m.Clusters {
		for _, r := range c.Releases {
			out[r.ID()] = r
		}
	}
	return out
}

// Errors returns every build error of every cluster.
func (m *Model) Errors() []error {
	var out []error
	for _, c := range m.Clusters {
		out = append(out, c.Errors...)
	}
	return out
}

// Release returns the release namespace/name of a cluster.
func (c *Cluster) Release(namespace, name string) *Release {
	for _, r := range c.Releases {
		if r.Namespace == namespace && r.Name == name {
			return r
		}
	}
	return nil
}

// Find returns the releases named name (in namespace when it is not empty).
func (c *Cluster) Find(namespace, name string) []*Release {
	var out []*Release
	for _, r := range c.Releases {
		if r.Name == name && (namespace == "" || r.Namespace == namespace) {
			out = append(out, r)
		}
	}
	return out
}

// Source returns the applied source object kind/namespace/name, or nil.
func (c *Cluster) Source(kind, namespace, name string) *Object {
	for _, o := range c.Objects {
		if o.Kind == kind && o.Name == name && o.Namespace == namespace {
			return o
		}
	}
	return nil
}

// UsedBy returns the clusters whose releases take a value from file, sorted.
func (m *Model) UsedBy(file string) []string {
	seen := map[string]bool{}
	for _, c := range m.Clusters {
		for _, r := range c.Releases {
			if r.File == file {
				seen[c.Name] = true
				break
			}
			for _, s := range r.Provenance {
				if s.File == file {
					seen[c.Name] = true
					break
				}
			}
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Describe is the one line a command prints about how the model was found.
func (m *Model) Describe() string {
	if m.Plain {
		return "no Flux Kustomization or kustomization.yaml entry point found: the model is the HelmRelease files themselves"
	}
	return fmt.Sprintf("clusters %s, from %s", strings.Join(m.Names(), ", "), m.Layout)
}
