package fluxmodel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/suggest"
)

// This file is the part of the model that is not applied: the documents
// written in files no cluster includes (an archived copy of an app, chart
// sources applied by hand as examples/flux-app-delivery's sources/ are), and
// every document of a repository the model reads as plain files. Commands
// ask it one object at a time (override edits one release, a chart source
// is looked up by kind and name), so it is read lazily and bounded: only
// the files that mention the kind and the name are parsed, and of those
// only each document's header (manifest.Headers skims a values map of tens
// of MB instead of building its tree: a 16 MB one took 417 s decoded whole
// as the plain model decodes a release, 7 s skimmed).

// Query selects written documents. Empty fields match anything, except Kind
// and Name which a lookup always sets.
type Query struct {
	Kind string
	// Group is the API group ("helm.toolkit.fluxcd.io"); any version matches.
	Group string
	Name  string
	// Namespace "" matches every namespace. A document whose namespace is
	// unknown (no metadata.namespace, no kustomization sets one) matches any
	// namespace: it lands wherever a Flux Kustomization would put it.
	Namespace string
	// Path is a repo-relative file or directory (forward slashes) the
	// document must be in.
	Path string
}

func (q Query) String() string {
	s := q.Kind + " " + q.Name
	if q.Namespace != "" {
		s = q.Kind + " " + q.Namespace + "/" + q.Name
	}
	if q.Path != "" {
		s += " under " + q.Path
	}
	return s
}

// Matches reports whether d satisfies q.
func (q Query) Matches(d manifest.Doc) bool {
	if q.Kind != "" && d.Kind != q.Kind {
		return false
	}
	if q.Group != "" && d.Group != q.Group {
		return false
	}
	if q.Name != "" && d.Name != q.Name {
		return false
	}
	if q.Namespace != "" && d.Namespace != "" && d.Namespace != q.Namespace {
		return false
	}
	if p := cleanRel(q.Path); p != "" && p != "." {
		if d.Path != p && !strings.HasPrefix(d.Path, p+"/") {
			return false
		}
	}
	return true
}

func cleanRel(p string) string {
	if p == "" {
		return ""
	}
	return strings.TrimPrefix(path.Clean(strings.ReplaceAll(p, "\\", "/")), "./")
}

// Unapplied is what one read of the files no cluster applies found.
type Unapplied struct {
	// Files is how many YAML files the repository has (under the path
	// asked for).
	Files int
	// Docs are the documents found, by path and index.
	Docs []manifest.Doc
	// Malformed are the files read that are not valid YAML; the documents
	// before the error are in Docs.
	Malformed []*manifest.SyntaxError
}

// AppliedFiles are the files a cluster of m takes something from: a
// HelmRelease's base, a file its values come from (a patch), any other
// object, a Flux Kustomization. A plain model applies none: its files are
// the model as written.
func (m *Model) AppliedFiles() map[string]bool {
	out := map[string]bool{}
	if m.Plain {
		return out
	}
	for _, c := range m.Clusters {
		for _, r := range c.Releases {
			out[r.File] = true
			for _, s := range r.Provenance {
				out[s.File] = true
			}
		}
		for _, o := range c.Objects {
			out[o.File] = true
		}
		for _, k := range c.Kustomizations {
			out[k.File] = true
		}
	}
	delete(out, "")
	return out
}

