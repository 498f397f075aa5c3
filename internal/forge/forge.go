// Package forge opens and updates pull requests (GitHub, Gitea, Forgejo)
// and merge requests (GitLab) through each forge's API, finds which forge
// hosts a Git remote, and finds the user's token for it.
//
// One interface, Forge, covers what the plugins need: open-or-update the
// request for a branch, and list the open ones. It is implemented with the
// forges' own client libraries (go-github, GitLab's client-go, Gitea's
// SDK). Tokens are sent in request headers only: they never appear in a
// URL, a message or an error this package returns.
package forge

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Kind names a forge's API.
type Kind string

const (
	GitHub Kind = "github"
	GitLab Kind = "gitlab"
	// Gitea is Gitea's API, which Forgejo and Codeberg serve too.
	Gitea Kind = "gitea"
)

// Kinds lists the accepted --forge values.
var Kinds = []Kind{GitHub, GitLab, Gitea}

// ParseKind reads a --forge value; "forgejo" and "codeberg" mean Gitea.
func ParseKind(s string) (Kind, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "github", "ghe", "github-enterprise":
		return GitHub, nil
	case "gitlab":
		return GitLab, nil
	case "gitea", "forgejo", "codeberg":
		return Gitea, nil
	}
	return "", fmt.Errorf("unknown forge %q: use github, gitlab or gitea (also for Forgejo)", s)
}

// Repo is a repository on a forge.
type Repo struct {
	Kind Kind
	// WebURL is the forge's web root, without a trailing slash:
	// https://github.com, https://git.example.com/gitea.
	WebURL string
	// Owner is the user or organisation; on GitLab, the full group path
	// ("group/subgroup").
	Owner string
	Name  string
}

// FullName is owner/name.
func (r Repo) FullName() string { return r.Owner + "/" + r.Name }

// Host is the host (and port) of WebURL.
func (r Repo) Host() string {
	s := r.WebURL
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.Index(s, "/"); i >= 0 {
		s = s[:i]
	}
	return s
}

// Title is the forge's name as people write it.
func (k Kind) Title() string {
	switch k {
	case GitHub:
		return "GitHub"
	case GitLab:
		return "GitLab"
	case Gitea:
		return "Gitea"
	}
	return string(k)
}

// Noun is what the forge calls a request: "pull request" or "merge request".
func (k Kind) Noun() string {
	if k == GitLab {
		return "merge request"
	}
	return "pull request"
}

// Spec is the request to open, or to bring an open one up to date with.
type Spec struct {
	// Head is the branch with the change; Base the branch it merges into.
	Head, Base  string
	Title, Body string
	// Labels are added (created first where the forge needs that);
	// existing labels stay.
	Labels []string
	// Reviewers are user names to ask for a review; on GitHub "org/team"
	// asks a team.
	Reviewers []string
	// Draft opens the request as a draft. An existing request keeps its
	// draft state: leaving draft is a reviewer's decision.
	Draft bool
}

// PullRequest is an open request as the forge reports it.
type PullRequest struct {
	Number int64  `json:"number"`
	URL    string `json:"url"`
	Title  string `json:"title"`
	Body   string `json:"-"`
	Head   string `json:"head"`
	Base   string `json:"base"`
	Draft  bool   `json:"draft,omitempty"`
}

// Forge is one repository's pull or merge requests.
type Forge interface {
	// Repo is the repository this client acts on.
	Repo() Repo
	// Check reads the repository: it fails when the token is refused or
	// cannot see the repository, before anything is pushed.
	Check(ctx context.Context) error
	// Ensure opens the request from s.Head into s.Base, or, when one is
	// open already, updates its title and body and adds the labels and
	// reviewers. It reports whether it opened a new one.
	Ensure(ctx context.Context, s Spec) (pr PullRequest, created bool, err error)
	// ListOpen lists the open requests into base ("" for any branch).
	ListOpen(ctx context.Context, base string) ([]PullRequest, error)
}

// New returns the client for repo, authenticated with token. hc nil means
// http.DefaultClient's transport. With a token, the client sends it only
// to repo's host, over https unless that host is this machine: a redirect
// elsewhere is refused, and no request to another host carries it.
func New(repo Repo, token string, hc *http.Client) (Forge, error) {
	if hc == nil {
		hc = &http.Client{}
	}
	if token != "" {
		if err := secureEnough(repo.WebURL); err != nil {
			return nil, err
		}
		hc = guarded(hc, repo.Host())
	}
	switch repo.Kind {
	case GitHub:
		return newGitHub(repo, token, hc)
	case GitLab:
		return newGitLab(repo, token, hc)
	case Gitea:
		return newGitea(repo, token, hc)
	}
	return nil, fmt.Errorf("unknown forge %q", repo.Kind)
}

// client is what the three implementations share.
type client struct {
	repo  Repo
	token string
}

func (c *client) Repo() Repo { return c.repo }

// redact removes the token from s, in case a forge or a library ever
// echoes it back in a message.
func (c *client) redact(s string) string {
	if c.token == "" {
		return s
	}
	return strings.ReplaceAll(s, c.token, "[token]")
}

// maxListed bounds ListOpen: a repository with more open requests than
// this is listed in part.
const maxListed = 500

func itoa[T int | int64](n T) string { return strconv.FormatInt(int64(n), 10) }

// userAgent identifies the plugin to the forge's logs.
const userAgent = "kubectl-gitops"
