package fluxmodel

import (
	"context"
	"encoding/json"
	"sort"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
)

// RangeStats says what LoadRange left out.
type RangeStats struct {
	// Kustomizations counts the Flux Kustomizations HEAD follows (every
	// cluster); Unbuilt those built on neither side.
	Kustomizations, Unbuilt int
	// Full is set when both sides were built whole (a repository without
	// entry points, or at a path kustomize refuses).
	Full bool
}

// LoadRange builds the models of two checkouts of one repository, BASE and
// HEAD of a range whose changed paths (relative to the root; both names of
// a rename) are changed, for a diff: the releases that differ between the
// two models are the ones a full build of both gives, but a Flux
// Kustomization the range cannot affect is built on neither side.
//
// The entry points and every level that applies Flux Kustomizations are
// built on both sides. Any other Flux Kustomization waits when its static
// closure (staticClosure: what its kustomization files name, read
// without kustomize) holds no changed path; it is built, on the side(s)
// concerned, when
//   - it is not waiting with the same path and spec on the other side
//     (added, removed, its spec changed, or its closure is touched there);
//   - its postBuild.substituteFrom ConfigMap or Secret differs between
//     the sides;
//   - it may hold an object a built one looks up: a chart source of a
//     release, a substituteFrom ConfigMap or Secret, or a HelmRelease of
//     the same name (applied twice);
//   - a chart source differs between the sides and it may name it.
//
// A Kustomization built on neither side applies the same objects on both,
// so its releases cannot be in the diff; what it would report about
// itself (a build error, a release applied twice within it) is not
// known, and its releases are not in the models.
func LoadRange(ctx context.Context, baseRoot, headRoot string, changed []string) (base, head *Model, st RangeStats, err error) {
	return LoadRangeOf(ctx, Checkout{Root: baseRoot}, Checkout{Root: headRoot}, changed)
}

// Checkout names one side of LoadRangeOf: a folder on disk, or the tree of
// a commit (gitrepo.Repo.ReadTree) shown at Root, which need not exist.
type Checkout struct {
	Root string
	Tree *gitrepo.Tree
}

func (c Checkout) files() (*files, error) {
	if c.Tree != nil {
		return onTree(c.Root, c.Tree), nil
	}
	abs, err := resolveRoot(c.Root)
	if err != nil {
		return nil, err
	}
	return disk(abs), nil
}

// LoadRangeOf is LoadRange of two checkouts, each on disk or a commit's
// tree: diff reads BASE from git's objects instead of writing a worktree.
func LoadRangeOf(ctx context.Context, baseSide, headSide Checkout, changed []string) (base, head *Model, st RangeStats, err error) {
	bfl, err := baseSide.files()
	if err != nil {
		return nil, nil, st, err
	}
	hfl, err := headSide.files()
	if err != nil {
		return nil, nil, st, err
	}
	cache := NewCache()
	ch := newChanges(changed)
	bs, err := startSide(ctx, bfl, cache, ch)
	if err != nil {
		return nil, nil, st, err
	}
	hs, err := startSide(ctx, hfl, cache, ch)
	if err != nil {
		return nil, nil, st, err
	}
	if bs.builders == nil || hs.builders == nil {
		st.Full = true
		if base, err = loadFiles(ctx, bfl, cache, true); err != nil {
			return nil, nil, st, err
		}
		head, err = loadFiles(ctx, hfl, cache, true)
		return base, head, st, err
	}
	if err := reconcile(ctx, bs, hs); err != nil {
		return nil, nil, st, err
	}
	for _, s := range []*side{bs, hs} {
		for _, b := range s.builders {
			b.refresh()
			b.notePending()
			b.finish(ctx)
		}
	}
	for _, b := range hs.builders {
		st.Kustomizations += len(b.cluster.Kustomizations)
		st.Unbuilt += len(b.pending())
	}
	return bs.m, hs.m, st, nil
}

// side is one checkout of LoadRange: its model, and the builder of each
// cluster (nil when the checkout is not built by clusters).
type side struct {
	m        *Model
	builders map[string]*builder
}