// ReadUnapplied reads the documents of the YAML files under dir ("" for
// the whole repository) that no cluster of m applies and whose bytes
// contain every one of needles; a document without metadata.namespace gets
// the one its kustomization.yaml would give it (see namespaces).
func (m *Model) ReadUnapplied(ctx context.Context, dir string, needles ...string) (*Unapplied, error) {
	fl := m.files()
	files, err := yamlFiles(fl)
	if err != nil {
		return nil, fmt.Errorf("listing the files of %s: %w", m.Root, err)
	}
	if p := cleanRel(dir); p != "" && p != "." {
		var in []string
		for _, f := range files {
			if f == p || strings.HasPrefix(f, p+"/") {
				in = append(in, f)
			}
		}
		files = in
	}
	u := &Unapplied{Files: len(files)}
	applied := m.AppliedFiles()
	var todo []string
	for _, f := range files {
		if !applied[f] {
			todo = append(todo, f)
		}
	}
	type result struct {
		docs []manifest.Doc
		bad  *manifest.SyntaxError
		err  error
	}
	results := make([]result, len(todo))
	want := make([][]byte, len(needles))
	for i, n := range needles {
		want[i] = []byte(n)
	}
	jobs := make(chan int)
	var wg sync.WaitGroup
	// Reading is mostly waiting on syscalls: more readers than cores keep
	// the cores busy.
	for w := 0; w < max(4, 2*runtime.GOMAXPROCS(0)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte // reused: only what Headers parses outlives a file
			for i := range jobs {
				if ctx.Err() != nil {
					continue
				}
				data, err := fl.readInto(ctx, fl.abs(todo[i]), buf)
				if len(data) > 0 {
					buf = data
				}
				if err != nil {
					if !errors.Is(err, os.ErrNotExist) {
						results[i].err = err
					}
					continue
				}
				if !containsAll(data, want) {
					continue
				}
				results[i].docs, results[i].bad = manifest.Headers(todo[i], data)
			}
		}()
	}
	for i := range todo {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, r := range results {
		if r.err != nil {
			return nil, fmt.Errorf("reading the files no cluster applies: %w", r.err)
		}
		u.Docs = append(u.Docs, r.docs...)
		if r.bad != nil {
			u.Malformed = append(u.Malformed, r.bad)
		}
	}
	ns := newNamespaces(fl)
	for i := range u.Docs {
		d := &u.Docs[i]
		if d.Namespace == "" {
			d.Namespace, d.NamespaceFrom = ns.lookup(path.Dir(d.Path))
		}
	}
	return u, nil
}

func containsAll(data []byte, needles [][]byte) bool {
	for _, n := range needles {
		if !bytes.Contains(data, n) {
			return false
		}
	}
	return true
}

// FindUnapplied looks one document up in the files no cluster of m applies
// (every file of a plain model): the one matching q, a *NotFoundError or an
// *AmbiguousError. Only files that mention the kind and the name are
// parsed; when none holds it, every file of the kind is, to count them and
// suggest near names (the model's own objects of the kind included). The
// Unapplied returned is the read the answer came from.
func (m *Model) FindUnapplied(ctx context.Context, q Query) (manifest.Doc, *Unapplied, error) {
	u, err := m.ReadUnapplied(ctx, q.Path, q.Kind, q.Name)
	if err != nil {
		return manifest.Doc{}, nil, err
	}
	d, err := u.lookup(q)
	var nf *NotFoundError
	if !errors.As(err, &nf) {
		return d, u, err
	}
	wide, werr := m.ReadUnapplied(ctx, q.Path, q.Kind)
	if werr != nil {
		return manifest.Doc{}, u, werr
	}
	if d, err = wide.lookup(q); err == nil {
		return d, wide, nil
	}
	if errors.As(err, &nf) {
		m.addApplied(nf)
		// The broken files worth naming are those that mention the
		// name: the object is most likely in one of them.
		nf.Malformed = u.Malformed
	}
	return manifest.Doc{}, wide, err
}

