package fluxmodel

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

const (
	originKey = "config.kubernetes.io/origin"
	// selfSource is the GitRepository flux bootstrap creates for the
	// repository it is run on.
	selfSource = "flux-system"
)

// BuildError is a build that failed: a Kustomization kustomize refused, a
// missing resource, a cycle, a file that is not YAML. File names the file
// to look at (relative to the root) and Line the line when known.
type BuildError struct {
	Cluster       string
	Kustomization string
	File          string
	Line          int
	Err           error
}

func (e *BuildError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	who := ""
	if e.Kustomization != "" {
		who = " (Kustomization " + e.Kustomization + ")"
	}
	return fmt.Sprintf("%s%s: %v", loc, who, e.Err)
}

func (e *BuildError) Unwrap() error { return e.Err }

// Load builds the model of the checkout at root. It returns an error only
// when root cannot be read at all; what is wrong in a cluster is in that
// cluster's Errors, and the rest of the model is still there.
func Load(ctx context.Context, root string) (*Model, error) {
	return loadModel(ctx, root, nil, true)
}

// LoadEntries is Load for a caller that reads the files of a repository
// without entry points itself (override edits one file, bounded, and a
// values map of 64 MB must not be decoded whole to find it): there it
// returns the Plain model with no clusters and reads no HelmRelease file.
// Elsewhere it is Load.
func LoadEntries(ctx context.Context, root string) (*Model, error) {
	return loadModel(ctx, root, nil, false)
}

// LoadTree is Load of a commit's tree (gitrepo.Repo.ReadTree) shown at
// root (see TreeRoot), a name that need not be a folder on disk: nothing
// is read from the disk or written to it.
func LoadTree(ctx context.Context, root string, tree *gitrepo.Tree) (*Model, error) {
	return loadFiles(ctx, onTree(root, tree), nil, true)
}

// loadModel is Load with a cache of builds (nil: none); readPlain says
// whether a repository without entry points is modelled from its
// HelmRelease files or returned as Plain with no clusters.
func loadModel(ctx context.Context, root string, cache *Cache, readPlain bool) (*Model, error) {
	fl, err := Checkout{Root: root}.files()
	if err != nil {
		return nil, err
	}
	return loadFiles(ctx, fl, cache, readPlain)
}

func loadFiles(ctx context.Context, fl *files, cache *Cache, readPlain bool) (*Model, error) {
	layout, eps, err := entryPoints(fl)
	if err != nil {
		return nil, err
	}
	m := &Model{Root: fl.root, Layout: layout, Plain: len(eps) == 0, fl: fl}
	if m.Plain && !readPlain {
		return m, nil
	}
	if !fl.buildable() {
		return loadCopy(ctx, fl.root)
	}
	if m.Plain {
		c, err := plainCluster(fl)
		if err != nil {
			return nil, err
		}
		m.Clusters = []*Cluster{c}
		return m, nil
	}
	for _, ep := range eps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b := &builder{fl: fl, cache: cache, cluster: &Cluster{Name: ep.name, Entry: ep.dirs}, built: map[string]bool{}, seen: map[string]bool{}}
		b.run(ctx, ep.dirs)
		m.Clusters = append(m.Clusters, b.cluster)
	}
	sort.Slice(m.Clusters, func(i, j int) bool { return m.Clusters[i].Name < m.Clusters[j].Name })
	return m, nil
}

// builder builds one cluster.
type builder struct {
	fl      *files // the checkout
	cache   *Cache // nil: no reuse
	cluster *Cluster
	// built are the paths already built without a Flux Kustomization
	// (entry points), seen the Flux Kustomizations already followed.
	built, seen map[string]bool
	outputs     []*output
	// changes, when set, are the paths a diff's range changes: a Flux
	// Kustomization whose static closure they miss is not built
	// (LoadRange), its output stays deferred.
	changes    *changes
	secrets    map[string]map[string]string // ns/name -> data
	configMaps map[string]map[string]string
	// waiting indexes the deferred outputs by Kustomization (partner);
	// dirty says materialize added objects out of order (refresh).
	waiting map[string]*output
	dirty   bool
	// disk is the checkout, confined to it, made once (fs).
	disk     filesys.FileSystem
	diskErr  error
	diskOnce sync.Once
}

