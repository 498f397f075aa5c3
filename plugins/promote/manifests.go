package promote

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/kubectl-gitops/kubectl-gitops/internal/envs"
	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxmodel"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
)

// doc is one YAML document of a file the model says an environment
// applies: a release's base document, a patch over it, or a chart source.
type doc struct {
	manifest.Node
}

func (d *doc) String() string {
	return fmt.Sprintf("%s %s (%s)", d.Kind, d.Name, d.Path)
}

// object is one Kubernetes object in one environment, as the model of what
// the environment's cluster applies has it: its applied identity, its
// composed content, and the documents that make it up, the environment's
// own (files no other environment applies: its patches, its own
// manifests) apart from those it shares with others (a base).
type object struct {
	Kind, Name, Namespace string
	Own                   []*doc
	Base                  []*doc
	// data is the object as applied (patches merged, variables
	// substituted).
	data map[string]any
	// setters is where each field was set (releases only); a field set
	// where no document is (an inline patch) cannot be edited here.
	setters map[string]fluxmodel.Setter
}

// lookup returns the node at keys in the documents, looking through the
// environment's own documents (the last one wins) before its bases, and
// the document that holds it.
func (o *object) lookup(keys ...string) (*yaml.Node, *doc) {
	for _, layer := range [][]*doc{o.Own, o.Base} {
		for i := len(layer) - 1; i >= 0; i-- {
			if n := nodeAt(layer[i].Root, keys...); n != nil {
				return n, layer[i]
			}
		}
	}
	return nil, nil
}

// value returns the applied value at keys.
func (o *object) value(keys ...string) (any, bool) {
	var cur any = o.data
	for _, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// inline returns where keys (or a map above them) is set when that is not
// a document promote can edit: an inline patch in a kustomization.yaml or
// a Flux Kustomization's spec.patches.
func (o *object) inline(keys []string) (fluxmodel.Setter, bool) {
	for n := len(keys); n > 0; n-- {
		s, ok := o.setters[strings.Join(keys[:n], ".")]
		if !ok {
			continue
		}
		for _, d := range append(append([]*doc{}, o.Own...), o.Base...) {
			if d.Path == s.File {
				return fluxmodel.Setter{}, false
			}
		}
		return s, true
	}
	return fluxmodel.Setter{}, false
}

// files reads and parses the files the model points at, once each.
type files struct {
	root   string
	parsed map[string][]*doc
	errs   map[string]error
}

func newFiles(root string) *files {
	return &files{root: root, parsed: map[string][]*doc{}, errs: map[string]error{}}
}

// docAt returns the document of kind in file that holds line (the document
// starting last at or before it).
func (f *files) docAt(file string, line int, kind string) (*doc, error) {
	docs, ok := f.parsed[file]
	if !ok {
		data, err := os.ReadFile(filepath.Join(f.root, filepath.FromSlash(file)))
		if err != nil {
			f.errs[file] = err
		} else {
			nodes, bad := manifest.ParseFile(file, data)
			if bad != nil {
				f.errs[file] = fmt.Errorf("%w (fix the YAML first)", bad)
			}
			for i := range nodes {
				docs = append(docs, &doc{Node: nodes[i]})
			}
		}
		f.parsed[file] = docs
	}
	if err := f.errs[file]; err != nil {
		return nil, err
	}
	var best *doc
	for _, d := range docs {
		if d.Line <= line && (best == nil || d.Line > best.Line) {
			best = d
		}
	}
	if best == nil || best.Kind != kind {
		return nil, nil // an inline patch, or not a document of that kind
	}
	return best, nil
}

// view is the model as promote reads it: which clusters apply each file,
// and the documents of those files.
type view struct {
	model *fluxmodel.Model
	files *files
	users map[string]map[string]bool // file -> clusters
}

func newView(m *fluxmodel.Model) *view {
	v := &view{model: m, files: newFiles(m.Root)}
	v.users = m.FileUsers(func(*fluxmodel.Object) bool { return true })
	return v
}

// place files d under the object's own documents when only cluster
// applies its file, else under its shared ones.
func (v *view) place(o *object, d *doc, cluster string) {
	for _, x := range append(append([]*doc{}, o.Own...), o.Base...) {
		if x == d {
			return
		}
	}
	if us := v.users[d.Path]; len(us) == 1 && us[cluster] {
		o.Own = append(o.Own, d)
	} else {
		o.Base = append(o.Base, d)
	}
}

// cluster is the model's cluster of environment env.
func (v *view) cluster(env *envs.Environment) (*fluxmodel.Cluster, error) {
	c := v.model.Cluster(env.Name)
	if c == nil {
		return nil, exitcode.Errorf(exitcode.NotFound, "environment %s is not one of the clusters the repository applies (%s, from %s)", env.Name, strings.Join(v.model.Names(), ", "), v.model.Layout)
	}
	return c, nil
}

// releaseObject is the object of release r of cluster c.
func (v *view) releaseObject(c *fluxmodel.Cluster, r *fluxmodel.Release) (*object, error) {
	if r.Err != nil {
		return nil, exitcode.Wrap(exitcode.Failed, fmt.Errorf("HelmRelease %s in %s does not build: %w; fix that first", r.Key(), c.Name, r.Err))
	}
	o := &object{Kind: "HelmRelease", Name: r.Name, Namespace: r.Namespace, data: r.Object, setters: r.Provenance}
	base, err := v.files.docAt(r.File, r.Line, "HelmRelease")
	if err != nil {
		return nil, err
	}
	if base != nil {
		v.place(o, base, c.Name)
	}
	// The patches, in a stable order: by file, then line.
	keys := make([]string, 0, len(r.Provenance))
	for k := range r.Provenance {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := r.Provenance[keys[i]], r.Provenance[keys[j]]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	for _, k := range keys {
		s := r.Provenance[k]
		if !s.Patch {
			continue
		}
		d, err := v.files.docAt(s.File, s.Line, "HelmRelease")
		if err != nil {
			return nil, err
		}
		if d != nil {
			v.place(o, d, c.Name)
		}
	}
	return o, nil
}

// source is the chart source kind/name in namespace ns that cluster c
// applies.
func (v *view) source(c *fluxmodel.Cluster, kind, name, ns string) (*object, error) {
	s := c.Source(kind, ns, name)
	if s == nil && ns == "default" {
		// Written without a namespace and applied without one: the API
		// server puts it in default, as the model does the release.
		s = c.Source(kind, "", name)
	}
	if s == nil {
		where := ""
		if ns != "" {
			where = " in namespace " + ns
		}
		return nil, exitcode.Errorf(exitcode.NotFound, "%s %s%s is not in what environment %s applies: promote needs it to read and write the version", kind, name, where, c.Name)
	}
	o := &object{Kind: kind, Name: name, Namespace: s.Namespace, data: s.Data}
	d, err := v.files.docAt(s.File, s.Line, kind)
	if err != nil {
		return nil, err
	}
	if d != nil {
		v.place(o, d, c.Name)
	}
	return o, nil
}

// nodeAt walks mapping keys from n.
func nodeAt(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		n = next
	}
	return n
}

// Flux API group of the HelmRelease.
const helmGroup = "helm.toolkit.fluxcd.io"
