package gitrepo

import (
	"context"
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

// URL is a Git remote URL taken apart.
type URL struct {
	// Scheme is "https", "http", "ssh", "git", "file", or "" for scp-like
	// "git@host:org/repo" and local paths.
	Scheme string
	// Host is the lower-cased host name with a non-default port
	// ("127.0.0.1:3000"); "" for local paths and file:// URLs.
	Host string
	// Path is the repository path with a leading slash and without a
	// ".git" suffix or trailing slashes: "/org/repo".
	Path string
}

// ParseURL takes a Git URL apart the way Git reads it: https and ssh
// schemes, scp-like "git@host:org/repo", user names and passwords (which
// are dropped), default ports, a ".git" suffix, trailing slashes and the
// case of the host. Local paths and file:// URLs keep only their path.
func ParseURL(raw string) URL {
	s := strings.TrimSpace(raw)
	if s == "" {
		return URL{}
	}
	var u URL
	if i := strings.Index(s, "://"); i >= 0 {
		pu, err := url.Parse(s)
		if err != nil {
			return URL{Path: strings.ToLower(s)}
		}
		u.Scheme = strings.ToLower(pu.Scheme)
		u.Host = strings.ToLower(pu.Hostname())
		if port := pu.Port(); port != "" && !defaultPort(u.Scheme, port) {
			u.Host += ":" + port
		}
		u.Path = pu.Path
		if u.Scheme == "file" {
			u.Host = ""
		}
	} else if at := strings.Index(s, ":"); at > 0 && !strings.Contains(s[:at], "/") {
		// scp-like: [user@]host:path
		host := s[:at]
		if j := strings.LastIndex(host, "@"); j >= 0 {
			host = host[j+1:]
		}
		u.Host = strings.ToLower(host)
		u.Path = s[at+1:]
	} else {
		u.Path = s
	}
	p := strings.TrimRight(u.Path, "/")
	p = strings.TrimSuffix(p, ".git")
	p = strings.TrimRight(p, "/")
	u.Path = "/" + strings.TrimLeft(p, "/")
	return u
}

// NormalizeURL reduces a Git URL to "host/path" (see ParseURL) so that the
// forms one repository goes by compare equal. Local paths and file:// URLs
// reduce to their cleaned path.
func NormalizeURL(raw string) string {
	if strings.TrimSpace(raw) == "" {
		return ""
	}
	u := ParseURL(raw)
	return u.Host + u.Path
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