// output is the result of one build, substituted after every build is done
// (a ConfigMap substituteFrom names may come from another build).
type output struct {
	ks   *Kustomization
	obj  map[string]any // the Flux Kustomization object; nil for an entry point
	dir  string
	res  []*resource.Resource
	file string // the file that configured the build, for errors
	// docs are the documents the build reads, by kind (see sources).
	docs map[string][]docRef
	// deferred is set for a build LoadRange left out (closure says what
	// it reads), until it is built; failed for a build that failed.
	deferred bool
	closure  *closure
	failed   bool
}

func (b *builder) run(ctx context.Context, dirs []string) {
	b.start(dirs)
	b.finish(ctx)
}

// start builds the entry points and every level of Flux Kustomizations
// under them, and keeps their objects; finish collects the releases.
func (b *builder) start(dirs []string) {
	b.secrets, b.configMaps = map[string]map[string]string{}, map[string]map[string]string{}
	var queue []output
	for _, d := range dirs {
		b.built[d] = true
		queue = append(queue, output{dir: d, file: d})
	}
	b.levels(queue)
}

func (b *builder) levels(queue []output) {
	for len(queue) > 0 {
		// The Kustomizations found at one level are independent: they
		// are built side by side, then taken in order. With changes, one
		// whose closure the range does not touch waits (LoadRange), in
		// its place among the outputs.
		level := queue
		queue = nil
		var todo []output
		for i, o := range level {
			var cl *closure
			if o.ks != nil && b.changes != nil {
				cl = staticClosure(b.fl, o.dir, components(o.obj), b.changes)
			}
			switch {
			case cl != nil && cl.topRead:
				if len(cl.remote) > 0 {
					o.ks.addNote(remoteNote(cl.remote))
				}
			case o.ks != nil:
				b.noteRemote(o)
			}
			if cl != nil {
				level[i].closure = cl
				if !cl.touched && cl.unsure == "" {
					level[i].deferred = true
					continue
				}
				o.closure = cl
			}
			todo = append(todo, o)
		}
		results := buildAll(todo, b.build)
		next := 0
		for _, o := range level {
			if o.deferred {
				b.outputs = append(b.outputs, &o)
				continue
			}
			res, err := results[next].res, results[next].err
			next++
			if err != nil {
				b.fail(o, err)
				continue
			}
			b.take(o, res, &queue)
		}
	}
}

func (b *builder) finish(ctx context.Context) {
	for _, o := range b.outputs {
		if !o.deferred && !o.failed {
			b.collect(ctx, *o)
		}
	}
	sort.Slice(b.cluster.Releases, func(i, j int) bool { return b.cluster.Releases[i].Key() < b.cluster.Releases[j].Key() })
}

// fs is the checkout as kustomize reads it, made on first use.
func (b *builder) fs() (filesys.FileSystem, error) {
	b.diskOnce.Do(func() { b.disk, b.diskErr = b.fl.kustomize() })
	return b.disk, b.diskErr
}

// components are a Flux Kustomization's spec.components.
func components(obj map[string]any) []string {
	var comps []string
	if obj != nil {
		for _, c := range nestedSlice(obj, "spec", "components") {
			if s, ok := c.(string); ok {
				comps = append(comps, s)
			}
		}
	}
	return comps
}

// noteRemote says which remote resources the build leaves out.
func (b *builder) noteRemote(o output) {
	disk, err := b.fs()
	if err != nil {
		return
	}
	if remote := remoteResources(disk, b.fl.abs(o.dir)); len(remote) > 0 {
		o.ks.addNote(remoteNote(remote))
	}
}

func remoteNote(remote []string) string {
	return fmt.Sprintf("remote resources not fetched, the rest is built: %s", strings.Join(remote, ", "))
}

// take keeps one build's output: its objects, and the Flux Kustomizations
// in it to follow next.
func (b *builder) take(o output, res []*resource.Resource, queue *[]output) {
	{
		o.res = res
		o.docs = sources(b.fl, o.dir, components(o.obj))
		b.outputs = append(b.outputs, &o)
		for _, r := range res {
			b.remember(r, o)
		}
		for _, r := range res {
			if r.GetKind() == "Kustomization" && group(r.GetApiVersion()) == "kustomize.toolkit.fluxcd.io" {
				if next, ok := b.follow(r, o); ok {
					*queue = append(*queue, next)
				}
			}
		}
	}
}

