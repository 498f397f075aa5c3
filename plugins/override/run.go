package override

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/helmvalues"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/printer"
	"github.com/kubectl-gitops/kubectl-gitops/internal/publish"
	"github.com/kubectl-gitops/kubectl-gitops/internal/readlimit"
	"github.com/kubectl-gitops/kubectl-gitops/internal/releasecheck"
	"github.com/kubectl-gitops/kubectl-gitops/internal/sops"
	"github.com/kubectl-gitops/kubectl-gitops/internal/term"
	"github.com/kubectl-gitops/kubectl-gitops/internal/textdiff"
	"github.com/kubectl-gitops/kubectl-gitops/internal/version"
	"github.com/kubectl-gitops/kubectl-gitops/internal/yamledit"
)

// Result is what -o json/yaml prints.
type Result struct {
	HelmRelease Ref      `json:"helmRelease"`
	Path        string   `json:"path"`
	Document    int      `json:"document"`
	Line        int      `json:"line"`
	Changes     []Change `json:"changes"`
	Changed     bool     `json:"changed"`
	DryRun      bool     `json:"dryRun,omitempty"`
	Written     bool     `json:"written"`
	Commit      string   `json:"commit,omitempty"`
	Branch      string   `json:"branch,omitempty"`
	Pushed      bool     `json:"pushed"`
	Remote      string   `json:"remote,omitempty"`
	RequestURL  string   `json:"requestURL,omitempty"`
	// PullRequest is the URL of the request --pr opened or updated.
	PullRequest string   `json:"pullRequest,omitempty"`
	Warnings    []string `json:"warnings,omitempty"`
	// Validation is what rendering and validating the change found (absent
	// with --validate=false or when the chart could not be resolved).
	Validation *releasecheck.Report `json:"validation,omitempty"`
}

// Ref names a HelmRelease.
type Ref struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
}

// Change is one value written (Value "<redacted>" for values fed from
// Secrets).
type Change struct {
	Path  string `json:"path"`
	Unset bool   `json:"unset,omitempty"`
	Value any    `json:"value,omitempty"`
}

const redacted = "<redacted>"

// run finds the document, then hands the edit to the write pipeline
// (internal/publish): checked, validated, written, committed, pushed or
// proposed in a pull request, as far as the flags go.
func (o *runner) run(ctx context.Context) error {
	repo, err := gitrepo.Open(ctx, o.Repo)
	if err != nil {
		return err
	}
	o.repo = repo
	if o.found, err = o.find(ctx, repo); err != nil {
		return err
	}
	if o.found.note != "" {
		fmt.Fprintln(o.ErrOut, o.found.note)
	}
	o.res = &Result{DryRun: o.DryRun}
	progress := o.Out
	if o.Output != "" {
		// -o json|yaml keeps stdout for the result.
		progress = o.ErrOut
	}
	out, err := publish.Run(ctx, publish.Config{
		Settings: o.Publish, Repo: repo, DryRun: o.DryRun, AllowEncrypted: o.SOPS, Getenv: o.getenv, Progress: progress,
	}, publish.Job{Edit: o.editChange, Check: o.checkChange, Committed: o.committed, Request: o.request})
	pr := out.Published
	o.res.Written, o.res.Branch, o.res.Commit = pr.Written, pr.Branch, pr.Commit
	if err != nil {
		return err
	}
	return o.report(out)
}

// editChange is the edit as a change to publish: the first one (kept in
// o.ed, described in o.res), or again after a refused push.
func (o *runner) editChange(ctx context.Context, again bool) (gitrepo.Change, error) {
	if again {
		return o.reapply(ctx, o.repo, o.found)
	}
	var err error
	if o.ed, err = o.edit(ctx, o.repo, o.found); err != nil {
		return gitrepo.Change{}, err
	}
	o.describe(o.ed, o.res)
	if !o.res.Changed {
		return gitrepo.Change{}, nil
	}
	return o.change(o.ed), nil
}

// checkChange renders and validates the edit (internal/releasecheck).
func (o *runner) checkChange(ctx context.Context, _ gitrepo.Change) (err error) {
	o.res.Validation, err = o.checkRelease(ctx, o.repo, o.ed)
	return err
}

// committed says, before --pr pushes the branch, what was committed on it.
func (o *runner) committed(pr gitrepo.Published) {
	if o.Publish.Request.PR && o.Output == "" {
		fmt.Fprintf(o.Out, "committed %s on branch %s: %s\n", gitrepo.Short(pr.Commit), o.Publish.Branch, firstLine(o.message(o.ed)))
	}
}

