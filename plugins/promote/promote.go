package promote

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/envs"
	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxmodel"
	"github.com/kubectl-gitops/kubectl-gitops/internal/forge"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/printer"
	"github.com/kubectl-gitops/kubectl-gitops/internal/suggest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/textdiff"
	"github.com/kubectl-gitops/kubectl-gitops/internal/yamledit"
)

// edit sets one field of one document.
type edit struct {
	File     string
	DocIndex int
	Path     yamledit.Path
	Old      string // "" when the field is created
	New      any
	// What names the field for people: "GitRepository sample-app-chart spec.ref.tag".
	What string
}

// plan is a promotion worked out in full before anything is written.
type plan struct {
	Release   string
	Namespace string // of the HelmRelease in the target
	// SourceNamespace is the HelmRelease's namespace in the source.
	SourceNamespace string
	From, To        *envs.Environment
	Source, Target  *chartSource
	Version         string
	Edits           []edit
	Notes           []string
}

// workspace is an opened checkout with its environments and manifests.
type workspace struct {
	repo *gitrepo.Repo
	cfg  *envs.Config
	scan *scanner
}

func (o *Options) open(ctx context.Context) (*workspace, error) {
	repo, err := gitrepo.Open(ctx, o.Repo)
	if err != nil {
		return nil, err
	}
	cfg, err := environments(ctx, repo.Root)
	if err != nil {
		return nil, err
	}
	if cfg.Inferred && !o.described {
		// Once per run, not again when a rejected push makes promote
		// re-read the checkout.
		fmt.Fprint(o.ErrOut, cfg.Describe())
		o.described = true
	}
	w := &workspace{repo: repo, cfg: cfg, scan: newScanner(ctx, repo)}
	if err := w.scan.load(cfg); err != nil {
		return nil, err
	}
	return w, nil
}

// environments are those of .gitops.yaml when the repository has one.
// Else they come from the model of what the repository applies
// (fluxmodel): when a known layout names the same environments as the
// model's clusters, that layout is kept and each environment gets, as
// bases, the folders outside it that its cluster applies (clusters/<env>
// pulling a shared base through resources:); otherwise the model's
// clusters are the environments (a single-cluster repository needs no
// configuration). A repository the model reads as plain files keeps the
// inferred layout.
func environments(ctx context.Context, root string) (*envs.Config, error) {
	if _, err := os.Stat(filepath.Join(root, envs.FileName)); err == nil {
		return envs.Load(root)
	}
	m, err := fluxmodel.Load(ctx, root)
	if err != nil {
		return nil, err
	}
	inferred, ierr := envs.Load(root)
	if m.Plain {
		return inferred, ierr
	}
	fromModel := m.Environments()
	if ierr != nil || !sameNames(inferred, fromModel) {
		if len(fromModel.Environments) == 0 {
			return inferred, ierr
		}
		return fromModel, nil
	}
	for i := range inferred.Environments {
		e := &inferred.Environments[i]
		me, _ := fromModel.Get(e.Name)
		for _, d := range append(append([]string{}, me.Paths...), me.Bases...) {
			if !covered(d, e.Paths) && !covered(d, e.Bases) {
				e.Bases = append(e.Bases, d)
			}
		}
	}
	return inferred, nil
}

func sameNames(a, b *envs.Config) bool {
	x, y := a.Names(), b.Names()
	sort.Strings(x)
	sort.Strings(y)
	return reflect.DeepEqual(x, y)
}

// covered reports whether dir is one of roots or under one.
func covered(dir string, roots []string) bool {
	for _, r := range roots {
		if r == "." || dir == r || strings.HasPrefix(dir, r+"/") {
			return true
		}
	}
	return false
}

// release finds HelmRelease name in env, with a suggestion when it is not
// there.
func (w *workspace) release(env *envs.Environment, name, ns string) (*object, *docSet, error) {
	docs, err := w.scan.envDocs(env)
	if err != nil {
		return nil, nil, err
	}
	if ns == "" {
		ns = env.Namespace
	}
	hr, err := docs.find(helmGroup, "HelmRelease", name, ns)
	if err == errNotFound {
		all := docs.all()
		msg := fmt.Sprintf("HelmRelease %s not found in environment %s (%d manifests under %s)", name, env.Name, len(all), strings.Join(append(append([]string{}, env.Paths...), env.Bases...), ", "))
		if ns != "" {
			msg += " in namespace " + ns
		}
		cands := names(all, helmGroup, "HelmRelease")
		if s := suggest.Closest(name, cands); s != "" {
			msg += fmt.Sprintf("; did you mean %s?", s)
		} else if len(cands) > 0 {
			if len(cands) > 8 {
				cands = append(cands[:8], "...")
			}
			msg += "; it has " + strings.Join(cands, ", ")
		}
		return nil, nil, exitcode.Errorf(exitcode.NotFound, "%s", msg)
	}
	if err != nil {
		return nil, nil, exitcode.Wrap(exitcode.Conflict, fmt.Errorf("environment %s: %w", env.Name, err))
	}
	if hr.Namespace == "" {
		hr.Namespace = w.envNamespace(env)
	}
	return hr, docs, nil
}