// addApplied counts the objects of the kind the clusters apply into a
// not-found answer, and suggests the near names among them.
func (m *Model) addApplied(nf *NotFoundError) {
	if m.Plain {
		return
	}
	var near []scored
	for _, d := range nf.Suggestions {
		dist, _ := suggest.Near(nf.Query.Name, d.Name)
		near = append(near, scored{d, dist})
	}
	seen := map[string]bool{}
	add := func(kind, apiVersion, ns, name, file string, line int) {
		id := kind + "/" + ns + "/" + name
		if seen[id] || kind != nf.Query.Kind || (nf.Query.Group != "" && manifest.Group(apiVersion) != nf.Query.Group) {
			return
		}
		seen[id] = true
		nf.OfKind++
		if dist, ok := suggest.Near(nf.Query.Name, name); ok {
			near = append(near, scored{manifest.Doc{Path: file, Line: line, Kind: kind, Group: manifest.Group(apiVersion), APIVersion: apiVersion, Name: name, Namespace: ns}, dist})
		}
	}
	for _, c := range m.Clusters {
		for _, r := range c.Releases {
			add("HelmRelease", "helm.toolkit.fluxcd.io/v2", r.Namespace, r.Name, r.File, r.Line)
		}
		for _, o := range c.Objects {
			add(o.Kind, o.APIVersion, o.Namespace, o.Name, o.File, o.Line)
		}
	}
	sort.SliceStable(near, func(i, j int) bool { return near[i].dist < near[j].dist })
	nf.Suggestions = nil
	for i := 0; i < len(near) && i < 3; i++ {
		nf.Suggestions = append(nf.Suggestions, near[i].d)
	}
}

type scored struct {
	d    manifest.Doc
	dist int
}

// lookup returns the one document matching q. Two documents of one file
// that both match are ambiguous even with a path; they can only differ by
// namespace, so -n picks.
func (u *Unapplied) lookup(q Query) (manifest.Doc, error) {
	var match []manifest.Doc
	for _, d := range u.Docs {
		if q.Matches(d) {
			match = append(match, d)
		}
	}
	switch len(match) {
	case 1:
		return match[0], nil
	case 0:
		return manifest.Doc{}, u.notFound(q)
	}
	// An exact namespace beats a document whose namespace is unknown: with
	// -n prod, the prod overlay wins over a base without a namespace.
	if q.Namespace != "" {
		var exact []manifest.Doc
		for _, d := range match {
			if d.Namespace == q.Namespace {
				exact = append(exact, d)
			}
		}
		if len(exact) == 1 {
			return exact[0], nil
		}
	}
	return manifest.Doc{}, &AmbiguousError{Query: q, Candidates: match}
}

func (u *Unapplied) notFound(q Query) *NotFoundError {
	e := &NotFoundError{Query: q, Files: u.Files, Malformed: u.Malformed}
	var near []scored
	for _, d := range u.Docs {
		if d.Kind != q.Kind || (q.Group != "" && d.Group != q.Group) {
			continue
		}
		e.OfKind++
		// The same name (in another namespace or path) is the likeliest slip.
		if dist, ok := suggest.Near(q.Name, d.Name); ok {
			near = append(near, scored{d, dist})
		}
	}
	sort.SliceStable(near, func(i, j int) bool { return near[i].dist < near[j].dist })
	for i := 0; i < len(near) && i < 3; i++ {
		e.Suggestions = append(e.Suggestions, near[i].d)
	}
	return e
}

// NotFoundError says what was searched and what came close.
type NotFoundError struct {
	Query Query
	// Files is how many YAML files the repository has.
	Files int
	// OfKind is how many objects of the queried kind it holds, applied or
	// not.
	OfKind int
	// Suggestions are objects of the same kind with a similar name, or the
	// same name in another namespace, best first.
	Suggestions []manifest.Doc
	// Malformed are files that mention the kind and the name but do not
	// parse: the object is likely in one of them.
	Malformed []*manifest.SyntaxError
}

func (e *NotFoundError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s not found in %d YAML files (%d %ss in total)", e.Query, e.Files, e.OfKind, e.Query.Kind)
	if len(e.Suggestions) > 0 {
		var names []string
		for _, s := range e.Suggestions {
			if s.Name == e.Query.Name {
				names = append(names, fmt.Sprintf("%s in namespace %s (use -n %s)", s.Name, s.Namespace, s.Namespace))
			} else {
				names = append(names, fmt.Sprintf("%s/%s", orNone(s.Namespace), s.Name))
			}
		}
		fmt.Fprintf(&b, "; did you mean %s?", strings.Join(names, ", "))
	}
	for _, m := range e.Malformed {
		fmt.Fprintf(&b, "\n  %v (fix it: the %s may be in there)", m, e.Query.Kind)
	}
	return b.String()
}