// report prints how far the edit went: the result (-o), or a line.
func (o *runner) report(out publish.Outcome) error {
	ed, res, pr := o.ed, o.res, out.Published
	switch {
	case o.DryRun:
		return o.printDryRun(ed, res)
	case !res.Changed:
		return o.print(res, fmt.Sprintf("HelmRelease %s already has these values in %s: nothing to change\n", ed.ref(), ed.doc.Path))
	case o.Publish.NoCommit:
		return o.print(res, fmt.Sprintf("wrote %s (HelmRelease %s: %s); not committed\n", ed.doc.Path, ed.ref(), ed.summary()))
	case out.Request != nil:
		res.Pushed = out.Request.Pushed
		res.Remote = out.Remote + "/" + o.Publish.Branch
		res.PullRequest = out.Request.PullRequest.URL
		return o.print(res, "")
	}
	subject := firstLine(o.message(ed))
	if pr.Target == "" {
		return o.print(res, fmt.Sprintf("committed %s: %s\n", gitrepo.Short(pr.Commit), subject))
	}
	res.Pushed, res.Remote, res.RequestURL = pr.Pushed, pr.Target, pr.RequestURL
	msg := fmt.Sprintf("committed %s and pushed to %s: %s\n", gitrepo.Short(pr.Commit), pr.Target, subject)
	switch {
	case pr.AlreadyThere:
		msg = fmt.Sprintf("%s already has these values (pushed by someone else meanwhile): nothing pushed\n", pr.Target)
	case pr.Rebased:
		msg = fmt.Sprintf("committed %s on top of concurrent changes (%d attempts) and pushed to %s: %s\n", gitrepo.Short(pr.Commit), pr.Attempts, pr.Target, subject)
	}
	if pr.Branch != "" {
		msg += branchNote(pr)
	}
	return o.print(res, msg)
}

// describe fills res with what ed changes, and warns of what the user
// should know about it.
func (o *runner) describe(ed *edited, res *Result) {
	doc := ed.doc
	res.HelmRelease = Ref{Name: doc.Name, Namespace: doc.Namespace}
	res.Path, res.Document, res.Line = doc.Path, doc.Index+1, doc.Line
	for _, op := range ed.ops {
		c := Change{Path: op.Path.String(), Unset: op.Unset}
		if !op.Unset {
			c.Value = ed.redactValue(op.Path, op.Value)
		}
		res.Changes = append(res.Changes, c)
	}
	res.Changed = ed.changed()
	res.Warnings = ed.warnings
	for _, w := range ed.warnings {
		fmt.Fprintf(o.ErrOut, "warning: %s\n", w)
	}
}

// reapply is the edit again after a push was refused because the remote
// moved on: the same flags applied to what is there now (the model of it,
// or the same file as written).
func (o *runner) reapply(ctx context.Context, repo *gitrepo.Repo, fnd *found) (gitrepo.Change, error) {
	var f2 *found
	var err error
	switch {
	case fnd.query != nil:
		f2, err = o.findFiles(ctx, repo, *fnd.query)
	case fnd.kustomization != "":
		f2, err = o.find(ctx, repo) // a new patch: is it still new?
	default:
		// The same file the model chose, the document found again in it:
		// the model is not built again for every retry (20 processes
		// pushing at once retry many times).
		f2 = &found{model: fnd.model, rel: fnd.rel}
		f2.doc, err = locate(repo, fnd.doc.Path, fnd.rel, 0)
		f2.doc.Namespace = fnd.doc.Namespace
	}
	if err != nil {
		return gitrepo.Change{}, err
	}
	again, err := o.edit(ctx, repo, f2)
	if err != nil || !again.changed() {
		return gitrepo.Change{}, err
	}
	return o.change(again), nil
}

// branchNote says that the checkout stayed on its branch after --branch,
// and where to ask for a review.
func branchNote(pr gitrepo.Published) string {
	if pr.RequestURL != "" {
		return fmt.Sprintf("the checkout stays on its branch; open a pull/merge request from %s: %s\n", pr.Branch, pr.RequestURL)
	}
	return fmt.Sprintf("the checkout stays on its branch; open a pull/merge request from %s (the remote is not a known web forge)\n", pr.Branch)
}

// change is what Publish writes and commits for ed.
func (o *runner) change(ed *edited) gitrepo.Change {
	files := map[string][]byte{ed.doc.Path: ed.out}
	if ed.kustomization != "" {
		files[ed.kustomization] = ed.kOut
	}
	return gitrepo.Change{Files: files, Message: o.message(ed), Trailers: []string{trailer()}}
}