func group(apiVersion string) string {
	g, _, ok := strings.Cut(apiVersion, "/")
	if !ok {
		return ""
	}
	return g
}

func (b *builder) fail(o output, err error) {
	be := &BuildError{Cluster: b.cluster.Name, File: o.file, Err: b.relErr(err)}
	if o.ks != nil {
		be.Kustomization = o.ks.Namespace + "/" + o.ks.Name
		be.File, be.Line = o.ks.File, o.ks.Line
		o.ks.Err = be
	}
	if d := diagnose(b.fl, o.dir); d != nil {
		be.File, be.Line, be.Err = d.File, d.Line, d.Err
	} else if f, line := fileInError(b.fl, err); f != "" {
		be.File, be.Line = f, line
	}
	b.cluster.Errors = append(b.cluster.Errors, be)
}

// relErr rewrites absolute paths under the root in kustomize's messages to
// paths relative to the repository.
func (b *builder) relErr(err error) error {
	msg := strings.ReplaceAll(err.Error(), b.fl.root+string(filepath.Separator), "")
	return errors.New(msg)
}

// follow turns a Flux Kustomization object into a build, when its source is
// this repository.
func (b *builder) follow(r *resource.Resource, from output) (output, bool) {
	file, line := b.origin(r, from)
	m, err := r.Map()
	if err != nil {
		return output{}, false
	}
	ks := &Kustomization{Namespace: r.GetNamespace(), Name: r.GetName(), File: file, Line: line}
	key := ks.Namespace + "/" + ks.Name
	if b.seen[key] {
		return output{}, false
	}
	b.seen[key] = true
	b.cluster.Kustomizations = append(b.cluster.Kustomizations, ks)
	spec, _ := m["spec"].(map[string]any)
	src, _ := spec["sourceRef"].(map[string]any)
	kind, _ := src["kind"].(string)
	name, _ := src["name"].(string)
	p, _ := spec["path"].(string)
	switch {
	case kind == "ExternalArtifact":
		ns, _ := src["namespace"].(string)
		if ns == "" {
			ns = r.GetNamespace()
		}
		mapped, note := b.artifactPath(name, ns, p)
		if note != "" {
			ks.Note = note
			return output{}, false
		}
		p = mapped
	case kind != "GitRepository" || !b.isSelf(name, r.GetNamespace(), src):
		ks.Note = fmt.Sprintf("source %s/%s is not this repository: not followed", kind, name)
		return output{}, false
	}
	p = path.Clean(strings.TrimPrefix(strings.TrimPrefix(p, "./"), "/"))
	if p == "" || strings.HasPrefix(p, "..") {
		p = "."
	}
	if note := b.elsewhere(kind, name, ksNamespaceOf(src, r.GetNamespace()), p); note != "" {
		ks.Note = note
		return output{}, false
	}
	ks.Path, ks.Followed = p, true
	if b.built[p] && !transforms(spec) {
		return output{}, false // the entry point itself (flux-system)
	}
	return output{ks: ks, obj: m, dir: p, file: file}, true
}

// transforms reports whether a Kustomization changes what it builds.
func transforms(spec map[string]any) bool {
	for _, k := range []string{"targetNamespace", "namePrefix", "nameSuffix", "patches", "images", "components", "postBuild", "patchesStrategicMerge", "patchesJson6902", "commonMetadata"} {
		if _, ok := spec[k]; ok {
			return true
		}
	}
	return false
}

// isSelf reports whether the GitRepository name is this repository: the one
// flux bootstrap creates, or one with the same URL.
func (b *builder) isSelf(name, ksNamespace string, ref map[string]any) bool {
	if name == selfSource {
		return true
	}
	ns, _ := ref["namespace"].(string)
	if ns == "" {
		ns = ksNamespace
	}
	var self, this string
	for _, o := range b.cluster.Objects {
		if o.Kind != "GitRepository" {
			continue
		}
		url, _ := nested(o.Data, "spec", "url").(string)
		if o.Name == selfSource {
			self = url
		}
		if o.Name == name && o.Namespace == ns {
			this = url
		}
	}
	// No bootstrap source in the repository: every GitRepository is taken
	// to be the repository itself (one-repo layouts).
	return self == "" || this == "" || this == self
}

