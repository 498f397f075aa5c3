package diff

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-gitops/kubectl-gitops/internal/chartsource"
	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxmodel"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kube"
	"github.com/kubectl-gitops/kubectl-gitops/internal/live"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/printer"
	"github.com/kubectl-gitops/kubectl-gitops/internal/releasecheck"
	"github.com/kubectl-gitops/kubectl-gitops/internal/sops"
	"github.com/kubectl-gitops/kubectl-gitops/internal/term"
	"github.com/kubectl-gitops/kubectl-gitops/plugins/command"
)

// Options are diff's flags, and nothing else: Complete derives the
// config that runs.
type Options struct {
	// BaseFlag is --base.
	BaseFlag       string
	Repo, Output   string
	ChartDir       string
	AllowUnchecked bool
	// Timeout bounds each chart look-up (chartsource.DefaultTimeout when 0).
	Timeout time.Duration
	CommentFlags
	LiveFlags
}

// config is one run of diff, settled by Complete: the flags (a copy, so
// nothing changes them under the run), the range split, the streams and
// the factory.
type config struct {
	Options
	genericiooptions.IOStreams
	// Getenv reads the environment (NO_COLOR, forge tokens): the
	// factory's.
	Getenv func(string) string
	// Range is the BASE..HEAD argument. Base and Head are the ends of the
	// range as given ("" Base: found by defaultBase).
	Range, Base, Head string
	// tool is how the user invoked us ("flux gitops"), for hints.
	tool string

	factory kube.Factory
}

// Complete splits the range.
func (o *Options) Complete(_ context.Context, in command.Inputs, args []string) (config, error) {
	c := config{Options: *o, IOStreams: in.Streams, Getenv: in.Getenv(), tool: in.Name, factory: in.Factory}
	if len(args) == 1 {
		c.Range = args[0]
	}
	if c.Repo == "" {
		c.Repo = "."
	}
	c.Base, c.Head = c.BaseFlag, "HEAD"
	if c.Range == "" {
		return c, nil
	}
	base, head, ok := strings.Cut(c.Range, "..")
	if ok {
		head = strings.TrimPrefix(head, ".") // BASE...HEAD means the same here
	}
	if !ok {
		base, head = c.Range, "HEAD"
	}
	if head == "" {
		head = "HEAD"
	}
	c.Base, c.Head = base, head
	return c, nil
}

// Validate checks the flags; it touches nothing.
func (c config) Validate() error {
	if c.Range != "" && c.BaseFlag != "" {
		return fmt.Errorf("give the base once: either --base %s or the range %s, not both", c.BaseFlag, c.Range)
	}
	if c.Range != "" && c.Base == "" {
		return fmt.Errorf("range %q has no BASE: give BASE..HEAD, e.g. main..HEAD, or --base main", c.Range)
	}
	switch c.Output {
	case "", "json", "markdown", "md":
	default:
		return fmt.Errorf("unknown output format %q: use -o json or -o markdown", c.Output)
	}
	if err := c.CommentFlags.Validate(); err != nil {
		return err
	}
	if err := c.LiveFlags.Validate(); err != nil {
		return err
	}
	if c.Timeout < 0 {
		return fmt.Errorf("--chart-timeout %s is negative", c.Timeout)
	}
	return nil
}

// Run compares, prints and returns the exit code as an error (silent for 7).
func (c config) Run(ctx context.Context) error {
	return (&runner{config: c}).run(ctx)
}

// runner does the work of one config.
type runner struct {
	config
}

// Status of a release in the diff: exactly one per release.
const (
	StatusAdded     = "added"     // new, rendered and valid
	StatusRemoved   = "removed"   // gone from the checkout (nothing to validate)
	StatusChanged   = "changed"   // the rendered manifests change, all valid
	StatusSame      = "unchanged" // the manifests change, the render does not
	StatusInvalid   = "invalid"   // rendered, and the change does not validate
	StatusUnchecked = "unchecked" // could not be rendered or validated (Reason says why)
	StatusError     = "error"     // its file cannot be read (Reason has file:line)
)