// envNamespace is where an environment puts objects that do not say: its
// namespace in .gitops.yaml, else what its overlay's kustomization sets.
func (w *workspace) envNamespace(env *envs.Environment) string {
	if env.Namespace != "" {
		return env.Namespace
	}
	for _, p := range env.Paths {
		if ns := w.scan.kustomizeNamespace(p); ns != "" {
			return ns
		}
	}
	return ""
}

func (o *Options) runPromote(ctx context.Context) error {
	w, err := o.open(ctx)
	if err != nil {
		return err
	}
	var request *forge.Publisher
	if o.Request.PR {
		if request, err = o.preparePR(ctx, w.repo); err != nil {
			return err
		}
	}
	pub, err := w.repo.NewPublisher(ctx, gitrepo.PublishOptions{
		Branch: o.Branch, Push: o.Push, Remote: o.Remote, NoCommit: o.NoCommit, AllowDirty: o.AllowDirty, PushTimeout: o.PushTimeout,
		NoPush: request != nil, ReplaceBranch: request != nil && request.LocalExists,
		Reapply: func(ctx context.Context) (gitrepo.Change, error) {
			// The remote moved on: promote again from what is there now.
			w, err := o.open(ctx)
			if err != nil {
				return gitrepo.Change{}, err
			}
			p, err := o.plan(w)
			if err != nil {
				return gitrepo.Change{}, err
			}
			c, _, err := o.change(ctx, w, p)
			return c, err
		},
	})
	if err != nil {
		return err
	}
	p, err := o.plan(w)
	if err != nil {
		return err
	}
	c, oldData, err := o.change(ctx, w, p)
	if err != nil {
		return err
	}
	if len(c.Files) == 0 {
		fmt.Fprintf(o.Out, "%s already has %s at %s (%s %s), as asked; nothing to promote.\n",
			p.To.Name, p.Release, p.Target.Display(), p.Target.Kind, p.Target.Name)
		return nil
	}
	files := c.Paths()
	if err := pub.CheckFiles(ctx, files); err != nil {
		return err
	}
	if o.RequireDeployed {
		if err := o.checker.Check(ctx, p.From, p.Release, p.SourceNamespace, p.Source); err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "%s runs %s at %s %s, Ready.\n", p.From.Name, p.Release, p.Source.Kind, p.Source.Display())
	}
	o.printPlan(p)
	for _, f := range files {
		if _, err := textdiff.Unified(o.Out, f, oldData[f], c.Files[f], textdiff.Options{Color: o.color}); err != nil {
			return err
		}
	}
	report, err := o.checkRelease(ctx, w, p, c.Files, oldData)
	if err != nil {
		return err
	}
	if o.DryRun {
		fmt.Fprintln(o.Out, "Dry run: nothing written.")
		return nil
	}
	pr, err := pub.Publish(ctx, c)
	if err != nil {
		return err
	}
	if o.NoCommit {
		fmt.Fprintf(o.Out, "Wrote %s; not committed (--no-commit).\n", strings.Join(files, ", "))
		return nil
	}
	if pr.Rebased {
		fmt.Fprintf(o.ErrOut, "%s had moved on; promoted again on top of it (%d attempts).\n", pr.Target, pr.Attempts)
	}
	if pr.AlreadyThere {
		fmt.Fprintf(o.Out, "%s already has this promotion (pushed meanwhile): nothing pushed.\n", pr.Target)
		return nil
	}
	fmt.Fprintf(o.Out, "Committed %s: %s\n", gitrepo.Short(pr.Commit), o.subject(p))
	if request != nil {
		return o.publishPR(ctx, request, p, files, oldData, c.Files, report)
	}
	switch {
	case !pr.Pushed:
		return nil
	case pr.Branch == "":
		fmt.Fprintf(o.Out, "Pushed %s to %s.\n", gitrepo.Short(pr.Commit), pr.Target)
		return nil
	}
	fmt.Fprintf(o.Out, "Pushed branch %s to %s; the checkout stays on its branch.\n", pr.Branch, pub.Remote)
	if pr.RequestURL != "" {
		fmt.Fprintf(o.Out, "Open a pull/merge request: %s\n", pr.RequestURL)
	} else {
		fmt.Fprintf(o.Out, "Open a pull/merge request from %s into %s (remote %s is not a known web forge).\n", pr.Branch, pr.Base, pub.Remote)
	}
	return nil
}