func nestedSlice(m map[string]any, keys ...string) []any {
	s, _ := nested(m, keys...).([]any)
	return s
}

func nested(m map[string]any, keys ...string) any {
	var cur any = m
	for _, k := range keys {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[k]
	}
	return cur
}

// build runs kustomize on o.dir the way kustomize-controller does: Flux's
// generator writes the kustomization.yaml (the folder's own, with the Flux
// Kustomization's overlays on top, or one listing the folder's manifests),
// kept in memory so that the checkout is never written.
func (b *builder) build(o output) ([]*resource.Resource, error) {
	dir := b.fl.abs(o.dir)
	if st, err := b.fl.stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("path %q does not exist in the repository", o.dir)
	}
	obj := o.obj
	if obj == nil {
		obj = map[string]any{"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", "metadata": map[string]any{"name": "entry"}, "spec": map[string]any{}}
	}
	disk, err := b.fs()
	if err != nil {
		return nil, err
	}
	key := cacheKey(o.dir, obj)
	cache := b.cache
	if o.closure != nil && o.closure.touched {
		// The range changes what it reads: the other side's build
		// cannot be this one, and recording every read costs a second
		// read of each file.
		cache = nil
	}
	if cache != nil {
		if res, ok := cache.lookup(key, b.fl); ok {
			return res, nil
		}
	}
	fs := newOverlay(disk)
	if cache != nil {
		fs.rec = newRecorder(b.fl)
	}
	data, kfile, ok, err := generate(fs, dir, obj)
	if err != nil {
		return nil, err
	}
	var res []*resource.Resource
	if ok { // !ok: an empty folder, nothing applied
		if err := fs.WriteFile(kfile, data); err != nil {
			return nil, err
		}
		if res, err = kustomize(fs, dir); err != nil {
			return nil, err
		}
	}
	if cache != nil {
		cache.store(key, fs.rec, res)
	}
	return res, nil
}

// origin returns the file (relative to the root) and line of the document r
// was built from: kustomize's origin annotation when the kustomization.yaml
// asks for it, else the document of the same kind whose name is r's name
// (or is contained in it: a namePrefix/nameSuffix added), in the same
// namespace when one is written, longest name first.
func (b *builder) origin(r *resource.Resource, from output) (string, int) {
	dir := from.dir
	o, err := r.GetOrigin()
	if err != nil || o == nil || o.Path == "" {
		var best *docRef
		name, ns := r.GetName(), r.GetNamespace()
		for i, d := range from.docs[r.GetKind()] {
			if d.doc.name == "" || !strings.Contains(name, d.doc.name) {
				continue
			}
			if best == nil || len(d.doc.name) > len(best.doc.name) ||
				(len(d.doc.name) == len(best.doc.name) && d.doc.namespace == ns && best.doc.namespace != ns) {
				best = &from.docs[r.GetKind()][i]
			}
		}
		if best == nil {
			return "", 0
		}
		return best.file, best.doc.line
	}
	p := o.Path
	if o.ConfiguredIn != "" && o.Path == "" {
		p = o.ConfiguredIn
	}
	file := path.Clean(path.Join(dir, filepath.ToSlash(p)))
	return file, b.fl.docLine(b.fl.abs(file), r.GetKind(), r.GetName())
}

// stripOrigin removes the annotation withOrigins asked for.
func stripOrigin(r *resource.Resource) *resource.Resource {
	ann := r.GetAnnotations()
	if _, ok := ann[originKey]; ok {
		delete(ann, originKey)
		_ = r.SetAnnotations(ann)
	}
	return r
}

