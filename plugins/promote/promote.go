package promote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/envs"
	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxmodel"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/printer"
	"github.com/kubectl-gitops/kubectl-gitops/internal/publish"
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

// workspace is an opened checkout with its environments and the model of
// what each of them applies.
type workspace struct {
	repo *gitrepo.Repo
	cfg  *envs.Config
	view *view
}

// open opens the checkout; the inferred environments are described once
// per run, not again when a rejected push makes promote re-read it.
func (o *runner) open(ctx context.Context) (*workspace, error) {
	w, err := openWorkspace(ctx, o.Repo, o.ErrOut, !o.described)
	if err == nil {
		o.described = true
	}
	return w, err
}

// openWorkspace opens the checkout at dir, its environments and the
// model; describe prints, to errOut, how the environments were inferred
// when no .gitops.yaml names them.
func openWorkspace(ctx context.Context, dir string, errOut io.Writer, describe bool) (*workspace, error) {
	repo, err := gitrepo.Open(ctx, dir)
	if err != nil {
		return nil, err
	}
	cfg, m, err := fluxmodel.LoadEnvironments(ctx, repo.Root)
	if err != nil {
		return nil, err
	}
	if m == nil {
		// .gitops.yaml names the environments; the model starts from
		// their paths.
		if m, err = fluxmodel.Load(ctx, repo.Root); err != nil {
			return nil, err
		}
	}
	if cfg.Inferred && describe {
		fmt.Fprint(errOut, cfg.Describe())
	}
	return &workspace{repo: repo, cfg: cfg, view: newView(m)}, nil
}

// applied are the HelmReleases name (in namespace ns when it is not "")
// that cluster c of env applies; with no ns, several are narrowed to the
// one in env's own namespace (.gitops.yaml) when there is one.
func applied(env *envs.Environment, c *fluxmodel.Cluster, name, ns string) []*fluxmodel.Release {
	rels := c.Find(ns, name)
	if len(rels) > 1 && ns == "" && env.Namespace != "" {
		if in := c.Find(env.Namespace, name); len(in) == 1 {
			rels = in
		}
	}
	return rels
}

// release finds HelmRelease name (in namespace ns when it is not "") in
// what env applies, with a suggestion when it is not there.
func (w *workspace) release(env *envs.Environment, name, ns string) (*object, *fluxmodel.Cluster, error) {
	c, err := w.view.cluster(env)
	if err != nil {
		return nil, nil, err
	}
	rels := applied(env, c, name, ns)
	switch {
	case len(rels) == 0:
		msg := fmt.Sprintf("HelmRelease %s not found in environment %s (%d HelmReleases applied from %s)", name, env.Name, len(c.Releases), strings.Join(c.Entry, ", "))
		if ns != "" {
			msg += " in namespace " + ns
		}
		var cands []string
		seen := map[string]bool{}
		for _, r := range c.Releases {
			if !seen[r.Name] {
				seen[r.Name] = true
				cands = append(cands, r.Name)
			}
		}
		if s := suggest.Closest(name, cands); s != "" {
			msg += fmt.Sprintf("; did you mean %s?", s)
		} else if len(cands) > 0 {
			if len(cands) > 8 {
				cands = append(cands[:8], "...")
			}
			msg += "; it has " + strings.Join(cands, ", ")
		}
		if len(c.Errors) > 0 {
			// What does not build may hold it: that is the problem to fix.
			return nil, nil, exitcode.Errorf(exitcode.Failed, "%s; environment %s does not build in full: %v", msg, env.Name, errors.Join(c.Errors...))
		}
		return nil, nil, exitcode.Errorf(exitcode.NotFound, "%s", msg)
	case len(rels) > 1:
		var list []string
		for _, r := range rels {
			list = append(list, fmt.Sprintf("%s in %s", r.Namespace, r.File))
		}
		return nil, nil, exitcode.Errorf(exitcode.Conflict, "environment %s: HelmRelease %s exists in several namespaces: %s; pick one with -n", env.Name, name, strings.Join(list, "; "))
	}
	hr, err := w.view.releaseObject(c, rels[0])
	if err != nil {
		return nil, nil, err
	}
	return hr, c, nil
}

// runPromote works the promotion out, then hands it to the write
// pipeline (internal/publish): checked, validated, written, committed,
// pushed or proposed in a pull request, as far as the flags go.
func (o *runner) runPromote(ctx context.Context) error {
	var err error
	if o.w, err = o.open(ctx); err != nil {
		return err
	}
	out, err := publish.Run(ctx, publish.Config{
		Settings: o.Publish, Repo: o.w.repo, DryRun: o.DryRun, Getenv: o.getenv, Progress: o.Out,
	}, publish.Job{Edit: o.promotion, Check: o.check, Committed: o.committed, Request: o.request})
	if err != nil {
		return err
	}
	o.report(out)
	return nil
}

// promotion is the promotion as a change to publish: worked out from the
// checkout (kept in o.plan, the files' content before in o.oldData), or
// again after a refused push.
func (o *runner) promotion(ctx context.Context, again bool) (gitrepo.Change, error) {
	if again {
		// The remote moved on: promote again from what is there now.
		return o.promoteAgain(ctx)
	}
	var err error
	if o.p, err = o.plan(o.w); err != nil {
		return gitrepo.Change{}, err
	}
	var c gitrepo.Change
	c, o.oldData, err = o.change(ctx, o.w, o.p)
	return c, err
}

