package manifest

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/suggest"
)

// Query selects documents. Empty fields match anything, except Kind and
// Name which a lookup always sets.
type Query struct {
	Kind string
	// Group is the API group ("helm.toolkit.fluxcd.io"); any version matches.
	Group string
	Name  string
	// Namespace "" matches every namespace. A document whose namespace is
	// unknown (no metadata.namespace, no kustomization sets one) matches any
	// namespace: it lands wherever its Flux Kustomization puts it.
	Namespace string
	// Path is a repo-relative file or directory (forward slashes) the
	// document must be in: how a user picks among ambiguous candidates.
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
func (q Query) Matches(d Doc) bool {
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

// Match returns every document that satisfies q, in path order.
func (ix *Index) Match(q Query) []Doc {
	var out []Doc
	for _, d := range ix.Docs {
		if q.Matches(d) {
			out = append(out, d)
		}
	}
	return out
}

// NotFoundError says what was searched and what came close.
type NotFoundError struct {
	Query Query
	// Files is how many YAML files were searched.
	Files int
	// OfKind is how many documents of the queried kind exist.
	OfKind int
	// Suggestions are documents of the same kind with a similar name, or the
	// same name in another namespace, best first.
	Suggestions []Doc
	// Malformed are files that mention the kind and the name but do not
	// parse: the object is likely in one of them.
	Malformed []*SyntaxError
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

func orNone(ns string) string {
	if ns == "" {
		return "<no namespace>"
	}
	return ns
}

// AmbiguousError lists every candidate; the caller never guesses.
type AmbiguousError struct {
	Query      Query
	Candidates []Doc
}

func (e *AmbiguousError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s matches %d documents; pick one with --path (and -n if the namespaces differ):", e.Query, len(e.Candidates))
	for _, c := range e.Candidates {
		fmt.Fprintf(&b, "\n  --path %s   # %s", c.Path, c.Ref())
	}
	return b.String()
}

// Lookup returns the one document matching q, a *NotFoundError or an
// *AmbiguousError. Two documents of one file that both match are ambiguous
// even with --path; they can only differ by namespace, so -n picks.
func (ix *Index) Lookup(q Query) (Doc, error) {
	m := ix.Match(q)
	switch len(m) {
	case 1:
		return m[0], nil
	case 0:
		return Doc{}, ix.notFound(q)
	}
	// An exact namespace beats a document whose namespace is unknown: with
	// -n prod, the prod overlay wins over a base without a namespace.
	if q.Namespace != "" {
		var exact []Doc
		for _, d := range m {
			if d.Namespace == q.Namespace {
				exact = append(exact, d)
			}
		}
		if len(exact) == 1 {
			return exact[0], nil
		}
	}
	return Doc{}, &AmbiguousError{Query: q, Candidates: m}
}

func (ix *Index) notFound(q Query) *NotFoundError {
	e := &NotFoundError{Query: q, Files: ix.Files, Malformed: ix.Malformed}
	type scored struct {
		d    Doc
		dist int
	}
	var near []scored
	for _, d := range ix.Docs {
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

// Find looks one object up in the checkout r: the files git tracks (under
// q.Path when set), pre-filtered on the kind and name bytes, then parsed.
// Only when nothing matches does it parse every file of the kind, to count
// them and suggest near names. The returned Index is the one the answer
// came from (its Files and Parsed say how much was searched).
func Find(ctx context.Context, r *gitrepo.Repo, q Query) (Doc, *Index, error) {
	var specs []string
	if p := cleanRel(q.Path); p != "" && p != "." {
		specs = []string{p}
	}
	// git grep (multithreaded, in C) narrows thousands of files to the few
	// that mention both the kind and the name; only those are parsed.
	candidates, err := GrepFiles(ctx, r, []string{q.Kind, q.Name}, specs...)
	if err != nil {
		return Doc{}, nil, err
	}
	ix, err := Scan(ctx, r.Root, candidates, ScanOptions{MustContain: []string{q.Kind, q.Name}})
	if err != nil {
		return Doc{}, nil, err
	}
	d, err := ix.Lookup(q)
	if _, nf := err.(*NotFoundError); !nf {
		return d, ix, err
	}
	// Not found: the slow path counts every file and parses every one of
	// the kind, to say what was searched and suggest near names.
	files, err := TrackedFiles(ctx, r, specs...)
	if err != nil {
		return Doc{}, nil, err
	}
	wide, werr := Scan(ctx, r.Root, files, ScanOptions{MustContain: []string{q.Kind}})
	if werr != nil {
		return Doc{}, ix, werr
	}
	d, err = wide.Lookup(q)
	if err == nil {
		// Found only by the full scan: a file git grep does not read as
		// text, such as a symbolic link; the caller decides about it.
		return d, wide, nil
	}
	if nf, ok := err.(*NotFoundError); ok {
		// The broken files worth naming are those that mention the name:
		// the object is most likely in one of them.
		nf.Malformed = ix.Malformed
	}
	return Doc{}, wide, err
}
