package promote

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/kubectl-gitops/kubectl-gitops/internal/envs"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
)

// doc is one YAML document of a manifest file in an environment: the
// shared manifest model (path, index, kind, group, name, namespace and the
// node tree), plus what --status caches on it. Namespace is
// metadata.namespace, or else what the file's kustomization sets
// (manifest.Namespaces); "" when unknown.
type doc struct {
	manifest.Node

	// values caches valueOps: --status merges a base's values into every
	// environment that uses it.
	values     []valueOp
	valuesDone bool
}

func (d *doc) String() string {
	return fmt.Sprintf("%s %s (%s)", d.Kind, d.qualified(), d.Path)
}

func (d *doc) qualified() string {
	if d.Namespace == "" {
		return d.Name
	}
	return d.Namespace + "/" + d.Name
}

// object is the documents that make up one Kubernetes object in one
// environment: the environment's own documents (a full manifest or
// kustomize patches), then the shared base ones.
type object struct {
	Kind, Name, Namespace string
	Own                   []*doc
	Base                  []*doc
}

// lookup returns the node at keys, looking through the environment's own
// documents (the last patch wins, as in kustomize) before its bases.
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

// scanner reads the manifests of a checkout once, however many
// environments share them.
type scanner struct {
	ctx  context.Context
	repo *gitrepo.Repo
	root string
	// tracked are the files load listed; files their documents.
	tracked []string
	files   map[string][]*doc // by slash path
	// ns answers the namespace a directory's kustomization sets.
	ns *manifest.Namespaces
}

func newScanner(ctx context.Context, repo *gitrepo.Repo) *scanner {
	return &scanner{ctx: ctx, repo: repo, root: repo.Root, files: map[string][]*doc{}, ns: manifest.NewNamespaces(repo.Root)}
}

// envDocs returns the documents of env's own paths and of its bases.
func (s *scanner) envDocs(env *envs.Environment) (*docSet, error) {
	var own, base []*doc
	for _, p := range env.Paths {
		d, err := s.docsUnder(p)
		if err != nil {
			return nil, err
		}
		own = append(own, d...)
	}
	for _, p := range env.Bases {
		d, err := s.docsUnder(p)
		if err != nil {
			return nil, err
		}
		base = append(base, d...)
	}
	return newDocSet(own, base), nil
}

// docSet is one environment's documents: its own (full manifests or
// kustomize patches), then those of its bases, also indexed by API group,
// kind and name. --status looks up every HelmRelease of every environment
// and often its source too; scanning all documents for each lookup made
// it quadratic in the number of releases.
type docSet struct {
	own, base []*doc
	byObject  map[objectKey]*objectDocs
}

type objectKey struct{ group, kind, name string }

// objectDocs are the documents of one group/kind/name, in the order of
// the docSet's.
type objectDocs struct{ own, base []*doc }

func newDocSet(own, base []*doc) *docSet {
	s := &docSet{own: own, base: base, byObject: map[objectKey]*objectDocs{}}
	at := func(d *doc) *objectDocs {
		k := objectKey{d.Group, d.Kind, d.Name}
		o := s.byObject[k]
		if o == nil {
			o = &objectDocs{}
			s.byObject[k] = o
		}
		return o
	}
	for _, d := range own {
		o := at(d)
		o.own = append(o.own, d)
	}
	for _, d := range base {
		o := at(d)
		o.base = append(o.base, d)
	}
	return s
}

// all is every document, the environment's own first.
func (s *docSet) all() []*doc {
	return append(append([]*doc{}, s.own...), s.base...)
}

// find collects the documents of kind/name in the environment; see
// findObject for how ns matches.
func (s *docSet) find(group, kind, name, ns string) (*object, error) {
	o := s.byObject[objectKey{group, kind, name}]
	if o == nil {
		return nil, errNotFound
	}
	return findObject(o.own, o.base, group, kind, name, ns)
}

// load lists the YAML files git tracks under every environment's paths
// and bases (one git call), and parses, in parallel, those that can hold a
// Flux object. Untracked files are left out, as override does: Flux only
// sees what is committed.
func (s *scanner) load(cfg *envs.Config) error {
	var specs []string
	seen := map[string]bool{}
	for _, e := range cfg.Environments {
		for _, p := range append(append([]string{}, e.Paths...), e.Bases...) {
			if !seen[p] {
				seen[p] = true
				specs = append(specs, p)
			}
		}
	}
	files, err := manifest.TrackedFiles(s.ctx, s.repo, specs...)
	if err != nil {
		return err
	}
	s.tracked = files
	parsed := make([][]*doc, len(files))
	// Only files that mention a Flux API group are parsed: yaml.v3 is most
	// of the cost, and most files of a GitOps repo are not Flux objects.
	err = manifest.ReadFiles(s.ctx, s.root, files, manifest.ScanOptions{MustContain: []string{fluxMarker}}, func(i int, data []byte) error {
		var err error
		parsed[i], err = parseDocs(files[i], data)
		return err
	})
	if err != nil {
		return err
	}
	for i, f := range files {
		defNS := ""
		if len(parsed[i]) > 0 {
			// A base's documents are shared by several environments, so
			// only what the file's own directory says counts here.
			defNS = s.kustomizeNamespace(path.Dir(f))
		}
		for _, d := range parsed[i] {
			if d.Namespace == "" {
				d.Namespace = defNS
			}
		}
		s.files[f] = parsed[i]
	}
	return nil
}

