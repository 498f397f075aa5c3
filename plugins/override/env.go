package override

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxmodel"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/readlimit"
	"github.com/kubectl-gitops/kubectl-gitops/internal/yamledit"
)

// found is the document an override edits, and how it was chosen.
type found struct {
	doc manifest.Doc
	// query is how the files no cluster applies were searched (no model
	// release): a retry after a concurrent push searches again in the
	// same file.
	query *fluxmodel.Query
	// model is the model of the repository the document was chosen from
	// (the check looks chart sources up in it); rel is set when a cluster
	// applies the release: as (one of) the clusters that take the edit
	// apply it, for validation.
	model *fluxmodel.Model
	rel   *fluxmodel.Release
	// note says which file and environments the edit reaches.
	note string
	// kustomization, when set, is the overlay's kustomization.yaml that
	// must list doc.Path, a patch file --in-patch creates.
	kustomization string
}

// find picks the document to edit, from the model of what each cluster
// applies (internal/fluxmodel): the release by its applied namespace and
// name, and for each key the file that sets it (the patch of that
// environment, else the base). A repository with no entry point is its
// files as written (the model's plain mode says so), and so is a release
// that no cluster applies (a warning). --path builds that folder as Flux
// builds a Kustomization pointed at it, or names the file to edit.
func (o *runner) find(ctx context.Context, repo *gitrepo.Repo) (*found, error) {
	q := fluxmodel.Query{Kind: kindHelmRelease, Group: groupHelmRelease, Name: o.Name, Namespace: o.Namespace}
	if o.Path != "" {
		p, err := o.repoRel(repo, o.Path)
		if err != nil {
			return nil, exitcode.Wrap(exitcode.Usage, err)
		}
		return o.findPath(ctx, repo, q, p)
	}
	// Without an entry point only the file that holds the release is
	// read, bounded (Model.FindUnapplied): the plain model decodes every
	// HelmRelease file whole, which for a 16 MB values map took 417 s
	// instead of 7.
	m, err := fluxmodel.LoadEntries(ctx, repo.Root)
	if err != nil {
		return nil, err
	}
	if m.Plain && o.Env != "" {
		// What --env means there is the full model's answer.
		if m, err = fluxmodel.Load(ctx, repo.Root); err != nil {
			return nil, err
		}
	}
	if m.Plain && o.Env == "" {
		f, err := o.findWritten(ctx, m, q)
		if f != nil {
			f.note = m.Describe()
		}
		return f, err
	}
	if o.Env != "" {
		return o.findEnv(ctx, repo, m)
	}
	var rels []*fluxmodel.Release
	for _, c := range m.Clusters {
		rels = append(rels, c.Find(o.Namespace, o.Name)...)
	}
	if len(rels) == 0 && o.Namespace != "" {
		if err := o.otherNamespaces(m); err != nil {
			return nil, err
		}
	}
	if len(rels) == 0 {
		// Applied by no cluster: the files no cluster applies, with a
		// warning, since Flux does not apply what it finds there.
		f, err := o.findWritten(ctx, m, q)
		if f != nil {
			f.note = fmt.Sprintf("warning: no cluster of the repository (%s) applies HelmRelease %s: editing %s as written, which Flux does not apply until a Kustomization includes it",
				m.Describe(), f.doc.Name, f.doc.Path)
		}
		return f, err
	}
	return o.findAll(ctx, repo, m, rels)
}

// otherNamespaces is the error for a release applied, but not in -n.
func (o *runner) otherNamespaces(m *fluxmodel.Model) error {
	var ids, nss []string
	seen := map[string]bool{}
	for _, c := range m.Clusters {
		for _, r := range c.Find("", o.Name) {
			ids = append(ids, r.ID())
			if !seen[r.Namespace] {
				seen[r.Namespace] = true
				nss = append(nss, r.Namespace)
			}
		}
	}
	if len(ids) == 0 {
		return nil
	}
	sort.Strings(nss)
	return exitcode.Errorf(exitcode.NotFound, "HelmRelease %s is not applied in namespace %s by any cluster; the repository applies %s: use -n %s",
		o.Name, o.Namespace, strings.Join(ids, ", "), strings.Join(nss, " or -n "))
}

