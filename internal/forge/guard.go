package forge

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// credentialHeaders are the request headers the forges' clients carry a
// token in: GitHub's and Gitea's Authorization, GitLab's PRIVATE-TOKEN
// (and its job and OAuth variants).
var credentialHeaders = []string{"Authorization", "Proxy-Authorization", "Private-Token", "Job-Token", "Cookie"}

// ErrInsecureForge is returned by New when a token would travel in clear
// text to a host other than this machine.
var ErrInsecureForge = errors.New("refusing to send a token over http")

// hostGuard is the innermost transport of a client built with a token:
// a request to any host but the forge's loses its credential headers,
// whichever library layer added them (go-github adds Authorization in its
// own transport, after net/http's redirect handling has already decided
// what to forward).
type hostGuard struct {
	host string
	base http.RoundTripper
}

func (g hostGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.EqualFold(req.URL.Host, g.host) {
		req = req.Clone(req.Context())
		for _, h := range credentialHeaders {
			req.Header.Del(h)
		}
	}
	return g.base.RoundTrip(req)
}

// guarded returns a copy of hc, for a client that sends a token to host:
// redirects to another host (or from https to http) are refused, and no
// request to another host carries a credential header. hc itself, which
// may be shared with probing, is left as it was.
func guarded(hc *http.Client, host string) *http.Client {
	c := *hc
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.Transport = hostGuard{host: host, base: base}
	next := hc.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if !strings.EqualFold(req.URL.Host, host) || (len(via) > 0 && via[0].URL.Scheme == "https" && req.URL.Scheme != "https") {
			return fmt.Errorf("the forge at %s redirected to %s://%s, another host or an unencrypted address; kubectl-gitops does not follow it with your token: set --forge-url to the forge's own address", host, req.URL.Scheme, req.URL.Host)
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return fmt.Errorf("stopped after 10 redirects")
		}
		return nil
	}
	return &c
}

// secureEnough reports whether a token may be sent to web: over https,
// or over http to this machine (a forge in a local test or sandbox).
func secureEnough(web string) error {
	u, err := url.Parse(web)
	if err != nil {
		return fmt.Errorf("forge address %q: %w", web, err)
	}
	if u.Scheme == "https" || isLoopback(u.Hostname()) {
		return nil
	}
	return fmt.Errorf("%w to %s, where anyone on the way could read it: use the forge's https address (--forge-url https://%s)", ErrInsecureForge, u.Host, u.Host)
}

// isLoopback is localhost or a loopback IP address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
