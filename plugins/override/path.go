package override

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxmodel"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
)

// findPath is --path p (repo-relative). A folder is built the way Flux
// builds a Kustomization whose spec.path is that folder
// (fluxmodel.LoadPath): the release is the one that build applies, by its
// namespace and name, a patch in the folder merged over its base, and the
// file edited is where that build sets the keys (the folder's patch, else
// the base). A file is the file to edit: the release the clusters apply
// from it (its base or a patch over it), else the document written there,
// which no cluster applies.
func (o *runner) findPath(ctx context.Context, repo *gitrepo.Repo, q fluxmodel.Query, p string) (*found, error) {
	st, err := os.Stat(filepath.Join(repo.Root, filepath.FromSlash(p)))
	if err != nil {
		return nil, exitcode.Errorf(exitcode.NotFound, "--path %s: not in the repository %s; check the path", o.Path, repo.Root)
	}
	m, err := fluxmodel.LoadEntries(ctx, repo.Root)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return o.findFolder(ctx, repo, m, p)
	}
	if f, err := o.findAppliedFile(repo, m, p); f != nil || err != nil {
		return f, err
	}
	q.Path = p
	f, err := o.findWritten(ctx, m, q)
	if f != nil {
		f.note = m.Describe()
		if !m.Plain {
			f.note = fmt.Sprintf("warning: no cluster of the repository (%s) applies HelmRelease %s from %s: editing it as written, which Flux does not apply until a Kustomization includes it",
				m.Describe(), f.doc.Name, f.doc.Path)
		}
	}
	return f, err
}

// findFolder builds folder p as a Flux Kustomization with that path would.
func (o *runner) findFolder(ctx context.Context, repo *gitrepo.Repo, m *fluxmodel.Model, p string) (*found, error) {
	pm, err := fluxmodel.LoadPath(ctx, repo.Root, p)
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Usage, err)
	}
	c := pm.Clusters[0]
	rels := c.Find(o.Namespace, o.Name)
	switch len(rels) {
	case 0:
		if len(c.Errors) > 0 {
			return nil, fmt.Errorf("--path %s does not build the way Flux would build a Kustomization with that path: %w; fix that first (nothing was changed), or name the file to edit with --path <file>", p, errors.Join(c.Errors...))
		}
		var ids []string
		for _, r := range c.Releases {
			ids = append(ids, r.Key())
		}
		applies := "no HelmRelease"
		if len(ids) > 0 {
			applies = strings.Join(ids, ", ")
		}
		return nil, exitcode.Errorf(exitcode.NotFound, "HelmRelease %s is not in what a Flux Kustomization with path %s applies (%s); check the name and -n, or name a file no Kustomization includes with --path <file>", o.Name, p, applies)
	case 1:
	default:
		var ids []string
		for _, r := range rels {
			ids = append(ids, r.Key())
		}
		return nil, exitcode.Errorf(exitcode.Conflict, "HelmRelease %s is applied %d times by the build of %s (%s): pick one with -n", o.Name, len(rels), p, strings.Join(ids, ", "))
	}
	r := rels[0]
	if err := buildErr(pm, r); err != nil {
		return nil, err
	}
	file, line, why, err := o.fileFor(r)
	if err != nil {
		return nil, err
	}
	if !under(file, p) {
		// The keys are set (or would go) outside the folder: the folder's
		// own patch of the release takes them, when it has one.
		if pf, pl := patchUnder(r, p); pf != "" {
			file, line, why = pf, pl, "the patch of "+p
		}
	}
	doc, err := locate(repo, file, r, line)
	if err != nil {
		return nil, err
	}
	doc.Namespace = r.Namespace
	// The model the check looks chart sources up in is the repository's:
	// what its clusters apply, then the files none applies.
	f := &found{doc: doc, model: m, rel: r}
	switch users := m.UsedBy(file); {
	case m.Plain:
		f.note = fmt.Sprintf("editing %s (%s); %s", file, why, m.Describe())
	case len(users) == 0:
		f.note = fmt.Sprintf("warning: editing %s (%s), which no cluster of the repository (%s) applies", file, why, m.Describe())
	default:
		f.note = note(m, file, r.File, why)
	}
	return f, nil
}

// findAppliedFile is the release the clusters of m apply from file: its
// base document, or a patch over it. nil, nil when none does.
func (o *runner) findAppliedFile(repo *gitrepo.Repo, m *fluxmodel.Model, file string) (*found, error) {
	if m.Plain {
		return nil, nil
	}
	var rels []*fluxmodel.Release
	var lines []int
	for _, c := range m.Clusters {
		for _, r := range c.Find(o.Namespace, o.Name) {
			if line, ok := lineIn(r, file); ok {
				rels = append(rels, r)
				lines = append(lines, line)
			}
		}
	}
	if len(rels) == 0 {
		return nil, nil
	}
	var clusters []string
	for _, r := range rels {
		if err := buildErr(m, r); err != nil {
			return nil, err
		}
		clusters = append(clusters, r.Cluster)
	}
	sort.Strings(clusters)
	r := rels[0]
	doc, err := locate(repo, file, r, lines[0])
	if err != nil {
		return nil, err
	}
	doc.Namespace = r.Namespace
	for _, x := range rels {
		if x.Namespace != r.Namespace {
			doc.Namespace = "" // applied under several namespaces
		}
	}
	why := "the base"
	if file != r.File {
		why = "a patch of " + joinAnd(clusters)
	}
	return &found{doc: doc, model: m, rel: r, note: note(m, file, r.File, why)}, nil
}

// lineIn is the line in file that r takes something from: its base
// document, else the first line of a patch there that sets a value.
func lineIn(r *fluxmodel.Release, file string) (int, bool) {
	if r.File == file {
		return r.Line, true
	}
	line := 0
	for _, s := range r.Provenance {
		if s.File == file && s.Patch && (line == 0 || s.Line < line) {
			line = s.Line
		}
	}
	return line, line > 0
}

func under(file, dir string) bool {
	return dir == "." || strings.HasPrefix(file, dir+"/")
}

// patchUnder is a patch file under dir that sets values of r (else any
// part of its spec), and a line in it; "" when none does.
func patchUnder(r *fluxmodel.Release, dir string) (string, int) {
	return patchWhere(r, func(file string) bool { return under(file, dir) })
}