// findFiles is findWritten for a retry after a concurrent push: the
// model's entry points read again, and the one file searched again.
func (o *runner) findFiles(ctx context.Context, repo *gitrepo.Repo, q fluxmodel.Query) (*found, error) {
	m, err := fluxmodel.LoadEntries(ctx, repo.Root)
	if err != nil {
		return nil, err
	}
	return o.findWritten(ctx, m, q)
}

// findWritten searches the documents written in files no cluster of m
// applies (every file of a plain model).
func (o *runner) findWritten(ctx context.Context, m *fluxmodel.Model, q fluxmodel.Query) (*found, error) {
	doc, u, err := m.FindUnapplied(ctx, q)
	if err == nil && u != nil {
		// yamledit reads only the edited document; the rest of the file was
		// parsed here, and a syntax error anywhere in it is refused.
		for _, bad := range u.Malformed {
			if bad.Path == doc.Path {
				return nil, exitcode.Errorf(exitcode.Error, "%w; fix the file first, nothing was changed", bad)
			}
		}
	}
	if err != nil {
		var nf *fluxmodel.NotFoundError
		if errors.As(err, &nf) && len(nf.Malformed) == 0 {
			return nil, fmt.Errorf("%w; check the name, -n and --repo", err)
		}
		return nil, err
	}
	if q.Namespace != "" && doc.Namespace == "" {
		// A document the repository gives no namespace would match any -n:
		// a mistyped one would edit it silently.
		return nil, exitcode.Errorf(exitcode.NotFound, "HelmRelease %s in %s has no namespace in the repository (no metadata.namespace, no kustomization namespace), so -n %s cannot be checked against it: drop -n (and pick with --path), or write the namespace into the file or its kustomization.yaml",
			doc.Name, doc.Path, q.Namespace)
	}
	q.Path = doc.Path
	return &found{doc: doc, query: &q, model: m}, nil
}

// findAll edits the file every cluster that applies the release takes the
// values from; when clusters take them from different files, the user
// picks the environment.
func (o *runner) findAll(ctx context.Context, repo *gitrepo.Repo, m *fluxmodel.Model, rels []*fluxmodel.Release) (*found, error) {
	type place struct {
		file, why string
		line      int
		rels      []*fluxmodel.Release
	}
	places := map[string]*place{}
	for _, r := range rels {
		if err := buildErr(m, r); err != nil {
			return nil, err
		}
		file, line, why, err := o.fileFor(r)
		if err != nil {
			return nil, err
		}
		p := places[file]
		if p == nil {
			p = &place{file: file, line: line, why: why}
			places[file] = p
		}
		p.rels = append(p.rels, r)
	}
	if len(places) > 1 {
		var parts, envs []string
		seen := map[string]bool{}
		for _, p := range places {
			var ids []string
			for _, r := range p.rels {
				ids = append(ids, r.ID())
				if !seen[r.Cluster] {
					seen[r.Cluster] = true
					envs = append(envs, r.Cluster)
				}
			}
			parts = append(parts, fmt.Sprintf("%s from %s", strings.Join(ids, ", "), p.file))
		}
		sort.Strings(parts)
		sort.Strings(envs)
		pick := "pick one with --env " + strings.Join(envs, " or --env ")
		if len(envs) == 1 {
			pick = "pick one with -n"
		}
		return nil, exitcode.Errorf(exitcode.Conflict, "HelmRelease %s takes these values from a different file in each environment (%s): %s, or name the file with --path", o.Name, strings.Join(parts, "; "), pick)
	}
	var p *place
	for _, x := range places {
		p = x
	}
	r := p.rels[0]
	doc, err := locate(repo, p.file, r, p.line)
	if err != nil {
		return nil, err
	}
	doc.Namespace = r.Namespace
	for _, x := range p.rels {
		if x.Namespace != r.Namespace {
			doc.Namespace = "" // applied under several namespaces
		}
	}
	return &found{doc: doc, model: m, rel: r, note: note(m, p.file, r.File, p.why)}, nil
}