// change is the promotion p as a change to publish (no Files when every
// file already says what p sets), and the files' current content.
func (o *Options) change(ctx context.Context, w *workspace, p *plan) (gitrepo.Change, map[string][]byte, error) {
	newData, oldData, err := applyEdits(w.repo.Root, p.Edits)
	if err != nil || len(newData) == 0 {
		return gitrepo.Change{}, oldData, err
	}
	srcCommit, err := sourceCommit(ctx, w.repo, p.From)
	if err != nil {
		return gitrepo.Change{}, nil, err
	}
	return gitrepo.Change{Files: newData, Message: o.message(p), Trailers: p.trailers(srcCommit)}, oldData, nil
}

// plan works out the promotion without writing anything.
func (o *Options) plan(w *workspace) (*plan, error) {
	from, err := w.cfg.Get(o.From)
	if err != nil {
		return nil, err
	}
	to, err := w.cfg.Get(o.To)
	if err != nil {
		return nil, err
	}
	srcHR, srcDocs, err := w.release(from, o.Release, o.Namespace)
	if err != nil {
		return nil, err
	}
	dstHR, dstDocs, err := w.release(to, o.Release, o.Namespace)
	if err != nil {
		return nil, err
	}
	src, err := resolveSource(srcHR, srcDocs)
	if err != nil {
		return nil, fmt.Errorf("environment %s: %w", from.Name, err)
	}
	dst, err := resolveSource(dstHR, dstDocs)
	if err != nil {
		return nil, fmt.Errorf("environment %s: %w", to.Name, err)
	}
	version, notes, err := target(src, dst, from.Name, to.Name, o.Version, o.AllowDowngrade)
	if err != nil {
		return nil, err
	}
	p := &plan{Release: o.Release, Namespace: dstHR.Namespace, SourceNamespace: srcHR.Namespace, From: from, To: to, Source: src, Target: dst, Version: version, Notes: notes}
	if src.Kind == kindGitRepository {
		p.Notes = append(p.Notes, gitStrategyNotes(src, dst, from.Name, to.Name, version)...)
	}
	if version != dst.Value {
		e, err := fieldEdit(dst.holder, dst.keys, version, fmt.Sprintf("%s %s %s", dst.Kind, dst.Name, dst.Field()), to, src.holder)
		if err != nil {
			return nil, err
		}
		p.Edits = append(p.Edits, e)
	}
	for _, key := range o.Values {
		keys := append([]string{"spec", "values"}, strings.Split(key, ".")...)
		n, _ := srcHR.lookup(keys...)
		if n == nil {
			return nil, exitcode.Errorf(exitcode.NotFound, "--values %s: %s's HelmRelease %s does not set spec.values.%s, so there is nothing to carry", key, from.Name, o.Release, key)
		}
		var v any
		if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("--values %s: reading it in %s: %w", key, from.Name, err)
		}
		if cur, _ := dstHR.lookup(keys...); cur != nil {
			var cv any
			if cur.Decode(&cv) == nil && reflect.DeepEqual(cv, v) {
				continue
			}
		}
		e, err := fieldEdit(dstHR, keys, v, "HelmRelease "+o.Release+" spec.values."+key, to, srcHR)
		if err != nil {
			return nil, err
		}
		p.Edits = append(p.Edits, e)
	}
	return p, nil
}

// fieldEdit makes the edit that sets keys of obj in env to v. It writes
// where the environment already sets the field, else into the
// environment's own document of the object (a kustomize patch, usually).
// It refuses to write into a shared base or into a document the source
// environment also reads: that would promote every environment at once.
func fieldEdit(obj *object, keys []string, v any, what string, env *envs.Environment, srcObj *object) (edit, error) {
	var holder *doc
	old := ""
	for i := len(obj.Own) - 1; i >= 0 && holder == nil; i-- {
		if n := nodeAt(obj.Own[i].Root, keys...); n != nil {
			holder, old = obj.Own[i], n.Value
		}
	}
	if holder == nil {
		if len(obj.Own) == 0 {
			_, d := obj.lookup(keys...)
			if d == nil && len(obj.Base) > 0 {
				d = obj.Base[0]
			}
			return edit{}, exitcode.Errorf(exitcode.Conflict,
				"%s of %s comes from the shared base %s, which every environment reads; add a patch for %s %s under %s and promote again",
				what, env.Name, d.Path, obj.Kind, obj.Name, strings.Join(env.Paths, " or "))
		}
		holder = obj.Own[len(obj.Own)-1]
		if n, d := obj.lookup(keys...); n != nil {
			old = n.Value + " (from " + d.Path + ")"
		}
	}
	if srcObj != nil {
		for _, d := range append(append([]*doc{}, srcObj.Own...), srcObj.Base...) {
			if d == holder {
				return edit{}, exitcode.Errorf(exitcode.Conflict,
					"%s lives in %s, which both environments read; give %s its own copy or patch before promoting", what, holder.Path, env.Name)
			}
		}
	}
	path := make(yamledit.Path, len(keys))
	for i, k := range keys {
		path[i] = k
	}
	return edit{File: holder.Path, DocIndex: holder.Index, Path: path, Old: old, New: v, What: what}, nil
}