func startSide(ctx context.Context, fl *files, cache *Cache, ch *changes) (*side, error) {
	layout, eps, err := entryPoints(fl)
	if err != nil {
		return nil, err
	}
	s := &side{m: &Model{Root: fl.root, Layout: layout, fl: fl}}
	if len(eps) == 0 || !fl.buildable() {
		return s, nil
	}
	s.builders = map[string]*builder{}
	for _, ep := range eps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b := &builder{fl: fl, cache: cache, changes: ch, cluster: &Cluster{Name: ep.name, Entry: ep.dirs}, built: map[string]bool{}, seen: map[string]bool{}}
		b.start(ep.dirs)
		s.builders[ep.name] = b
		s.m.Clusters = append(s.m.Clusters, b.cluster)
	}
	sort.Slice(s.m.Clusters, func(i, j int) bool { return s.m.Clusters[i].Name < s.m.Clusters[j].Name })
	return s, nil
}

// pending are the outputs left unbuilt.
func (b *builder) pending() []*output {
	var out []*output
	for _, o := range b.outputs {
		if o.deferred {
			out = append(out, o)
		}
	}
	return out
}

func ksKey(o *output) string { return o.ks.Namespace + "/" + o.ks.Name }

// partner is the output of b waiting with the same Kustomization, path and
// spec as o (nil: none).
func (b *builder) partner(o *output) *output {
	if b == nil {
		return nil
	}
	if b.waiting == nil {
		b.waiting = map[string]*output{}
		for _, p := range b.outputs {
			if p.deferred {
				b.waiting[ksKey(p)] = p
			}
		}
	}
	p := b.waiting[ksKey(o)]
	if p == nil || !p.deferred || cacheKey(p.dir, p.obj) != cacheKey(o.dir, o.obj) {
		return nil
	}
	return p
}

// refresh lists the objects of the built outputs again, in the order of
// the outputs (the order a full build takes them in: a later ConfigMap of
// the same name wins, the first source of a name is the one found), once
// materialize has added some at the end.
func (b *builder) refresh() {
	if !b.dirty {
		return
	}
	b.dirty = false
	b.cluster.Objects = nil
	b.secrets, b.configMaps = map[string]map[string]string{}, map[string]map[string]string{}
	for _, o := range b.outputs {
		if o.deferred || o.failed {
			continue
		}
		for _, r := range o.res {
			b.remember(r, *o)
		}
	}
}

// notePending says, for a waiting Kustomization, what collect would: the
// substituteFrom objects no build holds (reconcile built every waiting
// one that might).
func (b *builder) notePending() {
	for _, o := range b.pending() {
		_, missing, _ := b.vars(*o)
		b.noteMissing(*o, missing)
	}
}

// materialize builds waiting outputs of b (through the cache: the same
// build on the other side is read back, not run again).
func (b *builder) materialize(outs []*output) {
	if len(outs) == 0 {
		return
	}
	in := make([]output, len(outs))
	for i, o := range outs {
		in[i] = *o
	}
	results := buildAll(in, b.build)
	b.dirty = true
	var queue []output
	for i, o := range outs {
		o.deferred = false
		if err := results[i].err; err != nil {
			b.fail(*o, err)
			o.failed = true
			continue
		}
		o.res = results[i].res
		o.docs = sources(b.fl, o.dir, components(o.obj))
		for _, r := range o.res {
			b.remember(r, *o)
		}
		// The closure scan found no Flux Kustomization in it; one made
		// some other way is still followed, and built.
		for _, r := range o.res {
			if r.GetKind() == "Kustomization" && group(r.GetApiVersion()) == "kustomize.toolkit.fluxcd.io" {
				if next, ok := b.follow(r, *o); ok {
					queue = append(queue, next)
				}
			}
		}
	}
	if len(queue) > 0 {
		saved := b.changes
		b.changes = nil
		b.levels(queue)
		b.changes = saved
	}
}

