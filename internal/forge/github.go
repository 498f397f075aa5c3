package forge

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/google/go-github/v82/github"
)

// gitHub talks to github.com's REST API, or to GitHub Enterprise Server's
// under WebURL/api/v3.
type gitHub struct {
	client
	api *github.Client
}

func newGitHub(repo Repo, token string, hc *http.Client) (Forge, error) {
	api := github.NewClient(hc)
	api.UserAgent = userAgent
	if token != "" {
		api = api.WithAuthToken(token)
	}
	if !strings.EqualFold(repo.Host(), "github.com") {
		var err error
		if api, err = api.WithEnterpriseURLs(repo.WebURL+"/", repo.WebURL+"/"); err != nil {
			return nil, err
		}
	}
	return &gitHub{client: client{repo: repo, token: token}, api: api}, nil
}

func (g *gitHub) err(op string, resp *github.Response, err error) error {
	if err == nil {
		return nil
	}
	var hr *http.Response
	if resp != nil {
		hr = resp.Response
	}
	msg := ""
	var er *github.ErrorResponse
	var rl *github.RateLimitError
	var ab *github.AbuseRateLimitError
	switch {
	case errors.As(err, &er):
		msg = er.Message
		for _, e := range er.Errors {
			if e.Message != "" {
				msg += ": " + e.Message
			}
		}
		if hr == nil {
			hr = er.Response
		}
	case errors.As(err, &rl):
		msg = rl.Message
		if hr == nil {
			hr = rl.Response
		}
	case errors.As(err, &ab):
		msg = ab.Message
		if hr == nil {
			hr = ab.Response
		}
	}
	e := g.newAPIError(op, hr, err, msg)
	if ae := (*APIError)(nil); errors.As(e, &ae) && (rl != nil || ab != nil) {
		ae.RateLimited = true
		if rl != nil && !rl.Rate.Reset.IsZero() {
			ae.Reset = rl.Rate.Reset.Time
		}
	}
	return e
}

func (g *gitHub) Check(ctx context.Context) error {
	_, resp, err := g.api.Repositories.Get(ctx, g.repo.Owner, g.repo.Name)
	return g.err("reading the repository "+g.repo.FullName(), resp, err)
}

func (g *gitHub) find(ctx context.Context, head, base string) (*github.PullRequest, error) {
	prs, resp, err := g.api.PullRequests.List(ctx, g.repo.Owner, g.repo.Name, &github.PullRequestListOptions{
		State: "open", Head: g.repo.Owner + ":" + head, Base: base,
	})
	if err != nil {
		return nil, g.err("listing open pull requests", resp, err)
	}
	for _, pr := range prs {
		if pr.GetHead().GetRef() == head && (base == "" || pr.GetBase().GetRef() == base) {
			return pr, nil
		}
	}
	return nil, nil
}

func (g *gitHub) Ensure(ctx context.Context, s Spec) (PullRequest, bool, error) {
	pr, err := g.find(ctx, s.Head, s.Base)
	if err != nil {
		return PullRequest{}, false, err
	}
	created := pr == nil
	var resp *github.Response
	if created {
		pr, resp, err = g.api.PullRequests.Create(ctx, g.repo.Owner, g.repo.Name, &github.NewPullRequest{
			Title: &s.Title, Body: &s.Body, Head: &s.Head, Base: &s.Base, Draft: &s.Draft,
		})
		if err != nil {
			return PullRequest{}, false, g.err("opening the pull request", resp, err)
		}
	} else {
		pr, resp, err = g.api.PullRequests.Edit(ctx, g.repo.Owner, g.repo.Name, pr.GetNumber(), &github.PullRequest{Title: &s.Title, Body: &s.Body})
		if err != nil {
			return PullRequest{}, false, g.err("updating pull request #"+itoa(pr.GetNumber()), resp, err)
		}
	}
	n := pr.GetNumber()
	if len(s.Labels) > 0 {
		// Issues and pull requests share numbers and labels; a missing label
		// is created by GitHub.
		if _, resp, err := g.api.Issues.AddLabelsToIssue(ctx, g.repo.Owner, g.repo.Name, n, s.Labels); err != nil {
			return g.convert(pr), created, g.err("labelling pull request #"+itoa(n), resp, err)
		}
	}
	if len(s.Reviewers) > 0 {
		var rr github.ReviewersRequest
		for _, r := range s.Reviewers {
			// "org/team" names a team of the repository's organisation.
			if _, team, ok := strings.Cut(r, "/"); ok {
				rr.TeamReviewers = append(rr.TeamReviewers, team)
			} else {
				rr.Reviewers = append(rr.Reviewers, r)
			}
		}
		if _, resp, err := g.api.PullRequests.RequestReviewers(ctx, g.repo.Owner, g.repo.Name, n, rr); err != nil {
			return g.convert(pr), created, g.err("requesting reviews on pull request #"+itoa(n), resp, err)
		}
	}
	return g.convert(pr), created, nil
}

func (g *gitHub) ListOpen(ctx context.Context, base string) ([]PullRequest, error) {
	opts := &github.PullRequestListOptions{State: "open", Base: base, ListOptions: github.ListOptions{PerPage: 100}}
	var out []PullRequest
	for {
		prs, resp, err := g.api.PullRequests.List(ctx, g.repo.Owner, g.repo.Name, opts)
		if err != nil {
			return nil, g.err("listing open pull requests", resp, err)
		}
		for _, pr := range prs {
			out = append(out, g.convert(pr))
		}
		if resp.NextPage == 0 || len(out) >= maxListed {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

func (g *gitHub) convert(pr *github.PullRequest) PullRequest {
	return PullRequest{
		Number: int64(pr.GetNumber()), URL: pr.GetHTMLURL(), Title: pr.GetTitle(), Body: pr.GetBody(),
		Head: pr.GetHead().GetRef(), Base: pr.GetBase().GetRef(), Draft: pr.GetDraft(),
	}
}