// findEnv is --env: the file that holds the values for that environment,
// or with --in-patch the environment's patch of the release (a new one
// when it has none).
func (o *runner) findEnv(ctx context.Context, repo *gitrepo.Repo, m *fluxmodel.Model) (*found, error) {
	c := m.Cluster(o.Env)
	if c == nil {
		return nil, exitcode.Errorf(exitcode.NotFound, "--env %s: no such environment; the repository applies %s (%s)", o.Env, strings.Join(m.Names(), ", "), m.Layout)
	}
	rels := c.Find(o.Namespace, o.Name)
	switch len(rels) {
	case 0:
		return nil, exitcode.Errorf(exitcode.NotFound, "HelmRelease %s is not applied in environment %s; check the name and -n", o.Name, o.Env)
	case 1:
	default:
		var ids []string
		for _, r := range rels {
			ids = append(ids, r.Key())
		}
		return nil, exitcode.Errorf(exitcode.Conflict, "HelmRelease %s is applied %d times in %s (%s): pick one with -n", o.Name, len(rels), o.Env, strings.Join(ids, ", "))
	}
	r := rels[0]
	if err := buildErr(m, r); err != nil {
		return nil, err
	}
	if o.InPatch {
		file, line := patchOf(r)
		if file == "" {
			return o.newPatch(repo, m, r)
		}
		doc, err := locate(repo, file, r, line)
		if err != nil {
			return nil, err
		}
		doc.Namespace = r.Namespace
		return &found{doc: doc, model: m, rel: r, note: note(m, file, r.File, "a patch of "+o.Env)}, nil
	}
	file, line, why, err := o.fileFor(r)
	if err != nil {
		return nil, err
	}
	doc, err := locate(repo, file, r, line)
	if err != nil {
		return nil, err
	}
	doc.Namespace = r.Namespace
	return &found{doc: doc, model: m, rel: r, note: note(m, file, r.File, why)}, nil
}

// buildErr refuses a release whose build failed: the model does not know
// where its values come from.
func buildErr(m *fluxmodel.Model, r *fluxmodel.Release) error {
	if r.Err != nil {
		return fmt.Errorf("environment %s does not build: %w; fix that first, nothing was changed", r.Cluster, r.Err)
	}
	c := m.Cluster(r.Cluster)
	if c == nil {
		return nil
	}
	for _, e := range c.Errors {
		if be, ok := e.(*fluxmodel.BuildError); ok && be.Kustomization == r.Kustomization {
			return fmt.Errorf("environment %s does not build: %w; fix that first, nothing was changed", r.Cluster, e)
		}
	}
	return nil
}

// fileFor is where the keys the flags write live for r: for each key, the
// patch that sets it (or the nearest map above it), else the base. Keys
// set in different files are refused: one override edits one file.
func (o *runner) fileFor(r *fluxmodel.Release) (file string, line int, why string, err error) {
	files := map[string][]string{}
	lines := map[string]int{}
	for _, k := range o.keys() {
		s, ok := setterOf(r, k)
		f, l := r.File, r.Line
		if ok && s.Patch {
			f, l = s.File, s.Line
		}
		files[f] = append(files[f], k)
		if _, seen := lines[f]; !seen {
			lines[f] = l
		}
	}
	if len(files) > 1 {
		var parts []string
		for f, ks := range files {
			parts = append(parts, fmt.Sprintf("%s in %s", strings.Join(ks, ", "), f))
		}
		sort.Strings(parts)
		return "", 0, "", exitcode.Errorf(exitcode.Usage, "the keys are set in different files for %s (%s): run override once per file", r.Cluster, strings.Join(parts, "; "))
	}
	file, line = r.File, r.Line
	for f := range files {
		file, line = f, lines[f]
	}
	if file == r.File {
		return file, line, "the base", nil
	}
	return file, line, "the patch that sets it in " + r.Cluster, nil
}

// note says which file is edited, why, and which environments it reaches.
func note(m *fluxmodel.Model, file, base, why string) string {
	users := m.UsedBy(file)
	n := fmt.Sprintf("editing %s (%s)", file, why)
	switch {
	case len(users) > 1:
		n += fmt.Sprintf(": this %s value is used by %s", map[bool]string{true: "base", false: "file's"}[file == base], joinAnd(users))
	case len(users) == 1:
		n += ": it is used by " + users[0] + " only"
	}
	return n
}

