package diff

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-gitops/kubectl-gitops/internal/chartsource"
	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxmodel"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kube"
	"github.com/kubectl-gitops/kubectl-gitops/internal/releasecheck"
	"github.com/kubectl-gitops/kubectl-gitops/internal/term"
)

// DefaultRange is what diff compares without an argument.
const DefaultRange = "origin/main..HEAD"

// Options hold the flags and what Complete derives from them.
type Options struct {
	genericiooptions.IOStreams
	Getenv func(string) string

	Range, Base, Head string
	Repo, Output      string
	ChartDir          string

	factory kube.Factory
}

// NewOptions returns Options writing to streams.
func NewOptions(f kube.Factory, streams genericiooptions.IOStreams) *Options {
	return &Options{IOStreams: streams, Getenv: os.Getenv, factory: f}
}

// Complete splits the range.
func (o *Options) Complete(args []string) error {
	o.Range = DefaultRange
	if len(args) == 1 {
		o.Range = args[0]
	}
	if o.Repo == "" {
		o.Repo = "."
	}
	base, head, ok := strings.Cut(o.Range, "..")
	if ok {
		head = strings.TrimPrefix(head, ".") // BASE...HEAD means the same here
	}
	if !ok {
		base, head = o.Range, "HEAD"
	}
	if head == "" {
		head = "HEAD"
	}
	o.Base, o.Head = base, head
	return nil
}

// Validate checks the flags; it touches nothing.
func (o *Options) Validate() error {
	if o.Base == "" {
		return fmt.Errorf("range %q has no BASE: give BASE..HEAD, e.g. %s", o.Range, DefaultRange)
	}
	switch o.Output {
	case "", "json", "markdown", "md":
	default:
		return fmt.Errorf("unknown output format %q: use -o json or -o markdown", o.Output)
	}
	return nil
}

// Status of a release in the diff.
const (
	StatusChanged   = "changed"   // the rendered manifests change
	StatusSame      = "unchanged" // the manifests change, the render does not
	StatusAdded     = "added"
	StatusRemoved   = "removed"
	StatusUnchecked = "unchecked" // the chart could not be resolved
	StatusError     = "error"     // the repository does not build (file:line in the note)
)

// Entry is one HelmRelease in the diff.
type Entry struct {
	Release  string                 `json:"release"`
	Path     string                 `json:"path"`
	Status   string                 `json:"status"`
	Valid    bool                   `json:"valid"`
	Chart    string                 `json:"chart,omitempty"`
	Problems []releasecheck.Finding `json:"problems,omitempty"`
	Existing []releasecheck.Finding `json:"existing,omitempty"`
	Notes    []string               `json:"notes,omitempty"`
	Diff     string                 `json:"diff,omitempty"`

	colored string
}

// Result is what -o json prints.
type Result struct {
	Base     string  `json:"base"`
	Head     string  `json:"head"`
	Releases []Entry `json:"releases"`
	Changed  int     `json:"changed"`
	Invalid  int     `json:"invalid"`
}