// edited is one computed override, not yet written.
type edited struct {
	doc manifest.Doc
	// found is how doc was chosen (the model's release, for validation).
	found    *found
	src, out []byte
	// kustomization is the overlay's kustomization.yaml that lists doc, a
	// new patch file (src nil), with its contents before and after.
	kustomization string
	kSrc, kOut    []byte
	ops           []yamledit.Op
	changes       []yamledit.Change
	secrets       []yamledit.Path
	warnings      []string
	// showSecrets is --show-secrets: nothing is masked.
	showSecrets bool
}

func (e *edited) changed() bool { return e.newFile() || !bytesEqual(e.src, e.out) }

// newFile reports whether doc is a patch file the override creates.
func (e *edited) newFile() bool { return e.kustomization != "" }

func (e *edited) ref() string {
	if e.doc.Namespace == "" {
		return e.doc.Name
	}
	return e.doc.Namespace + "/" + e.doc.Name
}

// redact reports whether p is at or below a value fed from a Secret, or
// has a key that names a secret (SecretKeyPattern); never with
// --show-secrets.
func (e *edited) redact(p yamledit.Path) bool {
	if e.showSecrets {
		return false
	}
	if secretPath(p) {
		return true
	}
	for _, s := range e.secrets {
		if hasPrefix(p, s) {
			return true
		}
	}
	return false
}

// redactValue masks the parts of v (the value at p) fed from Secrets.
func (e *edited) redactValue(p yamledit.Path, v any) any {
	if e.redact(p) {
		return redacted
	}
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := make(map[string]any, len(m))
	for k, x := range m {
		out[k] = e.redactValue(append(append(yamledit.Path{}, p...), k), x)
	}
	return out
}

func (e *edited) summary() string {
	var ops []yamledit.Op
	for i, op := range e.ops {
		if e.changes[i].Changed {
			ops = append(ops, op)
		}
	}
	return helmvalues.Summary(ops, e.redact)
}

func hasPrefix(p, prefix yamledit.Path) bool {
	if len(prefix) > len(p) {
		return false
	}
	for i := range prefix {
		if fmt.Sprint(p[i]) != fmt.Sprint(prefix[i]) {
			return false
		}
	}
	return true
}

// edit computes the new file for the document f found; it writes nothing.
func (o *runner) edit(ctx context.Context, repo *gitrepo.Repo, f *found) (*edited, error) {
	doc := f.doc
	var full string
	var src []byte
	var err error
	if f.kustomization != "" {
		// A new patch: its document starts from the base's header.
		base, err := locate(repo, f.rel.File, f.rel, f.rel.Line)
		if err != nil {
			return nil, err
		}
		if src, err = newPatchSource(repo, base, f.rel); err != nil {
			return nil, err
		}
		full = filepath.Join(repo.Root, filepath.FromSlash(doc.Path))
	} else {
		if full, err = o.inRepo(repo, doc.Path); err != nil {
			return nil, err
		}
		if src, err = readlimit.ReadFile(ctx, full); err != nil {
			return nil, err
		}
	}
	ed := &edited{doc: doc, found: f, src: src, out: src, showSecrets: o.ShowSecrets}
	// The document is parsed once: for its values, the Secrets feeding
	// them, and the edit. Only the values the flags read are needed: a
	// large values map is cut down to them (yamledit.OpenFocused).
	var yd *yamledit.Document
	if focus, ok := helmvalues.Focus(o.input); ok {
		yd, err = yamledit.OpenFocused(src, doc.Index, valuesPath, focus)
	} else {
		yd, err = yamledit.Open(src, doc.Index)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", doc.Path, err)
	}
	cur, _ := yd.Get(valuesPath)
	var current map[string]any
	switch t := cur.(type) {
	case nil:
	case map[string]any:
		current = t
	default:
		return nil, exitcode.Errorf(exitcode.Conflict, "%s: spec.values of HelmRelease %s is not a map (line %d); fix it by hand first", doc.Path, ed.ref(), doc.Line)
	}
	ed.secrets = secretTargets(yd)
	hv, err := helmvalues.Compute(current, o.input)
	if err != nil {
		var ce *helmvalues.ConflictError
		if errors.As(err, &ce) {
			return nil, fmt.Errorf("type conflict in HelmRelease %s (%s): %w", ed.ref(), doc.Path, ed.maskConflict(ce))
		}
		return nil, err
	}
	ed.ops = hv.Ops
	for _, ne := range hv.NoEffect {
		if flag, arg, ok := strings.Cut(ne, " "); ok {
			ne = flag + " " + ed.maskFlag(arg)
		}
		ed.warnings = append(ed.warnings, fmt.Sprintf("%s has no effect: HelmRelease %s already has that value", ne, ed.ref()))
	}
	ed.warnings = append(ed.warnings, hv.Replaced...)
	encrypted := sops.Encrypted(src)
	if encrypted && !o.SOPS {
		return nil, ed.encrypted()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ed.out, ed.changes, err = yd.Apply(valuesPath, hv.Ops)
	if err != nil {
		var pe *yamledit.PathError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%s: %w", doc.Path, err)
		}
		return nil, fmt.Errorf("%s: %w", doc.Path, err)
	}
	if encrypted && ed.changed() {
		// The text edit above located the change; sops makes it, so the
		// file stays encrypted with a valid MAC.
		if ed.out, err = o.sopsSet(ctx, ed, full); err != nil {
			return nil, err
		}
	}
	if f.kustomization != "" {
		if bytesEqual(ed.src, ed.out) {
			return nil, exitcode.Errorf(exitcode.Usage, "--in-patch: %s has no patch of HelmRelease %s, and these flags write nothing into a new one (a patch cannot unset a base value here): edit without --in-patch", o.Env, ed.ref())
		}
		if err := o.listPatch(ctx, repo, ed, f.kustomization); err != nil {
			return nil, err
		}
	}
	for _, c := range ed.changes {
		for _, m := range c.Moved {
			ed.warnings = append(ed.warnings, fmt.Sprintf("%s: moved the anchor %s, its first remaining alias: the edit of spec.values.%s removed it and other places still use it", doc.Path, m, c.Op.Path))
		}
		if c.Marker != "" {
			ed.warnings = append(ed.warnings, fmt.Sprintf("%s:%d: spec.values.%s carries the image automation marker %s: Flux image automation will overwrite this override on its next update; remove the marker to keep the override",
				doc.Path, c.Line, c.Op.Path, c.Marker))
		}
	}
	return ed, nil
}