// remember keeps the objects a later build or a release lookup needs.
func (b *builder) remember(r *resource.Resource, from output) {
	if r.GetKind() == "HelmRelease" {
		return
	}
	file, line := b.origin(r, from)
	m, err := stripOrigin(r.DeepCopy()).Map()
	if err != nil {
		return
	}
	o := &Object{APIVersion: r.GetApiVersion(), Kind: r.GetKind(), Namespace: r.GetNamespace(), Name: r.GetName(), Data: m, File: file, Line: line}
	key := o.Namespace + "/" + o.Name
	switch o.Kind {
	case "Secret":
		data := map[string]string{}
		if d, ok := m["data"].(map[string]any); ok {
			for k, v := range d {
				s, _ := v.(string)
				raw, err := base64.StdEncoding.DecodeString(s)
				if err == nil {
					data[k] = string(raw)
				}
			}
		}
		if d, ok := m["stringData"].(map[string]any); ok {
			for k, v := range d {
				data[k] = fmt.Sprint(v)
			}
		}
		b.secrets[key] = data
		// Secret values are never kept where a command could print them.
		o.Data = map[string]any{"apiVersion": o.APIVersion, "kind": o.Kind, "metadata": m["metadata"]}
	case "ConfigMap":
		data := map[string]string{}
		if d, ok := m["data"].(map[string]any); ok {
			for k, v := range d {
				data[k] = fmt.Sprint(v)
			}
		}
		b.configMaps[key] = data
	}
	b.cluster.Objects = append(b.cluster.Objects, o)
}

// collect substitutes variables and keeps the releases of one build.
func (b *builder) collect(ctx context.Context, o output) {
	vars, missing, err := b.vars(o)
	if err != nil {
		b.fail(o, err)
		return
	}
	b.noteMissing(o, missing)
	ksKey := ""
	if o.ks != nil {
		ksKey = o.ks.Namespace + "/" + o.ks.Name
	}
	chain := patchChain(b.fl, o)
	for _, r := range o.res {
		if r.GetKind() != "HelmRelease" || group(r.GetApiVersion()) != "helm.toolkit.fluxcd.io" {
			continue
		}
		file, line := b.origin(r, o)
		r = stripOrigin(r.DeepCopy())
		rel := &Release{Cluster: b.cluster.Name, Namespace: r.GetNamespace(), Name: r.GetName(), Kustomization: ksKey, Dir: o.dir, File: file, Line: line}
		if vars != nil {
			if err := substitute(r, vars, len(missing) > 0); err != nil {
				rel.Err = &BuildError{Cluster: b.cluster.Name, Kustomization: ksKey, File: file, Line: line, Err: fmt.Errorf("postBuild substitution: %w", err)}
			}
		}
		if rel.Namespace == "" {
			rel.Namespace = r.GetNamespace()
		}
		obj, err := r.Map()
		if err != nil && rel.Err == nil {
			rel.Err = &BuildError{Cluster: b.cluster.Name, Kustomization: ksKey, File: file, Line: line, Err: err}
		}
		rel.Object = obj
		if rel.Namespace == "" && o.ks != nil {
			// Flux applies a namespace-less object into the
			// Kustomization's own namespace only with targetNamespace;
			// without it the API server's default applies.
			rel.Namespace = "default"
		}
		if rel.Namespace == "" {
			rel.Namespace = "default"
		}
		if rel.Err == nil {
			hr, err := decode(obj)
			if err != nil {
				rel.Err = &BuildError{Cluster: b.cluster.Name, Kustomization: ksKey, File: file, Line: line, Err: err}
			} else {
				hr.Namespace = rel.Namespace
				rel.HR = hr
			}
		}
		rel.Provenance = provenance(b.fl, file, rel.Name, chain, o)
		if prev := b.cluster.Release(rel.Namespace, rel.Name); prev != nil {
			if prev.File != rel.File || prev.Kustomization == rel.Kustomization {
				b.cluster.Errors = append(b.cluster.Errors, &BuildError{Cluster: b.cluster.Name, Kustomization: ksKey, File: file, Line: line,
					Err: fmt.Errorf("HelmRelease %s is applied twice (also from %s by %q): keep one", rel.Key(), prev.File, prev.Kustomization)})
			}
			continue
		}
		b.cluster.Releases = append(b.cluster.Releases, rel)
	}
}

// noteMissing says which substituteFrom objects the repository does not hold.
func (b *builder) noteMissing(o output, missing []string) {
	if len(missing) > 0 && o.ks != nil {
		o.ks.addNote(fmt.Sprintf("postBuild.substituteFrom %s not in the repository for this cluster (created outside Git?): its variables are left as written, or take their ${VAR:=default}", strings.Join(missing, ", ")))
	}
}

