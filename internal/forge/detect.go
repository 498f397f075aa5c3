package forge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
)

// ErrUnknownForge is returned by Detect when neither the host name nor
// the server's answers tell which forge it is.
var ErrUnknownForge = errors.New("unknown forge")

// DetectOptions are the user's overrides and how to probe.
type DetectOptions struct {
	// Kind is --forge ("" detects it).
	Kind Kind
	// URL is --forge-url: the forge's web root when it is not the remote's
	// scheme and host (a sub-path install, an API behind another host, a
	// remote over SSH to a forge served over http).
	URL string
	// TokenEnv is --forge-token-env, the variable holding the token.
	TokenEnv string
	// HTTPClient probes servers whose host name says nothing; nil means no
	// probing.
	HTTPClient *http.Client
}

// Detect works out the forge repository a Git remote URL points at: the
// web root from the URL (https for SSH remotes, whose port is SSH's), the
// kind from the host name (github, gitlab, gitea, forgejo, codeberg) or,
// for other hosts, by asking the server's version endpoints.
func Detect(ctx context.Context, remoteURL string, o DetectOptions) (Repo, error) {
	u := gitrepo.ParseURL(remoteURL)
	var repo Repo
	path := u.Path
	if o.URL != "" {
		base, err := url.Parse(strings.TrimRight(o.URL, "/"))
		if err != nil || base.Host == "" || (base.Scheme != "http" && base.Scheme != "https") {
			return Repo{}, fmt.Errorf("--forge-url %q is not an http(s) URL like https://git.example.com", o.URL)
		}
		repo.WebURL = base.Scheme + "://" + base.Host + base.Path
		if p := strings.TrimRight(base.Path, "/"); p != "" && strings.HasPrefix(path, p+"/") {
			path = strings.TrimPrefix(path, p)
		}
	} else {
		if u.Host == "" {
			return Repo{}, fmt.Errorf("remote %s is a local path, not a forge: push to a forge's remote, or give --forge-url", remoteURL)
		}
		scheme := "https"
		host := u.Host
		switch u.Scheme {
		case "http":
			scheme = "http"
		case "https":
		default:
			// SSH (and git://): the port is not the web server's.
			if i := strings.LastIndex(host, ":"); i >= 0 && !strings.HasSuffix(host, "]") {
				host = host[:i]
			}
		}
		repo.WebURL = scheme + "://" + host
	}
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if len(segs) < 2 || segs[0] == "" {
		return Repo{}, fmt.Errorf("remote %s does not name a repository as owner/name", remoteURL)
	}
	repo.Owner, repo.Name = strings.Join(segs[:len(segs)-1], "/"), segs[len(segs)-1]
	repo.Kind = o.Kind
	if repo.Kind == "" {
		repo.Kind = kindFromHost(repo.Host())
	}
	if repo.Kind == "" {
		repo.Kind = kindFromHost(u.Host)
	}
	if repo.Kind == "" && o.HTTPClient != nil {
		repo.Kind = probe(ctx, o.HTTPClient, repo.WebURL)
	}
	if repo.Kind == "" {
		return Repo{}, fmt.Errorf("%w at %s: neither its name nor its API says which forge it is; pass --forge github, gitlab or gitea", ErrUnknownForge, repo.WebURL)
	}
	if repo.Kind != GitLab && strings.Contains(repo.Owner, "/") {
		return Repo{}, fmt.Errorf("remote %s: a %s repository is owner/name, not %s (pass --forge-url when the forge is served under a sub-path)", remoteURL, repo.Kind.Title(), repo.FullName())
	}
	return repo, nil
}

// TokenScope says where the token for a forge may come from.
type TokenScope struct {
	// Env is --forge-token-env: the one environment variable that holds
	// the token ("" reads the forge's usual ones).
	Env string
	// ForgeURLElsewhere is set when --forge-url names another host than
	// the Git remote's: the usual variables, which belong to the remote's
	// forge, are not sent there.
	ForgeURLElsewhere bool
}

// TokenScope is where the token for the forge Detect finds from remoteURL
// and o may come from.
func (o DetectOptions) TokenScope(remoteURL string) TokenScope {
	s := TokenScope{Env: o.TokenEnv}
	if o.URL != "" {
		base, err := url.Parse(strings.TrimRight(o.URL, "/"))
		s.ForgeURLElsewhere = err != nil || !strings.EqualFold(base.Hostname(), hostname(gitrepo.ParseURL(remoteURL).Host))
	}
	return s
}

// kindFromHost knows the public forges and the usual names of self-hosted
// ones.
func kindFromHost(host string) Kind {
	h := strings.ToLower(host)
	if i := strings.LastIndex(h, ":"); i >= 0 {
		h = h[:i]
	}
	switch {
	case h == "github.com" || strings.Contains(h, "github"):
		return GitHub
	case h == "gitlab.com" || strings.Contains(h, "gitlab"):
		return GitLab
	case h == "codeberg.org" || strings.Contains(h, "gitea") || strings.Contains(h, "forgejo"):
		return Gitea
	}
	return ""
}

// probe asks the server which API it serves, unauthenticated: Gitea and
// Forgejo answer /api/v1/version, GitLab /api/v4/version (401 without a
// token, in GitLab's JSON), GitHub Enterprise /api/v3/meta.
func probe(ctx context.Context, hc *http.Client, web string) Kind {
	get := func(path string) (int, map[string]any) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, web+path, nil)
		if err != nil {
			return 0, nil
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", userAgent)
		resp, err := hc.Do(req)
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&m)
		return resp.StatusCode, m
	}
	if st, m := get("/api/v1/version"); st == http.StatusOK && m["version"] != nil {
		return Gitea
	}
	if st, m := get("/api/v4/version"); (st == http.StatusOK && m["version"] != nil) || (st == http.StatusUnauthorized && m["message"] != nil) {
		return GitLab
	}
	if st, m := get("/api/v3/meta"); st == http.StatusOK && m["verifiable_password_authentication"] != nil {
		return GitHub
	}
	return ""
}