// secretTargets lists the values paths fed from Secrets through
// spec.valuesFrom[].targetPath: their values are never printed.
func secretTargets(yd *yamledit.Document) []yamledit.Path {
	v, ok := yd.Get(yamledit.Path{"spec", "valuesFrom"})
	if !ok {
		return nil
	}
	list, _ := v.([]any)
	var out []yamledit.Path
	for _, item := range list {
		m, _ := item.(map[string]any)
		if m["kind"] != "Secret" {
			continue
		}
		tp, _ := m["targetPath"].(string)
		if tp == "" {
			continue
		}
		if p, err := helmvalues.ParsePath(tp); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func (o *runner) printDryRun(ed *edited, res *Result) error {
	if o.Output != "" {
		return o.print(res, "")
	}
	changed, err := ed.diff(o.Out, textdiff.Options{Color: term.Color(o.Out, o.getenv)})
	if err != nil {
		return err
	}
	if !changed {
		_, err = fmt.Fprintf(o.Out, "HelmRelease %s already has these values in %s: nothing to change\n", ed.ref(), ed.doc.Path)
	}
	return err
}

func (o *runner) print(res *Result, text string) error {
	if done, err := printer.Print(o.Out, o.Output, res); done {
		return err
	}
	_, err := io.WriteString(o.Out, text)
	return err
}

func (o *runner) message(ed *edited) string {
	if o.Publish.Message != "" {
		return o.Publish.Message
	}
	return fmt.Sprintf("override %s: %s", ed.ref(), ed.summary())
}

func trailer() string {
	return "Changed-with: kubectl-gitops override " + version.Get().Version
}

// inRepo is the path of the repo-relative file rel, refused when it is a
// symbolic link (or under one) that leads out of the repository: the edit
// would land in a file git does not track here.
func (o *runner) inRepo(repo *gitrepo.Repo, rel string) (string, error) {
	full := filepath.Join(repo.Root, filepath.FromSlash(rel))
	real, err := filepath.EvalSymlinks(full)
	if err != nil {
		return "", err
	}
	root, err := filepath.EvalSymlinks(repo.Root)
	if err != nil {
		return "", err
	}
	if r, err := filepath.Rel(root, real); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return "", exitcode.Errorf(exitcode.Usage, "%s is a symbolic link to %s, outside the repository %s: kubectl-gitops edits only files in the repository; edit the target where it is tracked, or replace the link with the file", rel, real, repo.Root)
	}
	if st, err := os.Stat(real); err == nil && st.IsDir() {
		return "", exitcode.Errorf(exitcode.Usage, "%s is a symbolic link to the directory %s, not a file", rel, real)
	}
	return full, nil
}

// repoRel turns a --path (relative to the current directory, or absolute)
// into a path relative to the repo root.
func (o *runner) repoRel(repo *gitrepo.Repo, p string) (string, error) {
	abs := p
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(o.cwd, p)
	}
	// The repo root comes from git with symlinks resolved (/tmp on macOS).
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	rel, err := filepath.Rel(repo.Root, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("--path %s is outside the repository %s", p, repo.Root)
	}
	return filepath.ToSlash(rel), nil
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