// Statuses lists the statuses in the order the summary counts them.
var Statuses = []string{StatusInvalid, StatusError, StatusUnchecked, StatusAdded, StatusChanged, StatusRemoved, StatusSame}

// Entry is one HelmRelease in the diff.
type Entry struct {
	Release string `json:"release"`
	Path    string `json:"path"`
	Status  string `json:"status"`
	// Reason says why a release is unchecked or an error.
	Reason string `json:"reason,omitempty"`
	// Valid is true only for a release that was rendered and validated
	// (or removed): never for unchecked or error.
	Valid    bool                   `json:"valid"`
	Chart    string                 `json:"chart,omitempty"`
	Problems []releasecheck.Finding `json:"problems,omitempty"`
	Existing []releasecheck.Finding `json:"existing,omitempty"`
	Notes    []string               `json:"notes,omitempty"`
	Diff     string                 `json:"diff,omitempty"`
	// Live is the comparison with the cluster (--live).
	Live *live.Result `json:"live,omitempty"`

	colored string
	rep     *releasecheck.Report
}

// Result is what -o json prints.
type Result struct {
	Base string `json:"base"`
	Head string `json:"head"`
	// Live is set with --live: each release is compared with its cluster.
	Live    bool   `json:"live,omitempty"`
	BaseRef string `json:"baseRef"`
	HeadRef string `json:"headRef"`
	// Counts has one entry per status that occurs.
	Counts   map[string]int `json:"counts"`
	Releases []Entry        `json:"releases"`
	// Changed counts added, changed and removed; Invalid the releases that
	// do not validate; Unchecked and Errors the rest that failed closed.
	Changed   int `json:"changed"`
	Invalid   int `json:"invalid"`
	Unchecked int `json:"unchecked"`
	Errors    int `json:"errors"`
	// Tool is the tool as invoked ("flux gitops"), for the Markdown
	// report's heading and hint; "" reads as "kubectl gitops".
	Tool string `json:"-"`
}

func (r *Result) add(e Entry) {
	r.Releases = append(r.Releases, e)
	r.Counts[e.Status]++
	switch e.Status {
	case StatusAdded, StatusChanged, StatusRemoved:
		r.Changed++
	case StatusInvalid:
		r.Invalid++
	case StatusUnchecked:
		r.Unchecked++
	case StatusError:
		r.Errors++
	}
}

