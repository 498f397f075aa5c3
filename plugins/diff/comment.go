package diff

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/pflag"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/forge"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
)

// CommentMarker is the hidden line that marks diff's comment on a request,
// so the next run edits it instead of adding another.
const CommentMarker = "<!-- kubectl-gitops diff -->"

// CommentFlags are --comment and where the comment goes.
type CommentFlags struct {
	// Comment posts the Markdown report on the open request of the
	// current branch (or of --pr-number), editing the one posted before.
	Comment bool
	// Number is --pr-number: the request to comment on, for CI checkouts
	// whose HEAD is detached; 0 finds the open request of the branch.
	Number int64
	// Remote is the Git remote the forge is found from ("" = the branch's
	// upstream remote, else origin).
	Remote string
	// Forge and URL are --forge and --forge-url.
	Forge, URL string
}

// AddFlags registers --comment, --pr-number, --remote, --forge and --forge-url.
func (c *CommentFlags) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&c.Comment, "comment", false, "Post the Markdown report as one comment on the open pull/merge request of the current branch, and update that comment on the next run (token: as for --pr, see docs/pr.md)")
	fs.Int64Var(&c.Number, "pr-number", 0, "With --comment: the pull/merge request to comment on (for CI checkouts, where HEAD is detached)")
	fs.StringVar(&c.Remote, "remote", "", "With --comment: the Git remote on the forge (default: the branch's upstream remote, else origin)")
	fs.StringVar(&c.Forge, "forge", "", "With --comment: forge API to use: github, gitlab or gitea (also Forgejo); default: detected from the remote URL")
	fs.StringVar(&c.URL, "forge-url", "", "With --comment: web root of the forge, when it is not the remote URL's scheme and host")
}

// Validate checks the flags alone.
func (c *CommentFlags) Validate() error {
	if !c.Comment {
		return forge.OnlyWith("--comment", forge.Given{Flag: "--pr-number", Set: c.Number != 0}, forge.Given{Flag: "--remote", Set: c.Remote != ""},
			forge.Given{Flag: "--forge", Set: c.Forge != ""}, forge.Given{Flag: "--forge-url", Set: c.URL != ""})
	}
	if c.Number < 0 {
		return fmt.Errorf("--pr-number %d: give the request's number", c.Number)
	}
	f := forge.Flags{Forge: c.Forge, URL: c.URL}
	return f.ValidateTarget()
}

// commentTarget is the request a run comments on, found before the diff
// runs so that a missing token or request stops it early.
type commentTarget struct {
	client forge.Forge
	poster forge.Commenter
	number int64
	noun   string
	limit  int
}

// apiTimeout bounds each forge request of --comment.
const apiTimeout = time.Minute

func (o *runner) commentTarget(ctx context.Context, repo *gitrepo.Repo) (*commentTarget, error) {
	c := o.CommentFlags
	branch, err := repo.CurrentBranch(ctx)
	if err != nil {
		return nil, err
	}
	remote := c.Remote
	if remote == "" {
		remote = "origin"
		if branch != "" {
			if r := gitConfig(ctx, repo, "branch."+branch+".remote"); r != "" && r != "." {
				remote = r
			}
		}
	}
	remoteURL := gitConfig(ctx, repo, "remote."+remote+".url")
	if remoteURL == "" {
		return nil, exitcode.Errorf(exitcode.Usage, "--comment: no remote %q to find the forge from: name it with --remote", remote)
	}
	hc := &http.Client{Timeout: apiTimeout}
	kind, _ := forge.ParseKind(c.Forge)
	if c.Forge == "" {
		kind = ""
	}
	frepo, err := forge.Detect(ctx, remoteURL, forge.DetectOptions{Kind: kind, URL: c.URL, HTTPClient: hc})
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Usage, fmt.Errorf("--comment: %w", err))
	}
	tok, err := forge.FindToken(frepo, o.Getenv)
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Usage, fmt.Errorf("--comment: %w", err))
	}
	f, err := forge.New(frepo, tok.Value, hc)
	if err != nil {
		return nil, err
	}
	poster, ok := f.(forge.Commenter)
	if !ok {
		return nil, fmt.Errorf("--comment: the %s client cannot comment", frepo.Kind.Title())
	}
	t := &commentTarget{client: f, poster: poster, number: c.Number, noun: frepo.Kind.Noun(), limit: forge.MaxCommentLen(frepo.Kind)}
	if t.number != 0 {
		return t, nil
	}
	if branch == "" {
		return nil, exitcode.Errorf(exitcode.Usage, "--comment: HEAD is detached, so there is no branch to find the %s of: pass --pr-number N", t.noun)
	}
	prs, err := f.ListOpen(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("--comment (%s, %s): %w", frepo.WebURL, tok.Source, err)
	}
	for _, pr := range prs {
		if pr.Head == branch {
			t.number = pr.Number
			return t, nil
		}
	}
	return nil, exitcode.Errorf(exitcode.NotFound, "--comment: no open %s from branch %s in %s at %s: open one (push the branch first), or pass --pr-number N", t.noun, branch, frepo.FullName(), frepo.WebURL)
}

// post writes the report on the request: one comment, the same on every run.
func (t *commentTarget) post(ctx context.Context, o *runner, res *Result) error {
	body := CommentMarker + "\n" + Markdown(res, t.limit-len(CommentMarker)-1)
	c, created, err := t.poster.UpsertComment(ctx, t.number, CommentMarker, body)
	if err != nil {
		return fmt.Errorf("--comment: %w", err)
	}
	verb := "updated the comment on"
	if created {
		verb = "commented on"
	}
	fmt.Fprintf(o.ErrOut, "%s %s %s: %s\n", verb, t.noun, t.client.Repo().Kind.Ref(t.number), c.URL)
	return nil
}

// withComment combines the gate's outcome with the comment's: the gate's
// exit code stands, and a comment that failed is said too.
func withComment(gate, comment error) error {
	if comment == nil {
		return gate
	}
	var changed *ChangedError
	if gate == nil || errors.As(gate, &changed) {
		return comment
	}
	// The gate comes first in the chain: its exit code stands.
	return fmt.Errorf("%w\nthe report was not posted: %w", gate, comment)
}