// locate finds, in file, the HelmRelease document of r that the model
// took a value from: the one holding line when several name it (a file of
// patches), else the one whose written name is r's name or the longest
// contained in it (a namePrefix or nameSuffix is added on the way).
func locate(repo *gitrepo.Repo, file string, r *fluxmodel.Release, line int) (manifest.Doc, error) {
	data, err := os.ReadFile(filepath.Join(repo.Root, filepath.FromSlash(file)))
	if err != nil {
		return manifest.Doc{}, err
	}
	docs, serr := manifest.ParseFile(file, data)
	if serr != nil {
		return manifest.Doc{}, exitcode.Errorf(exitcode.Error, "%w; fix the file first, nothing was changed", serr)
	}
	// The document holding line, when the model gave one; else the
	// written name: r's own, or the longest contained in it.
	var best *manifest.Doc
	for i := range docs {
		d := &docs[i].Doc
		if d.Kind != kindHelmRelease || d.Group != groupHelmRelease || d.Name == "" || !strings.Contains(r.Name, d.Name) {
			continue
		}
		if line > 0 && d.Line <= line && (best == nil || best.Line < d.Line) {
			best = d
		}
	}
	if best == nil {
		for i := range docs {
			d := &docs[i].Doc
			if d.Kind != kindHelmRelease || d.Group != groupHelmRelease || d.Name == "" || !strings.Contains(r.Name, d.Name) {
				continue
			}
			if best == nil || len(d.Name) > len(best.Name) {
				best = d
			}
		}
	}
	if best == nil {
		// An inline patch in a kustomization.yaml, or a JSON 6902 one:
		// no HelmRelease document to edit.
		return manifest.Doc{}, exitcode.Errorf(exitcode.Conflict, "%s:%d sets the values of HelmRelease %s, but it is not a HelmRelease document (an inline or JSON 6902 patch): edit it by hand", file, line, r.Key())
	}
	best.Name = r.Name
	return *best, nil
}

// newPatch is --in-patch for an environment with no patch of the release:
// a new patch file beside the folder that environment builds, listed in
// its kustomization.yaml's patches.
func (o *runner) newPatch(repo *gitrepo.Repo, m *fluxmodel.Model, r *fluxmodel.Release) (*found, error) {
	base, err := locate(repo, r.File, r, r.Line)
	if err != nil {
		return nil, err
	}
	dir := r.Dir
	kfile := ""
	for _, n := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		p := path.Join(dir, n)
		if st, err := os.Stat(filepath.Join(repo.Root, filepath.FromSlash(p))); err == nil && !st.IsDir() {
			kfile = p
			break
		}
	}
	if dir == "" || kfile == "" {
		return nil, exitcode.Errorf(exitcode.Conflict, "--in-patch: no patch of HelmRelease %s applies in %s, and %s has no kustomization.yaml to list a new one in (Flux generates it): write one with resources and a patches entry first", r.Key(), o.Env, orRoot(dir))
	}
	if path.Dir(r.File) == dir {
		return nil, exitcode.Errorf(exitcode.Conflict, "--in-patch: HelmRelease %s is written in %s, the folder %s builds itself: a patch there is no different from the base; edit without --in-patch", r.Key(), r.File, o.Env)
	}
	var file string
	for _, n := range []string{base.Name + "-values.yaml", base.Name + "-" + o.Env + "-values.yaml"} {
		p := path.Join(dir, n)
		if _, err := os.Lstat(filepath.Join(repo.Root, filepath.FromSlash(p))); os.IsNotExist(err) {
			file = p
			break
		}
	}
	if file == "" {
		return nil, exitcode.Errorf(exitcode.Conflict, "--in-patch: no patch of HelmRelease %s applies in %s, and the names for a new one in %s are taken: list a patch in %s by hand", r.Key(), o.Env, dir, kfile)
	}
	doc := manifest.Doc{Path: file, Index: 0, Line: 1, APIVersion: base.APIVersion, Group: base.Group, Kind: base.Kind, Name: r.Name, Namespace: r.Namespace}
	f := &found{doc: doc, model: m, rel: r, kustomization: kfile}
	f.note = fmt.Sprintf("creating %s (a new patch of %s, listed in %s): it is used by %s only", file, o.Env, kfile, o.Env)
	if users := clustersBuilding(m, dir); len(users) > 1 {
		f.note = fmt.Sprintf("creating %s (a new patch of %s, listed in %s): this folder is built by %s", file, o.Env, kfile, joinAnd(users))
	}
	return f, nil
}