// reconcile builds every waiting output the diff of the two sides needs
// (see LoadRange), until none is left that it needs.
func reconcile(ctx context.Context, bs, hs *side) error {
	names := map[string]bool{}
	for n := range bs.builders {
		names[n] = true
	}
	for n := range hs.builders {
		names[n] = true
	}
	// Waiting on one side only, or with another spec: built there.
	for n := range names {
		b, h := bs.builders[n], hs.builders[n]
		for _, pair := range [][2]*builder{{b, h}, {h, b}} {
			this, other := pair[0], pair[1]
			if this == nil {
				continue
			}
			var outs []*output
			for _, o := range this.pending() {
				if other.partner(o) == nil {
					outs = append(outs, o)
				}
			}
			this.materialize(outs)
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		need := map[*output]bool{} // HEAD's waiting outputs; BASE's partner follows
		for _, s := range []*side{bs, hs} {
			for _, b := range s.builders {
				b.refresh()
			}
		}
		for n := range names {
			b, h := bs.builders[n], hs.builders[n]
			if b == nil || h == nil {
				continue // every Kustomization of the cluster is built
			}
			needed(b, h, hs, need)
		}
		if len(need) == 0 {
			return nil
		}
		for n, h := range hs.builders {
			var hout, bout []*output
			for _, o := range h.pending() {
				if need[o] {
					hout = append(hout, o)
					bout = append(bout, bs.builders[n].partner(o))
				}
			}
			h.materialize(hout)
			bs.builders[n].materialize(bout)
		}
	}
}

// objIndex finds an object of a builder's cluster by kind, namespace and
// name, the first one as Cluster.Source does.
type objIndex map[string]*Object

func indexObjects(c *Cluster) objIndex {
	ix := objIndex{}
	for _, o := range c.Objects {
		k := o.Kind + "\x00" + o.Namespace + "\x00" + o.Name
		if _, ok := ix[k]; !ok {
			ix[k] = o
		}
	}
	return ix
}

func (ix objIndex) get(kind, ns, name string) *Object { return ix[kind+"\x00"+ns+"\x00"+name] }

// sourceKinds are the kinds a HelmRelease takes its chart from.
var sourceKinds = map[string]bool{"HelmRepository": true, "GitRepository": true, "OCIRepository": true, "Bucket": true, "HelmChart": true, "ExternalArtifact": true}

// needed marks HEAD's waiting outputs of one cluster (b at BASE, h at
// HEAD, partners of each other) that the diff needs built.
func needed(b, h *builder, hs *side, need map[*output]bool) {
	pend := h.pending()
	bix, hix := indexObjects(b.cluster), indexObjects(h.cluster)
	needSubstituteData(b, h, pend, need)
	for _, pair := range []struct {
		bld *builder
		ix  objIndex
	}{{b, bix}, {h, hix}} {
		needLookups(pair.bld, pair.ix, hs, pend, need)
	}
	needChangedSources(bix, hix, pend, need)
}

// provide marks every one of pend that may hold the object kind/name.
func provide(pend []*output, need map[*output]bool, kind, name string) {
	for _, o := range pend {
		if o.closure.provider(kind, name) {
			need[o] = true
		}
	}
}

// needSubstituteData: a waiting one whose substituteFrom objects differ
// between the sides (or that no side holds: where it may come from, for
// the note).
func needSubstituteData(b, h *builder, pend []*output, need map[*output]bool) {
	for _, o := range pend {
		for _, ref := range substituteRefs(o) {
			kind, key := ref[0], ref[1]
			bd, bok := b.varData(kind, key)
			hd, hok := h.varData(kind, key)
			if bok != hok || !sameData(bd, hd) {
				need[o] = true
			}
			if !bok && !hok {
				_, name, _ := strings.Cut(key, "/")
				provide(pend, need, kind, name)
			}
		}
	}
}

// needLookups: what the built outputs of bld look up and no build holds
// may be in a waiting one: a substituteFrom object, the same HelmRelease
// applied twice, a release's chart source (and a HelmChart's own source;
// in a waiting one of any cluster, as chart look-ups search them all).
func needLookups(bld *builder, ix objIndex, hs *side, pend []*output, need map[*output]bool) {
	for _, o := range bld.outputs {
		if o.deferred || o.failed {
			continue
		}
		for _, ref := range substituteRefs(o) {
			if _, ok := bld.varData(ref[0], ref[1]); !ok {
				_, name, _ := strings.Cut(ref[1], "/")
				provide(pend, need, ref[0], name)
			}
		}
		for _, r := range o.res {
			if r.GetKind() != "HelmRelease" || group(r.GetApiVersion()) != "helm.toolkit.fluxcd.io" {
				continue
			}
			provide(pend, need, "HelmRelease", r.GetName())
			m, err := r.Map()
			if err != nil {
				continue
			}
			needChartSource(m, r.GetNamespace(), ix, hs, need)
		}
	}
}

// needChartSource follows a release's chart source (two levels: a
// HelmChart names its own) and, where no build holds it, marks the
// waiting ones of every cluster that may.
func needChartSource(release map[string]any, ns string, ix objIndex, hs *side, need map[*output]bool) {
	kind, ns, name := chartRef(release, ns)
	for depth := 0; kind != "" && depth < 2; depth++ {
		src := ix.get(kind, ns, name)
		if src == nil || strings.Contains(ns+name, "$") {
			for _, hb := range hs.builders {
				provide(hb.pending(), need, kind, name)
			}
			return
		}
		kind, ns, name = chartRef(map[string]any{"spec": map[string]any{"chart": map[string]any{"spec": nested(src.Data, "spec")}}}, src.Namespace)
	}
}

// needChangedSources: a chart source that differs between the sides
// marks every waiting one that may name it (its releases' Source
// changes).
func needChangedSources(bix, hix objIndex, pend []*output, need map[*output]bool) {
	for _, pair := range [][2]objIndex{{bix, hix}, {hix, bix}} {
		for k, o := range pair[0] {
			if !sourceKinds[o.Kind] {
				continue
			}
			other := pair[1][k]
			if other != nil && sameJSON(o.Data, other.Data) {
				continue
			}
			for _, p := range pend {
				if p.closure.mentions(o.Name) {
					need[p] = true
				}
			}
		}
	}
}

// chartRef is the source a HelmRelease object (or a HelmChart's spec
// wrapped as one) names, its namespace defaulting to ns (then
// "default", as collect applies it).
func chartRef(obj map[string]any, ns string) (kind, namespace, name string) {
	var ref map[string]any
	if r, ok := nested(obj, "spec", "chart", "spec", "sourceRef").(map[string]any); ok {
		ref = r
	} else if r, ok := nested(obj, "spec", "chartRef").(map[string]any); ok {
		ref = r
	}
	if ref == nil {
		return "", "", ""
	}
	kind, name = str(ref, "kind"), str(ref, "name")
	namespace = str(ref, "namespace")
	if namespace == "" {
		namespace = ns
	}
	if namespace == "" {
		namespace = "default"
	}
	return kind, namespace, name
}

// substituteRefs are the postBuild.substituteFrom objects of a Flux
// Kustomization, as kind and namespace/name.
func substituteRefs(o *output) [][2]string {
	if o.obj == nil || o.ks == nil {
		return nil
	}
	var out [][2]string
	for _, f := range nestedSlice(o.obj, "spec", "postBuild", "substituteFrom") {
		ref, _ := f.(map[string]any)
		out = append(out, [2]string{str(ref, "kind"), o.ks.Namespace + "/" + str(ref, "name")})
	}
	return out
}

// varData is the data of a ConfigMap or Secret of the cluster, as vars
// reads it.
func (b *builder) varData(kind, key string) (map[string]string, bool) {
	var d map[string]string
	var ok bool
	switch kind {
	case "ConfigMap":
		d, ok = b.configMaps[key]
	case "Secret":
		d, ok = b.secrets[key]
	}
	return d, ok
}

func sameData(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func sameJSON(a, b map[string]any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
