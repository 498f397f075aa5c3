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

// NormalizeURL reduces a Git URL to "host/path" so that the forms one
// repository goes by compare equal: https and ssh schemes, scp-like
// "git@host:org/repo", user names and passwords, default ports, a ".git"
// suffix, trailing slashes and the case of the host. Local paths and
// file:// URLs reduce to their cleaned path.
func NormalizeURL(raw string) string {
	s := strings.TrimSpace(raw)
	if s == "" {
		return ""
	}
	var host, p string
	if i := strings.Index(s, "://"); i >= 0 {
		u, err := url.Parse(s)
		if err != nil {
			return strings.ToLower(s)
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
		// scp-like: [user@]host:path
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
	p = "/" + strings.TrimLeft(p, "/")
	return strings.ToLower(host) + p
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