// newPatchSource is the patch document a new patch file starts from: the
// base's apiVersion, kind and written name (the one kustomize matches
// patches against), and its namespace when the base writes one.
func newPatchSource(repo *gitrepo.Repo, base manifest.Doc, r *fluxmodel.Release) ([]byte, error) {
	data, err := os.ReadFile(filepath.Join(repo.Root, filepath.FromSlash(base.Path)))
	if err != nil {
		return nil, err
	}
	docs, serr := manifest.ParseFile(base.Path, data)
	if serr != nil {
		return nil, serr
	}
	for _, d := range docs {
		if d.Index != base.Index {
			continue
		}
		var b strings.Builder
		fmt.Fprintf(&b, "apiVersion: %s\nkind: %s\nmetadata:\n  name: %s\n", d.APIVersion, d.Kind, d.Name)
		if d.Namespace != "" {
			fmt.Fprintf(&b, "  namespace: %s\n", d.Namespace)
		}
		return []byte(b.String()), nil
	}
	return nil, fmt.Errorf("%s: document %d of HelmRelease %s not found", base.Path, base.Index+1, r.Key())
}

// clustersBuilding lists the clusters that build dir.
func clustersBuilding(m *fluxmodel.Model, dir string) []string {
	var out []string
	for _, c := range m.Clusters {
		for _, r := range c.Releases {
			if r.Dir == dir {
				out = append(out, c.Name)
				break
			}
		}
	}
	return out
}

func orRoot(dir string) string {
	if dir == "" || dir == "." {
		return "the repository root"
	}
	return dir
}

// keys are the values keys the flags set or unset (-f files count as their
// top-level keys being set where the release's values are).
func (o *runner) keys() []string {
	var out []string
	for _, l := range [][]string{o.Set, o.SetString, o.SetJSON, o.Replace} {
		for _, a := range l {
			k, _, _ := strings.Cut(a, "=")
			out = append(out, k)
		}
	}
	return append(out, o.Unset...)
}

// setterOf is where the value at key (or the nearest map above it) is set.
func setterOf(r *fluxmodel.Release, key string) (fluxmodel.Setter, bool) {
	for k := key; k != ""; {
		if s, ok := r.ValueSetter(k); ok {
			return s, true
		}
		i := strings.LastIndexAny(k, ".[")
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return fluxmodel.Setter{}, false
}

// patchOf is a patch file that sets values of r (else any part of its
// spec), and a line in it; "" when none does.
func patchOf(r *fluxmodel.Release) (string, int) {
	return patchWhere(r, func(string) bool { return true })
}

// patchWhere is patchOf among the patch files that in accepts.
func patchWhere(r *fluxmodel.Release, in func(file string) bool) (string, int) {
	var any string
	var anyLine int
	keys := make([]string, 0, len(r.Provenance))
	for k := range r.Provenance {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s := r.Provenance[k]
		if !s.Patch || !in(s.File) {
			continue
		}
		if strings.HasPrefix(k, "spec.values") {
			return s.File, s.Line
		}
		if any == "" {
			any, anyLine = s.File, s.Line
		}
	}
	return any, anyLine
}

func joinAnd(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// listPatch adds the new patch file ed.doc to the patches of the overlay's
// kustomization.yaml kfile, editing only the lines that change.
func (o *runner) listPatch(ctx context.Context, repo *gitrepo.Repo, ed *edited, kfile string) error {
	full, err := o.inRepo(repo, kfile)
	if err != nil {
		return err
	}
	src, err := readlimit.ReadFile(ctx, full)
	if err != nil {
		return err
	}
	yd, err := yamledit.Open(src, 0)
	if err != nil {
		return fmt.Errorf("%s: %w", kfile, err)
	}
	entry := map[string]any{"path": path.Base(ed.doc.Path)}
	op := yamledit.Op{Path: yamledit.Path{"patches"}, Value: []any{entry}}
	switch cur, ok := yd.Get(yamledit.Path{"patches"}); {
	case !ok || cur == nil:
	default:
		list, isList := cur.([]any)
		if !isList {
			return exitcode.Errorf(exitcode.Conflict, "%s: patches is not a list; add the entry for %s by hand", kfile, ed.doc.Path)
		}
		op = yamledit.Op{Path: yamledit.Path{"patches", len(list)}, Value: entry}
	}
	out, _, err := yd.Apply(yamledit.Path{}, []yamledit.Op{op})
	if err != nil {
		return fmt.Errorf("%s: %w", kfile, err)
	}
	ed.kustomization, ed.kSrc, ed.kOut = kfile, src, out
	return nil
}
