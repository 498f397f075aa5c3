// Package publish is the write path that override and promote share:
// the command computes a change to the checkout; publish checks, before
// anything is written, that it can go where the settings say (the forge,
// its token and the branch for a pull request; the remote and the branch
// for a push), checks the files, lets the command validate the change,
// then writes, commits, pushes (making the change again over concurrent
// pushes) or opens a pull/merge request. It takes plain values: the flags
// that fill them are bound once, in plugins/command.
package publish

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/kubectl-gitops/kubectl-gitops/internal/forge"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
)

// Settings are how far a change goes, as the user asked: the values of
// --no-commit, --push, --push-timeout, --branch, --remote, --message,
// --allow-dirty and --pr with its flags.
type Settings struct {
	// NoCommit writes the files and stops.
	NoCommit bool
	// Push pushes the commit to the branch's upstream (or origin).
	Push bool
	// AllowDirty edits and commits files with uncommitted changes.
	AllowDirty bool
	// Branch commits on a new branch that is pushed; the checkout stays
	// on its branch.
	Branch string
	// Remote is the Git remote to push to ("" = the branch's upstream
	// remote, else origin).
	Remote string
	// Message replaces the commit message the command writes ("" keeps
	// it); the command's trailers are added either way.
	Message string
	// PushTimeout bounds the retries of a push over concurrent pushes.
	PushTimeout time.Duration
	// Request is --pr and its flags.
	Request forge.Flags
}

// Validate checks the settings against each other; it touches nothing.
func (s Settings) Validate() error {
	if s.NoCommit && (s.Push || s.Branch != "") {
		return errors.New("--no-commit cannot be combined with --push, --branch or --pr: there would be nothing to push")
	}
	if s.Request.PR && s.Push {
		return errors.New("--pr pushes a branch for review; --push pushes to the tracked branch: pick one")
	}
	return s.Request.Validate()
}

// WithRequestBranch is s with branch as the branch of --pr when --branch
// was not given: one name per change, so that running the same command
// again updates its request instead of opening another.
func (s Settings) WithRequestBranch(branch string) Settings {
	if s.Request.PR && s.Branch == "" {
		s.Branch = branch
	}
	return s
}

// Config is one publication: the settings, the checkout, and what the
// command knows about the change.
type Config struct {
	Settings
	Repo *gitrepo.Repo
	// DryRun stops once the change is checked: nothing is written. Every
	// check a real run makes before writing is made, so a dry run that
	// passes predicts the real one.
	DryRun bool
	// AllowEncrypted lets SOPS-encrypted files through: the command wrote
	// them with `sops set`, which keeps their MAC valid.
	AllowEncrypted bool
	// Getenv reads the forge's token (the factory's environment).
	Getenv func(string) string
	// HTTPClient talks to the forge; nil is a plain one.
	HTTPClient *http.Client
	// Progress receives what was pushed and opened for a request (never
	// the token).
	Progress io.Writer
}

// Job is the command's part: computing the change, checking it, and
// writing the request that proposes it.
type Job struct {
	// Edit computes the change from the checkout as it is: once before
	// anything is written (again false), and again (again true) on top of
	// what the remote holds after a push was refused because others
	// pushed first. A Change without Files: nothing to change.
	Edit func(ctx context.Context, again bool) (gitrepo.Change, error)
	// Check runs once the files passed the publisher's checks (writable,
	// not encrypted, not dirty), before anything is written: validation,
	// and what the command shows of the change. nil checks nothing.
	Check func(ctx context.Context, c gitrepo.Change) error
	// Committed is told of the commit before it is proposed in a request
	// (nil: nothing to say); not called with NoCommit.
	Committed func(p gitrepo.Published)
	// Request is the title and body of the pull/merge request that
	// proposes the committed change (with --pr only).
	Request func(ctx context.Context, c gitrepo.Change, p gitrepo.Published) (title, body string, err error)
}

// Outcome is how far the change went.
type Outcome struct {
	// Change is the change as Edit first computed it; without Files,
	// Run stopped there.
	Change gitrepo.Change
	// Published says what was written, committed and pushed (zero after
	// a dry run).
	Published gitrepo.Published
	// Remote is the remote the change is pushed to ("" without a push).
	Remote string
	// Request is the pull/merge request opened or updated (nil without
	// --pr).
	Request *forge.Result
}

// Run publishes the change job computes: the checks that need no change
// (the forge, the branch, the remote), the change, the checks of its
// files, the job's own check, then as far as the settings go. The
// Outcome says how far it went, also with an error.
func Run(ctx context.Context, cfg Config, job Job) (Outcome, error) {
	var out Outcome
	var request *forge.Publisher
	if cfg.Request.PR {
		var err error
		request, err = forge.Prepare(ctx, forge.PublishOptions{
			Repo: cfg.Repo, Remote: cfg.Remote, Branch: cfg.Branch, Kind: cfg.Request.Kind(), URL: cfg.Request.URL, TokenEnv: cfg.Request.TokenEnv,
			Getenv: cfg.Getenv, HTTPClient: cfg.HTTPClient, Out: cfg.Progress,
		})
		if err != nil {
			return out, err
		}
	}
	pub, err := cfg.Repo.NewPublisher(ctx, gitrepo.PublishOptions{
		Branch: cfg.Branch, Push: cfg.Push, Remote: cfg.Remote, NoCommit: cfg.NoCommit, AllowDirty: cfg.AllowDirty, PushTimeout: cfg.PushTimeout,
		AllowEncrypted: cfg.AllowEncrypted, NoPush: request != nil, ReplaceBranch: request != nil && request.LocalExists,
		Reapply: func(ctx context.Context) (gitrepo.Change, error) { return job.Edit(ctx, true) },
	})
	if err != nil {
		return out, err
	}
	if out.Change, err = job.Edit(ctx, false); err != nil || len(out.Change.Files) == 0 {
		return out, err
	}
	if err := pub.CheckFiles(ctx, out.Change.Paths()); err != nil {
		return out, err
	}
	if job.Check != nil {
		if err := job.Check(ctx, out.Change); err != nil {
			return out, err
		}
	}
	if cfg.DryRun {
		return out, nil
	}
	out.Remote = pub.Remote
	out.Published, err = pub.Publish(ctx, out.Change)
	if err != nil || cfg.NoCommit {
		return out, err
	}
	if job.Committed != nil {
		job.Committed(out.Published)
	}
	if request == nil {
		return out, nil
	}
	out.Remote = request.Remote
	title, body, err := job.Request(ctx, out.Change, out.Published)
	if err != nil {
		return out, err
	}
	res, err := request.Publish(ctx, forge.Spec{
		Title: title, Body: body, Labels: cfg.Request.Labels, Reviewers: cfg.Request.Reviewers, Draft: cfg.Request.Draft,
	})
	if err != nil {
		return out, err
	}
	out.Request = &res
	return out, nil
}
