package forge

import (
	"context"
	"net/http"
	"strings"
	"sync"

	"code.gitea.io/sdk/gitea"
)

// giteaAPI talks to Gitea's API (v1), which Forgejo and Codeberg serve too.
type giteaAPI struct {
	client
	// The SDK takes its context per client, not per call: mu serialises
	// calls so each runs under its own context.
	mu  sync.Mutex
	api *gitea.Client
}

func newGitea(repo Repo, token string, hc *http.Client) (Forge, error) {
	// SetGiteaVersion("") skips the SDK's version request at construction:
	// Check makes the first request, and servers built from source report
	// versions the SDK cannot compare.
	opts := []gitea.ClientOption{gitea.SetHTTPClient(hc), gitea.SetGiteaVersion(""), gitea.SetUserAgent(userAgent)}
	if token != "" {
		opts = append(opts, gitea.SetToken(token))
	}
	api, err := gitea.NewClient(repo.WebURL, opts...)
	if err != nil {
		return nil, err
	}
	return &giteaAPI{client: client{repo: repo, token: token}, api: api}, nil
}

// with runs f with the SDK bound to ctx.
func (g *giteaAPI) with(ctx context.Context, f func(api *gitea.Client) error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.api.SetContext(ctx)
	defer g.api.SetContext(context.Background())
	return f(g.api)
}

func (g *giteaAPI) err(op string, resp *gitea.Response, err error) error {
	if err == nil {
		return nil
	}
	var hr *http.Response
	msg := ""
	if resp != nil && resp.Response != nil {
		hr = resp.Response
		// The SDK's error text is the server's message.
		msg = err.Error()
	}
	return g.newAPIError(op, hr, err, msg)
}

func (g *giteaAPI) Check(ctx context.Context) error {
	return g.with(ctx, func(api *gitea.Client) error {
		_, resp, err := api.GetRepo(g.repo.Owner, g.repo.Name)
		return g.err("reading the repository "+g.repo.FullName(), resp, err)
	})
}

// wipPrefix marks a Gitea pull request as work in progress (a draft):
// Gitea's default WORK_IN_PROGRESS_PREFIXES include it.
const wipPrefix = "WIP: "

func (g *giteaAPI) Ensure(ctx context.Context, s Spec) (pr PullRequest, created bool, err error) {
	err = g.with(ctx, func(api *gitea.Client) error {
		existing, err := g.find(api, s.Head, s.Base)
		if err != nil {
			return err
		}
		labels, err := g.labelIDs(api, s.Labels)
		if err != nil {
			return err
		}
		var p *gitea.PullRequest
		var resp *gitea.Response
		if existing == nil {
			title := s.Title
			if s.Draft {
				title = wipPrefix + title
			}
			p, resp, err = api.CreatePullRequest(g.repo.Owner, g.repo.Name, gitea.CreatePullRequestOption{
				Head: s.Head, Base: s.Base, Title: title, Body: s.Body, Labels: labels, Reviewers: s.Reviewers,
			})
			if err != nil {
				return g.err("opening the pull request", resp, err)
			}
			created = true
			pr = g.convert(p)
			return nil
		}
		title := s.Title
		if existing.Draft || strings.HasPrefix(existing.Title, wipPrefix) {
			title = wipPrefix + title
		}
		body := s.Body
		p, resp, err = api.EditPullRequest(g.repo.Owner, g.repo.Name, existing.Index, gitea.EditPullRequestOption{Title: title, Body: &body})
		if err != nil {
			return g.err("updating pull request #"+itoa(existing.Index), resp, err)
		}
		if len(labels) > 0 {
			if _, resp, err := api.AddIssueLabels(g.repo.Owner, g.repo.Name, existing.Index, gitea.IssueLabelsOption{Labels: labels}); err != nil {
				return g.err("labelling pull request #"+itoa(existing.Index), resp, err)
			}
		}
		if len(s.Reviewers) > 0 {
			if resp, err := api.CreateReviewRequests(g.repo.Owner, g.repo.Name, existing.Index, gitea.PullReviewRequestOptions{Reviewers: s.Reviewers}); err != nil {
				return g.err("requesting reviews on pull request #"+itoa(existing.Index), resp, err)
			}
		}
		pr = g.convert(p)
		return nil
	})
	return pr, created, err
}

// find returns the open pull request from head into base, or nil.
func (g *giteaAPI) find(api *gitea.Client, head, base string) (*gitea.PullRequest, error) {
	prs, err := g.list(api, "listing open pull requests")
	if err != nil {
		return nil, err
	}
	for _, p := range prs {
		if p.Head != nil && p.Head.Ref == head && (base == "" || p.Base != nil && p.Base.Ref == base) {
			return p, nil
		}
	}
	return nil, nil
}

func (g *giteaAPI) list(api *gitea.Client, op string) ([]*gitea.PullRequest, error) {
	var out []*gitea.PullRequest
	for page := 1; ; page++ {
		prs, resp, err := api.ListRepoPullRequests(g.repo.Owner, g.repo.Name, gitea.ListPullRequestsOptions{
			State: gitea.StateOpen, ListOptions: gitea.ListOptions{Page: page, PageSize: 50},
		})
		if err != nil {
			return nil, g.err(op, resp, err)
		}
		out = append(out, prs...)
		if len(prs) == 0 || resp.NextPage == 0 || len(out) >= maxListed {
			return out, nil
		}
	}
}

// labelColor is given to labels --pr-label creates (Gitea, unlike GitHub
// and GitLab, does not create labels on first use).
const labelColor = "#0075ca"

// labelIDs maps label names to the repository's label ids, creating the
// missing ones.
func (g *giteaAPI) labelIDs(api *gitea.Client, names []string) ([]int64, error) {
	if len(names) == 0 {
		return nil, nil
	}
	have := map[string]int64{}
	for page := 1; ; page++ {
		ls, resp, err := api.ListRepoLabels(g.repo.Owner, g.repo.Name, gitea.ListLabelsOptions{ListOptions: gitea.ListOptions{Page: page, PageSize: 50}})
		if err != nil {
			return nil, g.err("listing labels", resp, err)
		}
		for _, l := range ls {
			have[l.Name] = l.ID
		}
		if len(ls) == 0 || resp.NextPage == 0 {
			break
		}
	}
	var ids []int64
	for _, n := range names {
		id, ok := have[n]
		if !ok {
			l, resp, err := api.CreateLabel(g.repo.Owner, g.repo.Name, gitea.CreateLabelOption{Name: n, Color: labelColor})
			if err != nil {
				return nil, g.err("creating label "+n, resp, err)
			}
			id = l.ID
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func (g *giteaAPI) ListOpen(ctx context.Context, base string) ([]PullRequest, error) {
	var out []PullRequest
	err := g.with(ctx, func(api *gitea.Client) error {
		prs, err := g.list(api, "listing open pull requests")
		for _, p := range prs {
			if base == "" || p.Base != nil && p.Base.Ref == base {
				out = append(out, g.convert(p))
			}
		}
		return err
	})
	return out, err
}

func (g *giteaAPI) convert(p *gitea.PullRequest) PullRequest {
	pr := PullRequest{Number: p.Index, URL: p.HTMLURL, Title: p.Title, Body: p.Body, Draft: p.Draft}
	if p.Head != nil {
		pr.Head = p.Head.Ref
	}
	if p.Base != nil {
		pr.Base = p.Base.Ref
	}
	return pr
}