// ExitCode is 3, not found; but when files that mention the name do not
// parse, the answer is unknown, not "not found": 1.
func (e *NotFoundError) ExitCode() int {
	if len(e.Malformed) > 0 {
		return int(exitcode.Error)
	}
	return int(exitcode.NotFound)
}

func orNone(ns string) string {
	if ns == "" {
		return "<no namespace>"
	}
	return ns
}

// AmbiguousError lists every candidate; the caller never guesses.
type AmbiguousError struct {
	Query      Query
	Candidates []manifest.Doc
}

func (e *AmbiguousError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s matches %d documents; pick one with --path (and -n if the namespaces differ):", e.Query, len(e.Candidates))
	for _, c := range e.Candidates {
		fmt.Fprintf(&b, "\n  --path %s   # %s", c.Path, c.Ref())
	}
	return b.String()
}

// ExitCode is 6: the user picks the document.
func (e *AmbiguousError) ExitCode() int { return int(exitcode.Conflict) }

// namespaces answers "which namespace would a build give a document of
// this directory that sets none itself?" for documents no cluster applies,
// reading each kustomization.yaml once: the one a Flux Kustomization pointed
// at the directory (or at one above it that includes it) would build it
// with. The nearest kustomization file at or above the directory builds
// it; its namespace: is the answer. When it sets none, the namespace comes
// through inclusion (resources, components), not the directory tree: the
// lookup climbs on only when the nearest kustomization above lists this
// one's directory, and otherwise answers unknown (""), which matches any
// -n.
type namespaces struct {
	fl    *files
	files map[string]*kustFile // by directory; nil when it has none
	cache map[string][2]string // dir -> {namespace, file}
}

type kustFile struct {
	file      string
	namespace string
	includes  map[string]bool // directories it lists, repo-relative
}

func newNamespaces(fl *files) *namespaces {
	return &namespaces{fl: fl, files: map[string]*kustFile{}, cache: map[string][2]string{}}
}

// at reads the kustomization file of exactly dir, nil when there is none.
// One that does not parse counts as setting nothing and including nothing.
func (k *namespaces) at(dir string) *kustFile {
	if kz, ok := k.files[dir]; ok {
		return kz
	}
	var kz *kustFile
	for _, name := range kustomizationFiles {
		rel := path.Join(dir, name)
		data, err := k.fl.readFile(k.fl.abs(rel))
		if err != nil {
			continue
		}
		kz = &kustFile{file: rel, includes: map[string]bool{}}
		var doc struct {
			Namespace  string   `yaml:"namespace"`
			Resources  []string `yaml:"resources"`
			Components []string `yaml:"components"`
			Bases      []string `yaml:"bases"`
		}
		if yaml.Unmarshal(data, &doc) == nil {
			kz.namespace = doc.Namespace
			for _, r := range append(append(doc.Resources, doc.Components...), doc.Bases...) {
				kz.includes[path.Join(dir, r)] = true
			}
		}
		break
	}
	k.files[dir] = kz
	return kz
}

// nearest is the directory of the nearest kustomization at or above dir.
func (k *namespaces) nearest(dir string) (string, bool) {
	for {
		if k.at(dir) != nil {
			return dir, true
		}
		if dir == "." || dir == "/" || dir == "" {
			return "", false
		}
		dir = path.Dir(dir)
	}
}

// lookup returns the namespace for documents in dir and the kustomization
// file that sets it, or "", "" when unknown.
func (k *namespaces) lookup(dir string) (namespace, from string) {
	if v, ok := k.cache[dir]; ok {
		return v[0], v[1]
	}
	var v [2]string
	if kdir, ok := k.nearest(dir); ok {
		kz := k.at(kdir)
		switch {
		case kz.namespace != "":
			v = [2]string{kz.namespace, kz.file}
		case kdir != "." && kdir != "/" && kdir != "":
			if up, ok := k.nearest(path.Dir(kdir)); ok && k.at(up).includes[kdir] {
				v[0], v[1] = k.lookup(up)
			}
		}
	}
	k.cache[dir] = v
	return v[0], v[1]
}