// Summary is the one-line count of the result, without links or SHAs.
func (r *Result) Summary() string {
	if len(r.Releases) == 0 {
		return "no HelmRelease changes"
	}
	parts := []string{fmt.Sprintf("%d HelmRelease(s) in the range", len(r.Releases))}
	for _, s := range Statuses {
		if n := r.Counts[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	return parts[0] + ": " + strings.Join(parts[1:], ", ")
}

// run compares, prints and returns the exit code as an error (silent for 7).
func (o *runner) run(ctx context.Context) error {
	repo, err := gitrepo.Open(ctx, o.Repo)
	if err != nil {
		return exitcode.Wrap(exitcode.Usage, err)
	}
	sp, err := resolveSpan(ctx, repo, o.tool, o.Base, o.Head)
	if err != nil {
		return err
	}
	var target *commentTarget
	if o.Comment {
		if target, err = o.commentTarget(ctx, repo); err != nil {
			return err
		}
	}
	res, err := o.compare(ctx, repo, sp)
	if err != nil {
		return err
	}
	if err := o.print(res); err != nil {
		return err
	}
	gate := o.exit(res)
	if target == nil {
		return gate
	}
	return withComment(gate, target.post(ctx, o, res))
}

// exit is the exit code of a printed result: the gate fails closed.
func (o *runner) exit(res *Result) error {
	switch {
	case res.Invalid+res.Errors > 0:
		return exitcode.Wrap(exitcode.Failed, fmt.Errorf("%d HelmRelease(s) do not validate and %d cannot be read, of %d in the range", res.Invalid, res.Errors, len(res.Releases)))
	case res.Unchecked > 0 && !o.AllowUnchecked:
		return exitcode.Wrap(exitcode.Failed, fmt.Errorf("%d HelmRelease(s) of %d in the range could not be checked (see each one's reason): fix what keeps them from rendering, pass --chart-dir, or accept them with --allow-unchecked", res.Unchecked, len(res.Releases)))
	case res.Changed+res.Unchecked > 0:
		return &ChangedError{Changed: res.Changed, Unchecked: res.Unchecked}
	}
	return nil
}

// ChangedError is the verdict "the range changes what renders, and all of
// it is valid (or accepted unchecked)": exit 7, so CI tells "no change"
// from "change" without parsing output. The report said it already, so
// main does not repeat it on stderr (Quiet).
type ChangedError struct {
	// Changed and Unchecked count the releases (Unchecked only with
	// --allow-unchecked).
	Changed, Unchecked int
}

func (e *ChangedError) Error() string {
	return fmt.Sprintf("%d HelmRelease(s) render differently and %d could not be checked (accepted with --allow-unchecked)", e.Changed, e.Unchecked)
}

// ExitCode is 7, changed.
func (e *ChangedError) ExitCode() int { return int(exitcode.Changed) }

// Quiet: the report on stdout is the news.
func (e *ChangedError) Quiet() bool { return true }

// compare renders and checks every release the range changes.
func (o *runner) compare(ctx context.Context, repo *gitrepo.Repo, sp span) (*Result, error) {
	// Both sides are read from git's objects: nothing is checked out or
	// written, and what the checkout holds beyond HEAD (an edit, an
	// ignored file) cannot leak into the diff.
	before, after, err := commitTrees(ctx, repo, sp)
	if err != nil {
		return nil, err
	}

	// What each cluster applies at BASE and at HEAD: releases are compared
	// by applied identity (cluster/namespace/name), never by file. A build
	// that kustomize refuses is an error row naming file:line.
	bModel, aModel, err := o.models(ctx, repo, sp, before, after)
	if err != nil {
		return nil, err
	}
	if aModel.Plain {
		fmt.Fprintf(o.ErrOut, "note: %s\n", aModel.Describe())
	}
	// Kustomizations HEAD applies that the model does not follow (another
	// repository, an artifact it cannot map, a substituteFrom Secret made
	// outside Git): said once, so that few or no releases is not silent.
	for _, n := range aModel.Notes() {
		fmt.Fprintf(o.ErrOut, "note: %s\n", n)
	}
	bRels, aRels := releasecheck.ModelReleases(bModel, aModel)
	// One set of look-ups for both sides: a source and ref is resolved
	// once per run, whether it answers or not.
	lookups := chartsource.NewLookups(o.Timeout)
	newChecker := func(f kube.Factory) (*releasecheck.Checker, error) {
		env := releasecheck.Env{}
		if f != nil {
			env.RESTConfig = f.ToRESTConfig
		}
		cl, dyn, offline := releasecheck.Connect(ctx, env)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("probing the cluster: %w", context.Cause(ctx))
		}
		return &releasecheck.Checker{
			Resolver:       &chartsource.Resolver{Objects: releasecheck.ModelObjects(aModel), ChartDir: o.ChartDir, Cluster: dyn, Lookups: lookups, Getenv: o.Getenv},
			BeforeResolver: &chartsource.Resolver{Objects: releasecheck.ModelObjects(bModel), ChartDir: o.ChartDir, Cluster: dyn, Lookups: lookups, Getenv: o.Getenv},
			Cluster:        cl,
			Offline:        offline,
		}, nil
	}
	color := o.Output == "" && term.Color(o.Out, o.Getenv)
	var lr *liveRun // --live: the cluster(s) compared with, each with its checker
	var checker *releasecheck.Checker
	if o.Live {
		lr, err = o.newLiveRun(ctx, aModel, newChecker, color)
	} else {
		checker, err = newChecker(o.factory)
	}
	if err != nil {
		return nil, err
	}
	res := &Result{Base: sp.Base, Head: sp.Head, BaseRef: sp.BaseRef, HeadRef: sp.HeadRef, Counts: map[string]int{}, Live: o.Live, Tool: o.tool}
	for _, k := range releasecheck.Keys(bRels, aRels) {
		b, a := bRels[k], aRels[k]
		if b.Same(a) && !o.All {
			continue
		}
		if lr != nil {
			if checker = lr.checker(b, a); checker == nil {
				continue // another cluster's release
			}
		}
		e := o.entry(ctx, checker, k, b, a, color)
		if lr != nil && ctx.Err() == nil {
			lr.attach(ctx, &e, b, a)
		}
		if ctx.Err() != nil {
			// Cancelled: the entry's error is the cancellation, not news
			// about the release.
			return nil, fmt.Errorf("comparing %s: %w", displayKey(k), context.Cause(ctx))
		}
		res.add(e)
	}
	return res, nil
}

// FullBuildEnv, set to 1, makes diff build both sides whole (the way it
// did before LoadRange): to compare the two on one range, in tests and
// by hand.
const FullBuildEnv = "GITOPS_DIFF_FULL_BUILD"

// models builds BASE and HEAD. Only the Flux Kustomizations the range can
// affect are built (fluxmodel.LoadRange, from the paths git says the range
// changes); --all compares every release of HEAD, so it builds both sides
// whole, HEAD reusing every build of BASE whose inputs read the same.
func (o *runner) models(ctx context.Context, repo *gitrepo.Repo, sp span, base, head fluxmodel.Checkout) (*fluxmodel.Model, *fluxmodel.Model, error) {
	if o.All || o.Getenv(FullBuildEnv) == "1" {
		builds := fluxmodel.NewCache()
		bModel, err := fluxmodel.LoadCheckout(ctx, base, builds)
		if err != nil {
			return nil, nil, err
		}
		aModel, err := fluxmodel.LoadCheckout(ctx, head, builds)
		return bModel, aModel, err
	}
	// Both names of a rename: --no-renames lists it as a deletion and an
	// addition.
	out, err := repo.Git(ctx, "diff", "--no-renames", "--name-only", "-z", sp.Base, sp.Head, "--")
	if err != nil {
		return nil, nil, fmt.Errorf("listing the paths %s..%s changes: %w", short(sp.Base), short(sp.Head), err)
	}
	var changed []string
	for _, p := range strings.Split(out, "\x00") {
		if p != "" {
			changed = append(changed, p)
		}
	}
	bModel, aModel, _, err := fluxmodel.LoadRangeOf(ctx, base, head, changed)
	return bModel, aModel, err
}

// displayKey shows a release with no namespace as <no namespace>/name.
func displayKey(key string) string {
	if name, ok := strings.CutPrefix(key, "/"); ok {
		return releasecheck.DisplayName("", name)
	}
	return key
}

func (o *runner) entry(ctx context.Context, c *releasecheck.Checker, key string, b, a *releasecheck.Release, color bool) Entry {
	e := Entry{Release: displayKey(key)}
	if a == nil {
		e.Status, e.Path, e.Valid = StatusRemoved, b.Doc.Path, true
		return e
	}
	e.Path = a.Doc.Path
	var be *fluxmodel.BuildError
	if errors.As(a.Err, &be) {
		e.Status, e.Valid, e.Reason = StatusError, false, be.Error()
		return e
	}
	if a.Err != nil {
		return failed(e, a.Doc, a.Err)
	}
	var bhr *helmv2.HelmRelease // nil: added, or not composable before
	if b != nil && b.Err == nil {
		bhr = b.HR
	}
	rep, err := c.Check(ctx, bhr, a.HR)
	if err != nil {
		return failed(e, a.Doc, err)
	}
	e.Chart, e.Problems, e.Existing, e.Notes, e.Valid, e.rep = rep.Chart, rep.New, rep.Existing, rep.Notes(), rep.Valid(), rep
	var plain bytes.Buffer
	changed, err := rep.WriteDiff(&plain, false)
	if err != nil {
		return failed(e, a.Doc, err)
	}
	e.Diff = plain.String()
	if color {
		var col bytes.Buffer
		if _, err := rep.WriteDiff(&col, true); err == nil {
			e.colored = col.String()
		}
	}
	switch {
	case !e.Valid:
		e.Status = StatusInvalid
	case b == nil:
		e.Status = StatusAdded
	case changed:
		e.Status = StatusChanged
	default:
		e.Status = StatusSame
	}
	return e
}

// failed is the entry of a release that could not be checked: unchecked
// when the chart or its base could not be had, an error otherwise (the
// file says something Flux would refuse), with where.
func failed(e Entry, doc manifest.Doc, err error) Entry {
	e.Valid = false
	var ue *chartsource.UnresolvableError
	if errors.As(err, &ue) || errors.Is(err, sops.ErrEncrypted) {
		e.Status, e.Reason = StatusUnchecked, err.Error()
		return e
	}
	e.Status, e.Reason = StatusError, fmt.Sprintf("%s:%d: %v", doc.Path, doc.Line, err)
	return e
}

func (o *runner) print(res *Result) error {
	switch o.Output {
	case "json":
		_, err := printer.Print(o.Out, "json", res)
		return err
	case "markdown", "md":
		_, err := io.WriteString(o.Out, Markdown(res, 0))
		return err
	}
	w := o.Out
	if len(res.Releases) == 0 {
		_, err := fmt.Fprintf(w, "no HelmRelease changes between %s (%s) and %s\n", res.BaseRef, short(res.Base), short(res.Head))
		return err
	}
	for _, e := range res.Releases {
		fmt.Fprintf(w, "HelmRelease %s (%s): %s\n", e.Release, e.Path, e.Status)
		if e.Reason != "" {
			fmt.Fprintf(w, "  %s: %s\n", reasonLabel(e.Status), e.Reason)
		}
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
	_, err := fmt.Fprintf(w, "%s (%s..%s)\n", res.Summary(), short(res.Base), short(res.Head))
	return err
}

func reasonLabel(status string) string {
	if status == StatusUnchecked {
		return "not checked"
	}
	return "error"
}

func revParse(ctx context.Context, repo *gitrepo.Repo, rev string) (string, error) {
	out, err := repo.Git(ctx, "rev-parse", "--verify", "--quiet", rev+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("%s is not a commit in %s: %w", rev, repo.Root, gitrepo.ErrUnknownRevision)
	}
	return strings.TrimSpace(out), nil
}

// commitTrees are the files of BASE and HEAD read from git's objects
// (gitrepo.Repo.ReadTrees: one git cat-file, a blob the two share read
// once). A worktree of a large repository costs a file created and
// removed per entry, seconds on a journaling disk, and reading a clean
// checkout's files one by one costs more than reading them from git.
func commitTrees(ctx context.Context, repo *gitrepo.Repo, sp span) (base, head fluxmodel.Checkout, err error) {
	trees, err := repo.ReadTrees(ctx, sp.Base, sp.Head)
	if err != nil {
		return base, head, err
	}
	base = fluxmodel.Checkout{Root: fluxmodel.TreeRoot(sp.Base), Tree: trees[0]}
	head = fluxmodel.Checkout{Root: fluxmodel.TreeRoot(sp.Head), Tree: trees[1]}
	return base, head, nil
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