// committed says what was committed (and that it was made again on top
// of concurrent pushes), before anything else is said of its push.
func (o *runner) committed(pr gitrepo.Published) {
	if pr.Rebased {
		fmt.Fprintf(o.ErrOut, "%s had moved on; promoted again on top of it (%d attempts).\n", pr.Target, pr.Attempts)
	}
	if !pr.AlreadyThere {
		fmt.Fprintf(o.Out, "Committed %s: %s\n", gitrepo.Short(pr.Commit), o.subject(o.p))
	}
}

// report says how far the promotion went.
func (o *runner) report(out publish.Outcome) {
	p, pr := o.p, out.Published
	switch {
	case len(out.Change.Files) == 0:
		fmt.Fprintf(o.Out, "%s already has %s at %s (%s %s), as asked; nothing to promote.\n",
			p.To.Name, p.Release, p.Target.Display(), p.Target.Kind, p.Target.Name)
	case o.DryRun:
		fmt.Fprintln(o.Out, "Dry run: nothing written.")
	case o.Publish.NoCommit:
		fmt.Fprintf(o.Out, "Wrote %s; not committed (--no-commit).\n", strings.Join(out.Change.Paths(), ", "))
	case pr.AlreadyThere:
		fmt.Fprintf(o.Out, "%s already has this promotion (pushed meanwhile): nothing pushed.\n", pr.Target)
	case out.Request != nil, !pr.Pushed:
	case pr.Branch == "":
		fmt.Fprintf(o.Out, "Pushed %s to %s.\n", gitrepo.Short(pr.Commit), pr.Target)
	default:
		fmt.Fprintf(o.Out, "Pushed branch %s to %s; the checkout stays on its branch.\n", pr.Branch, out.Remote)
		if pr.RequestURL != "" {
			fmt.Fprintf(o.Out, "Open a pull/merge request: %s\n", pr.RequestURL)
		} else {
			fmt.Fprintf(o.Out, "Open a pull/merge request from %s into %s (remote %s is not a known web forge).\n", pr.Branch, pr.Base, out.Remote)
		}
	}
}

// promoteAgain is the promotion worked out again from the checkout as it
// is now, after a push was refused because others pushed first.
func (o *runner) promoteAgain(ctx context.Context) (gitrepo.Change, error) {
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
}

// check is what promote does once the files may be written and before
// they are: --require-deployed, the plan and its diff printed, and the
// release rendered and validated (the report kept for the request).
func (o *runner) check(ctx context.Context, c gitrepo.Change) (err error) {
	p := o.p
	if o.RequireDeployed {
		if err := o.checker.Check(ctx, p.From, p.Release, p.SourceNamespace, p.Source); err != nil {
			return err
		}
		fmt.Fprintf(o.Out, "%s runs %s at %s %s, Ready.\n", p.From.Name, p.Release, p.Source.Kind, p.Source.Display())
	}
	o.printPlan(p)
	for _, f := range c.Paths() {
		if _, err := textdiff.Unified(o.Out, f, o.oldData[f], c.Files[f], textdiff.Options{Color: o.color}); err != nil {
			return err
		}
	}
	o.validation, err = o.checkRelease(ctx, o.w, p, c.Files, o.oldData)
	return err
}

// change is the promotion p as a change to publish (no Files when every
// file already says what p sets), and the files' current content.
func (o *runner) change(ctx context.Context, w *workspace, p *plan) (gitrepo.Change, map[string][]byte, error) {
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
func (o *runner) plan(w *workspace) (*plan, error) {
	from, err := w.cfg.Get(o.From)
	if err != nil {
		return nil, err
	}
	to, err := w.cfg.Get(o.To)
	if err != nil {
		return nil, err
	}
	srcHR, srcCluster, err := w.release(from, o.Release, o.Namespace)
	if err != nil {
		return nil, err
	}
	dstHR, dstCluster, err := w.release(to, o.Release, o.Namespace)
	if err != nil {
		return nil, err
	}
	src, err := resolveSource(srcHR, w.view, srcCluster)
	if err != nil {
		return nil, fmt.Errorf("environment %s: %w", from.Name, err)
	}
	dst, err := resolveSource(dstHR, w.view, dstCluster)
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
	if s, ok := obj.inline(keys); ok {
		return edit{}, exitcode.Errorf(exitcode.Conflict, "%s of %s is set by an inline patch at %s, which promote does not edit; change it there by hand, or move the patch into a file", what, env.Name, s)
	}
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

func (o *runner) printPlan(p *plan) {
	fmt.Fprintf(o.Out, "Promote %s from %s to %s:\n", p.Release, p.From.Name, p.To.Name)
	for _, e := range p.Edits {
		fmt.Fprintf(o.Out, "  %s (%s): %s\n", e.What, e.File, e.change())
	}
	for _, n := range p.Notes {
		fmt.Fprintf(o.ErrOut, "note: %s\n", n)
	}
}

func (o *runner) subject(p *plan) string {
	if o.Publish.Message != "" {
		return strings.SplitN(o.Publish.Message, "\n", 2)[0]
	}
	return fmt.Sprintf("Promote %s to %s: %s %s (from %s)", p.Release, p.To.Name, p.Target.RefType, shortVersion(p.Version), p.From.Name)
}

func (o *runner) message(p *plan) string {
	if o.Publish.Message != "" {
		return o.Publish.Message
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