// applyEdits computes the new content of every file the edits touch,
// through the byte-minimal editor that override uses. Files whose bytes end
// up unchanged are left out.
func applyEdits(root string, edits []edit) (newData, oldData map[string][]byte, err error) {
	newData, oldData = map[string][]byte{}, map[string][]byte{}
	for _, e := range edits {
		data, ok := newData[e.File]
		if !ok {
			if data, err = os.ReadFile(filepath.Join(root, filepath.FromSlash(e.File))); err != nil {
				return nil, nil, err
			}
			oldData[e.File] = data
		}
		out, _, err := yamledit.Apply(data, e.DocIndex, nil, []yamledit.Op{{Path: e.Path, Value: e.New}})
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %s: %w", e.File, e.What, err)
		}
		newData[e.File] = out
	}
	for f, b := range newData {
		if bytes.Equal(b, oldData[f]) {
			delete(newData, f)
		}
	}
	return newData, oldData, nil
}

// gitStrategyNotes explains what Flux will do with a new Git ref, which
// depends on the HelmRelease's reconcileStrategy.
func gitStrategyNotes(src, dst *chartSource, fromEnv, toEnv, version string) []string {
	var notes []string
	if src.ReconcileStrategy != dst.ReconcileStrategy {
		notes = append(notes, fmt.Sprintf("%s uses reconcileStrategy %s and %s uses %s: the same ref yields chart versions that differ (Revision adds +<commit>)",
			fromEnv, src.ReconcileStrategy, toEnv, dst.ReconcileStrategy))
	}
	if dst.ReconcileStrategy == "ChartVersion" {
		notes = append(notes, fmt.Sprintf("%s uses reconcileStrategy ChartVersion: Flux upgrades only if Chart.yaml's version at %s differs from what %s runs now",
			toEnv, version, toEnv))
	}
	return notes
}

func (o *Options) printPlan(p *plan) {
	fmt.Fprintf(o.Out, "Promote %s from %s to %s:\n", p.Release, p.From.Name, p.To.Name)
	for _, e := range p.Edits {
		fmt.Fprintf(o.Out, "  %s (%s): %s\n", e.What, e.File, e.change())
	}
	for _, n := range p.Notes {
		fmt.Fprintf(o.ErrOut, "note: %s\n", n)
	}
}

func (o *Options) subject(p *plan) string {
	if o.Message != "" {
		return strings.SplitN(o.Message, "\n", 2)[0]
	}
	return fmt.Sprintf("Promote %s to %s: %s %s (from %s)", p.Release, p.To.Name, p.Target.RefType, shortVersion(p.Version), p.From.Name)
}

func (o *Options) message(p *plan) string {
	if o.Message != "" {
		return o.Message
	}
	var b strings.Builder
	b.WriteString(o.subject(p))
	b.WriteString("\n\n")
	for _, e := range p.Edits {
		fmt.Fprintf(&b, "%s: %s\n", e.What, e.change())
	}
	return b.String()
}

func shortVersion(v string) string {
	if strings.HasPrefix(v, "sha256:") || commitRe.MatchString(v) {
		return shortRef(v)
	}
	return v
}

// trailers record the promotion in the commit, for `git log
// --format=%(trailers)` and for tools that audit promotions.
func (p *plan) trailers(srcCommit string) []string {
	hr := p.Release
	if p.Namespace != "" {
		hr = p.Namespace + "/" + p.Release
	}
	return []string{
		"Promoted-HelmRelease: " + hr,
		"Promoted-From: " + p.From.Name,
		"Promoted-To: " + p.To.Name,
		"Promoted-Version: " + p.Target.RefType + " " + p.Version,
		"Promoted-Source-Commit: " + srcCommit,
	}
}

func (e edit) change() string {
	nv := printer.Inline(e.New)
	if e.Old == "" {
		return "set to " + nv
	}
	return e.Old + " -> " + nv
}