// fluxMarker is in the apiVersion of every kind promote reads; files
// without it are not parsed at all.
const fluxMarker = "toolkit.fluxcd.io"

// docsUnder returns the documents of the loaded files under rel.
func (s *scanner) docsUnder(rel string) ([]*doc, error) {
	var out []*doc
	for _, f := range s.tracked {
		if rel == "." || f == rel || strings.HasPrefix(f, rel+"/") {
			out = append(out, s.files[f]...)
		}
	}
	return out, nil
}

// kustomizeNamespace is the namespace kustomize gives the objects of dir
// that set none (see manifest.Namespaces for the rule).
func (s *scanner) kustomizeNamespace(dir string) string {
	ns, _ := s.ns.Lookup(dir)
	return ns
}

// parseDocs splits a file into documents through the shared manifest
// parser. A file that is not YAML at all is an error: silently skipping it
// could hide the HelmRelease asked for.
func parseDocs(rel string, data []byte) ([]*doc, error) {
	nodes, bad := manifest.ParseFile(rel, data)
	if bad != nil {
		return nil, fmt.Errorf("%w (fix the YAML or move the file out of the environment's paths)", bad)
	}
	out := make([]*doc, len(nodes))
	for i := range nodes {
		out[i] = &doc{Node: nodes[i]}
	}
	return out, nil
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

func scalarAt(n *yaml.Node, keys ...string) string {
	v := nodeAt(n, keys...)
	if v == nil || v.Kind != yaml.ScalarNode {
		return ""
	}
	return v.Value
}

// Flux API groups of the kinds promote reads.
const (
	helmGroup   = "helm.toolkit.fluxcd.io"
	sourceGroup = "source.toolkit.fluxcd.io"
)

// findObject collects the documents of kind/name in an environment. ns ""
// matches any namespace; a document whose namespace is unknown (left to a
// kustomization outside the environment) matches any ns.
func findObject(own, base []*doc, group, kind, name, ns string) (*object, error) {
	o := &object{Kind: kind, Name: name, Namespace: ns}
	nsSeen := map[string][]string{}
	match := func(d *doc) bool {
		return d.Kind == kind && d.Group == group && d.Name == name && (ns == "" || d.Namespace == "" || d.Namespace == ns)
	}
	for _, d := range own {
		if match(d) {
			o.Own = append(o.Own, d)
			nsSeen[d.Namespace] = append(nsSeen[d.Namespace], d.Path)
		}
	}
	for _, d := range base {
		if match(d) {
			o.Base = append(o.Base, d)
			if len(o.Own) == 0 {
				nsSeen[d.Namespace] = append(nsSeen[d.Namespace], d.Path)
			}
		}
	}
	if len(nsSeen) > 1 {
		var list []string
		for n, files := range nsSeen {
			if n == "" {
				n = "(no namespace)"
			}
			list = append(list, fmt.Sprintf("%s in %s", n, strings.Join(files, ", ")))
		}
		sort.Strings(list)
		return nil, fmt.Errorf("%w: %s %s exists in several namespaces: %s; pick one with -n", errAmbiguous, kind, name, strings.Join(list, "; "))
	}
	if o.Namespace == "" {
		for n := range nsSeen {
			o.Namespace = n
		}
	}
	if len(o.Own)+len(o.Base) == 0 {
		return nil, errNotFound
	}
	return o, nil
}

var (
	errAmbiguous = errors.New("ambiguous")
	errNotFound  = errors.New("not found")
)

// names lists the distinct names of a kind among docs, for suggestions.
func names(docs []*doc, group, kind string) []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range docs {
		if d.Kind == kind && d.Group == group && d.Name != "" && !seen[d.Name] {
			seen[d.Name] = true
			out = append(out, d.Name)
		}
	}
	sort.Strings(out)
	return out
}

// suggest returns the candidate closest to name when it is close enough to
// be a typo.
func suggest(name string, candidates []string) string {
	best, bestD := "", len(name)/2+2
	for _, c := range candidates {
		if d := distance(name, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
