package gitrepo

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// Remote is a configured remote and its fetch URL.
type Remote struct {
	Name string
	URL  string
}

// Remotes lists the checkout's remotes, sorted by name.
func (r *Repo) Remotes(ctx context.Context) ([]Remote, error) {
	out, err := r.Git(ctx, "config", "--get-regexp", `^remote\..*\.url$`)
	if err != nil {
		// git config exits 1 when nothing matches: no remotes.
		if strings.TrimSpace(out) == "" {
			return nil, nil
		}
		return nil, err
	}
	var rs []Remote
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		name := strings.TrimSuffix(strings.TrimPrefix(k, "remote."), ".url")
		rs = append(rs, Remote{Name: name, URL: strings.TrimSpace(v)})
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].Name < rs[j].Name })
	return rs, nil
}

// SplitURL splits a Git remote URL into its host (with a port that is not
// the scheme's default, lower-cased) and its path (leading slash, no
// trailing slash, no ".git"), for the forms one repository goes by: https
// and ssh schemes, scp-like "git@host:org/repo", user names and passwords.
// Local paths and file:// URLs have no host.
func SplitURL(raw string) (host, repoPath string) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", ""
	}
	var p string
	if i := strings.Index(s, "://"); i >= 0 {
		u, err := url.Parse(s)
		if err != nil {
			return "", strings.ToLower(s)
		}
		host = u.Hostname()
		if port := u.Port(); port != "" && !defaultPort(u.Scheme, port) {
			host += ":" + port
		}
		p = u.Path
		if u.Scheme == "file" {
			host = ""
		}
	} else if at := strings.Index(s, ":"); at > 0 && !strings.Contains(s[:at], "/") {
		// scp-like: [user@]host:path. A local path has no colon before its
		// first slash.
		host = s[:at]
		if j := strings.LastIndex(host, "@"); j >= 0 {
			host = host[j+1:]
		}
		p = s[at+1:]
	} else {
		p = s
	}
	p = strings.TrimRight(p, "/")
	p = strings.TrimSuffix(p, ".git")
	p = strings.TrimRight(p, "/")
	return strings.ToLower(host), "/" + strings.TrimLeft(p, "/")
}

// NormalizeURL reduces a Git URL to "host/path" (see SplitURL) so that the
// forms one repository goes by compare equal, default ports, a ".git"
// suffix, trailing slashes and the case of the host included. Local paths
// and file:// URLs reduce to their cleaned path.
func NormalizeURL(raw string) string {
	host, p := SplitURL(raw)
	return host + p
}

// RequestURL is the page that opens a pull request (GitHub, Gitea,
// Forgejo) or merge request (GitLab) from head into base on the forge that
// hosts remote; "" for a remote that is not on a web forge (a path, a
// file:// URL) or without a base.
func RequestURL(remote, base, head string) string {
	host, repoPath := SplitURL(remote)
	repoPath = strings.Trim(repoPath, "/")
	if host == "" || base == "" || !strings.Contains(repoPath, "/") {
		return ""
	}
	// The web UI is on the default https port, whatever port ssh used.
	if i := strings.LastIndex(host, ":"); i >= 0 {
		host = host[:i]
	}
	web := "https://" + host + "/" + repoPath
	switch {
	case strings.Contains(host, "gitlab"):
		return fmt.Sprintf("%s/-/merge_requests/new?merge_request%%5Bsource_branch%%5D=%s&merge_request%%5Btarget_branch%%5D=%s",
			web, url.QueryEscape(head), url.QueryEscape(base))
	case strings.Contains(host, "github"):
		return fmt.Sprintf("%s/compare/%s...%s?expand=1", web, escapeRef(base), escapeRef(head))
	}
	// Gitea, Forgejo and Codeberg use GitHub's compare form without expand.
	return fmt.Sprintf("%s/compare/%s...%s", web, escapeRef(base), escapeRef(head))
}

func escapeRef(s string) string {
	parts := strings.Split(s, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

func defaultPort(scheme, port string) bool {
	switch scheme {
	case "https":
		return port == "443"
	case "http":
		return port == "80"
	case "ssh", "git+ssh":
		return port == "22"
	case "git":
		return port == "9418"
	}
	return false
}

// SameRepository reports whether two Git URLs name the same repository.
func SameRepository(a, b string) bool {
	na, nb := NormalizeURL(a), NormalizeURL(b)
	return na != "" && na == nb
}

// URL is a Git remote URL taken apart, with its scheme (SplitURL drops it).
type URL struct {
	// Scheme is "https", "http", "ssh", "git", "file", or "" for scp-like
	// "git@host:org/repo" and local paths.
	Scheme string
	// Host and Path are SplitURL's.
	Host, Path string
}

// ParseURL is SplitURL with the scheme kept: a forge's web root is http or
// https as the remote says, and https for ssh remotes.
func ParseURL(raw string) URL {
	host, p := SplitURL(raw)
	u := URL{Host: host, Path: p}
	if s := strings.TrimSpace(raw); strings.Contains(s, "://") {
		u.Scheme = strings.ToLower(s[:strings.Index(s, "://")])
	}
	return u
}