// vars are the postBuild variables of a build: substituteFrom ConfigMaps and
// Secrets found in the cluster's objects, then the inline substitute.
// missing names the substituteFrom objects the repository does not hold
// (a Secret made by external-secrets or by hand at bootstrap): not an
// error, since Flux finds them in the cluster, but their variables are
// unknown here.
func (b *builder) vars(o output) (vars map[string]string, missing []string, err error) {
	if o.obj == nil {
		return nil, nil, nil
	}
	pb, ok := nested(o.obj, "spec", "postBuild").(map[string]any)
	if !ok {
		return nil, nil, nil
	}
	vars = map[string]string{}
	from, _ := pb["substituteFrom"].([]any)
	for _, f := range from {
		ref, _ := f.(map[string]any)
		kind, _ := ref["kind"].(string)
		name, _ := ref["name"].(string)
		optional, _ := ref["optional"].(bool)
		key := o.ks.Namespace + "/" + name
		data, found := b.varData(kind, key)
		if !found {
			if !optional {
				missing = append(missing, kind+" "+key)
			}
			continue
		}
		for k, v := range data {
			vars[k] = strings.ReplaceAll(v, "\n", "")
		}
	}
	if sub, ok := pb["substitute"].(map[string]any); ok {
		for k, v := range sub {
			vars[k] = strings.ReplaceAll(fmt.Sprint(v), "\n", "")
		}
	}
	return vars, missing, nil
}

func decode(obj map[string]any) (*helmv2.HelmRelease, error) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var hr helmv2.HelmRelease
	if err := json.Unmarshal(b, &hr); err != nil {
		return nil, fmt.Errorf("HelmRelease %s does not decode: %w", nestedName(obj), err)
	}
	return &hr, nil
}

func nestedName(obj map[string]any) string {
	n, _ := nested(obj, "metadata", "name").(string)
	return n
}

// docRef is a document a build reads, with the file (relative to the root)
// that holds it.
type docRef struct {
	file string
	doc  rawDoc
}

// sources indexes, by kind, the documents a build of dir reads as
// resources: its kustomization.yaml's resources, bases and components
// (folders followed), or, for a folder without one, its YAML files as
// Flux's generated kustomization.yaml lists them. The model finds a built
// object's file here rather than asking kustomize for origin annotations:
// with those, kustomize annotates every object after every transformer
// (one per patch), which made a build with 500 patches over 500 objects
// take minutes (bench/model_bench_test.go).
func sources(fl *files, dir string, extra []string) map[string][]docRef {
	root := fl.root
	idx := map[string][]docRef{}
	seen := map[string]bool{}
	addFile := func(file string) {
		if seen[file] {
			return
		}
		seen[file] = true
		data, err := fl.readFile(fl.abs(file))
		if err != nil {
			return
		}
		for _, d := range decodeAll(data) {
			idx[d.kind] = append(idx[d.kind], docRef{file: file, doc: d})
		}
	}
	var walk func(dir string)
	walk = func(dir string) {
		if seen[dir+"/"] {
			return
		}
		seen[dir+"/"] = true
		_, k := readKustomization(fl, dir)
		if k == nil {
			_ = fl.walkDir(fl.abs(dir), func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return nil
				}
				rel, _ := filepath.Rel(root, p)
				rel = filepath.ToSlash(rel)
				if d.IsDir() {
					if rel != dir && fl.hasKustomization(p) {
						walk(rel)
						return filepath.SkipDir
					}
					return nil
				}
				if ext := path.Ext(rel); ext == ".yaml" || ext == ".yml" {
					addFile(rel)
				}
				return nil
			})
			return
		}
		for _, key := range []string{"resources", "bases", "components"} {
			for _, r := range seqStrings(child(k, key)) {
				p := path.Clean(path.Join(dir, r))
				if fl.isDir(fl.abs(p)) {
					walk(p)
				} else {
					addFile(p)
				}
			}
		}
	}
	walk(dir)
	for _, c := range extra {
		p := path.Clean(path.Join(dir, c))
		if fl.isDir(fl.abs(p)) {
			walk(p)
		}
	}
	return idx
}

// resolveRoot is the absolute path of the repository at root, symbolic
// links resolved: kustomize reads it under that name.
func resolveRoot(root string) (string, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	if abs, err = filepath.EvalSymlinks(abs); err != nil {
		return "", fmt.Errorf("reading the repository at %s: %w", root, err)
	}
	return abs, nil
}