// Run compares, prints and returns the exit code as an error (silent for 7).
func (o *Options) Run(ctx context.Context) error {
	repo, err := gitrepo.Open(ctx, o.Repo)
	if err != nil {
		return exitcode.Wrap(exitcode.Usage, err)
	}
	headSHA, err := revParse(ctx, repo, o.Head)
	if err != nil {
		return exitcode.Wrap(exitcode.Usage, err)
	}
	baseRev, err := revParse(ctx, repo, o.Base)
	if err != nil {
		return exitcode.Wrap(exitcode.Usage, fmt.Errorf("%w (fetch it, or give the range: kubectl gitops diff main..HEAD)", err))
	}
	out, err := repo.Git(ctx, "merge-base", baseRev, headSHA)
	if err != nil {
		return exitcode.Errorf(exitcode.Usage, "%s and %s have no common ancestor: %w", o.Base, o.Head, err)
	}
	baseSHA := strings.TrimSpace(out)

	tmp, err := os.MkdirTemp("", "kubectl-gitops-diff-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	before, cleanB, err := worktree(ctx, repo, filepath.Join(tmp, "base"), baseSHA)
	if err != nil {
		return err
	}
	defer cleanB()
	after, cleanA, err := worktree(ctx, repo, filepath.Join(tmp, "head"), headSHA)
	if err != nil {
		return err
	}
	defer cleanA()

	// What each cluster applies at BASE and at HEAD: releases are compared
	// by applied identity (cluster/namespace/name), never by file.
	bModel, err := fluxmodel.Load(ctx, before.Root)
	if err != nil {
		return err
	}
	aModel, err := fluxmodel.Load(ctx, after.Root)
	if err != nil {
		return err
	}
	if aModel.Plain {
		fmt.Fprintf(o.ErrOut, "note: %s\n", aModel.Describe())
	}
	bRels, aRels := releasecheck.ModelReleases(bModel, aModel)
	env := releasecheck.Env{}
	if o.factory != nil {
		env.RESTConfig = o.factory.ToRESTConfig
	}
	cl, dyn, offline := releasecheck.Connect(env)
	checker := &releasecheck.Checker{
		Resolver:       &chartsource.Resolver{Repo: after, Objects: releasecheck.ModelObjects(aModel), ChartDir: o.ChartDir, Cluster: dyn},
		BeforeResolver: &chartsource.Resolver{Repo: before, Objects: releasecheck.ModelObjects(bModel), ChartDir: o.ChartDir, Cluster: dyn},
		Cluster:        cl,
		Offline:        offline,
	}
	color := o.Output == "" && term.Color(o.Out, o.Getenv)
	res := &Result{Base: baseSHA, Head: headSHA}
	for _, k := range releasecheck.Keys(bRels, aRels) {
		b, a := bRels[k], aRels[k]
		if b.Same(a) {
			continue
		}
		e, err := o.entry(ctx, checker, k, b, a, color)
		if err != nil {
			return err
		}
		if e.Status == StatusChanged || e.Status == StatusAdded || e.Status == StatusRemoved {
			res.Changed++
		}
		if !e.Valid {
			res.Invalid++
		}
		res.Releases = append(res.Releases, e)
	}
	if err := o.print(res); err != nil {
		return err
	}
	switch {
	case res.Invalid > 0:
		return exitcode.Wrap(exitcode.Failed, fmt.Errorf("%d HelmRelease(s) of %d changed do not validate", res.Invalid, len(res.Releases)))
	case res.Changed > 0:
		return exitcode.Wrap(exitcode.Changed, errSilent)
	}
	return nil
}

// errSilent carries an exit code with nothing to say: the output said it.
var errSilent = errors.New("")

func (o *Options) entry(ctx context.Context, c *releasecheck.Checker, key string, b, a *releasecheck.Release, color bool) (Entry, error) {
	e := Entry{Release: key, Valid: true}
	switch {
	case a == nil:
		e.Status, e.Path = StatusRemoved, b.Doc.Path
		return e, nil
	case b == nil:
		e.Status = StatusAdded
	}
	e.Path = a.Doc.Path
	var be *fluxmodel.BuildError
	if errors.As(a.Err, &be) {
		e.Status, e.Valid, e.Notes = StatusError, false, []string{be.Error()}
		return e, nil
	}
	if a.Err != nil {
		e.Status, e.Notes = StatusUnchecked, []string{"not validated: " + a.Err.Error()}
		return e, nil
	}
	var bhr *helmv2.HelmRelease // nil: added, or not composable before
	if b != nil && b.Err == nil {
		bhr = b.HR
	}
	rep, err := c.Check(ctx, bhr, a.HR)
	if err != nil {
		var ue *chartsource.UnresolvableError
		if errors.As(err, &ue) {
			e.Status, e.Notes = StatusUnchecked, []string{"not validated: " + err.Error()}
			return e, nil
		}
		return e, fmt.Errorf("HelmRelease %s: %w", key, err)
	}
	e.Chart, e.Problems, e.Existing, e.Notes, e.Valid = rep.Chart, rep.New, rep.Existing, rep.Notes(), rep.Valid()
	var plain bytes.Buffer
	changed, err := rep.WriteDiff(&plain, false)
	if err != nil {
		return e, err
	}
	e.Diff = plain.String()
	if color {
		var col bytes.Buffer
		if _, err := rep.WriteDiff(&col, true); err != nil {
			return e, err
		}
		e.colored = col.String()
	}
	if e.Status == "" {
		e.Status = StatusSame
		if changed {
			e.Status = StatusChanged
		}
	}
	return e, nil
}

func (o *Options) print(res *Result) error {
	switch o.Output {
	case "json":
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(o.Out, string(b))
		return err
	case "markdown", "md":
		return writeMarkdown(o.Out, res)
	}
	w := o.Out
	if len(res.Releases) == 0 {
		_, err := fmt.Fprintf(w, "no HelmRelease changes between %s and %s\n", short(res.Base), short(res.Head))
		return err
	}
	for _, e := range res.Releases {
		fmt.Fprintf(w, "HelmRelease %s (%s): %s\n", e.Release, e.Path, e.Status)
		for _, n := range e.Notes {
			fmt.Fprintf(w, "  note: %s\n", n)
		}
		for _, p := range e.Problems {
			fmt.Fprintf(w, "  invalid: %s\n", p)
		}
		d := e.Diff
		if e.colored != "" {
			d = e.colored
		}
		io.WriteString(w, d)
	}
	_, err := fmt.Fprintf(w, "%d HelmRelease(s) change, %d do not validate (%s..%s)\n", res.Changed, res.Invalid, short(res.Base), short(res.Head))
	return err
}

func writeMarkdown(w io.Writer, res *Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### kubectl gitops diff `%s..%s`\n\n", short(res.Base), short(res.Head))
	if len(res.Releases) == 0 {
		b.WriteString("No HelmRelease changes.\n")
	}
	if len(res.Releases) > 0 {
		fmt.Fprintf(&b, "%d HelmRelease(s) change, %d do not validate.\n\n", res.Changed, res.Invalid)
	}
	for _, e := range res.Releases {
		mark := "✅"
		if !e.Valid {
			mark = "❌"
		}
		fmt.Fprintf(&b, "#### %s HelmRelease `%s` (%s): %s\n\n", mark, e.Release, e.Path, e.Status)
		for _, p := range e.Problems {
			fmt.Fprintf(&b, "- **invalid**: %s\n", strings.ReplaceAll(p.String(), "`", "'"))
		}
		for _, n := range e.Notes {
			fmt.Fprintf(&b, "- note: %s\n", n)
		}
		if len(e.Problems)+len(e.Notes) > 0 {
			b.WriteString("\n")
		}
		if e.Diff != "" {
			fence := "```"
			for strings.Contains(e.Diff, fence) {
				fence += "`"
			}
			fmt.Fprintf(&b, "<details><summary>rendered diff</summary>\n\n%sdiff\n%s%s\n\n</details>\n\n", fence, e.Diff, fence)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func revParse(ctx context.Context, repo *gitrepo.Repo, rev string) (string, error) {
	out, err := repo.Git(ctx, "rev-parse", "--verify", "--quiet", rev+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("%s is not a commit in %s", rev, repo.Root)
	}
	return strings.TrimSpace(out), nil
}

// worktree checks out sha in dir (a detached worktree of repo), and
// returns the opened checkout and how to remove it.
func worktree(ctx context.Context, repo *gitrepo.Repo, dir, sha string) (*gitrepo.Repo, func(), error) {
	if _, err := repo.Git(ctx, "worktree", "add", "--quiet", "--detach", dir, sha); err != nil {
		return nil, func() {}, err
	}
	clean := func() {
		_, _ = repo.Git(context.WithoutCancel(ctx), "worktree", "remove", "--force", dir)
	}
	wt, err := gitrepo.Open(ctx, dir)
	if err != nil {
		clean()
		return nil, func() {}, err
	}
	return wt, clean, nil
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
