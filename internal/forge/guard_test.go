package forge

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
)

// headerLog is a loopback HTTP server that records which host received
// which credential header.
type headerLog struct {
	mu  sync.Mutex
	got []string // "host header=value"
	srv *httptest.Server
}

func newHeaderLog(t *testing.T, h http.HandlerFunc) *headerLog {
	l := &headerLog{}
	l.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		for _, name := range credentialHeaders {
			if v := r.Header.Get(name); v != "" {
				l.got = append(l.got, r.Host+" "+name+"="+v)
			}
		}
		l.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"message":"Not Found"}`)
	}))
	t.Cleanup(l.srv.Close)
	return l
}

func (l *headerLog) leaked(token string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, g := range l.got {
		if strings.Contains(g, token) {
			out = append(out, g)
		}
	}
	return out
}

// TestTokenNotSentThroughRedirects: the forge answers every request with a
// redirect to another host (localhost instead of 127.0.0.1, or another
// port); that host never receives the token, whichever header each
// forge's client carries it in.
func TestTokenNotSentThroughRedirects(t *testing.T) {
	for _, kind := range Kinds {
		for _, target := range []string{"other name", "other port"} {
			t.Run(string(kind)+"/"+target, func(t *testing.T) {
				elsewhere := newHeaderLog(t, nil)
				dest := elsewhere.srv.URL
				if target == "other name" {
					dest = strings.Replace(dest, "127.0.0.1", "localhost", 1)
				}
				api := newHeaderLog(t, func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, dest+r.URL.RequestURI(), http.StatusFound)
				})
				repo := Repo{Kind: kind, WebURL: api.srv.URL, Owner: "acme", Name: "fleet"}
				f, err := New(repo, replayToken, &http.Client{})
				if err != nil {
					t.Fatal(err)
				}
				err = f.Check(context.Background())
				if err == nil {
					t.Fatal("Check followed the redirect and succeeded")
				}
				if leaks := elsewhere.leaked(replayToken); len(leaks) > 0 {
					t.Errorf("the redirect's target received the token: %v", leaks)
				}
				if len(api.leaked(replayToken)) == 0 {
					t.Errorf("the forge itself did not receive the token")
				}
				if !strings.Contains(err.Error(), "redirected to") || strings.Contains(err.Error(), replayToken) {
					t.Errorf("err = %v", err)
				}
			})
		}
	}
}

// TestTokenNeedsHTTPS: a token goes over http only to this machine.
func TestTokenNeedsHTTPS(t *testing.T) {
	for _, web := range []string{"http://git.example.com", "http://10.0.0.1:3000"} {
		if _, err := New(Repo{Kind: Gitea, WebURL: web, Owner: "a", Name: "b"}, "t", nil); !errors.Is(err, ErrInsecureForge) {
			t.Errorf("%s: err = %v, want ErrInsecureForge", web, err)
		}
	}
	for _, web := range []string{"https://git.example.com", "http://127.0.0.1:3000", "http://localhost:3000", "http://[::1]:3000"} {
		if _, err := New(Repo{Kind: Gitea, WebURL: web, Owner: "a", Name: "b"}, "t", nil); err != nil {
			t.Errorf("%s: %v", web, err)
		}
	}
	// Without a token (reading a public forge) http is allowed.
	if _, err := New(Repo{Kind: Gitea, WebURL: "http://git.example.com", Owner: "a", Name: "b"}, "", nil); err != nil {
		t.Error(err)
	}
}

// recordingTransport answers every request itself, recording the host and
// its credential headers: no name needs to resolve.
type recordingTransport struct {
	mu  sync.Mutex
	got []string
}

func (rt *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for _, name := range credentialHeaders {
		if v := req.Header.Get(name); v != "" {
			rt.got = append(rt.got, req.URL.Host+" "+name+"="+v)
		}
	}
	return &http.Response{StatusCode: 404, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(`{"message":"Not Found"}`)), Request: req}, nil
}

// TestTokenLookAlikeHost: a remote on github.evil.invalid does not get the
// user's github.com token (GH_TOKEN, GITHUB_TOKEN), and the command says
// which variable a GitHub Enterprise host reads.
func TestTokenLookAlikeHost(t *testing.T) {
	p := newPublishRepo(t)
	p.git(p.work, "config", "url."+p.bare+".insteadOf", "https://github.evil.invalid/acme/fleet.git")
	p.git(p.work, "remote", "set-url", "origin", "https://github.evil.invalid/acme/fleet.git")
	rt := &recordingTransport{}
	o := PublishOptions{Repo: p.repo, Branch: "promote/production/a", HTTPClient: &http.Client{Transport: rt}, Out: &bytes.Buffer{},
		Getenv: func(k string) string {
			return map[string]string{"GH_TOKEN": "gh-" + replayToken, "GITHUB_TOKEN": "github-" + replayToken}[k]
		}}
	_, err := Prepare(context.Background(), o)
	if !errors.Is(err, ErrNoToken) || exitcode.From(err) != exitcode.Usage || !strings.Contains(err.Error(), "GH_ENTERPRISE_TOKEN") {
		t.Errorf("err = %v", err)
	}
	for _, g := range rt.got {
		if strings.Contains(g, replayToken) {
			t.Errorf("sent %s", g)
		}
	}
}

// TestTokenForgeURLElsewhere: --forge-url on another host than the remote
// gets no token from the usual variables; --forge-token-env names the one
// that is sent there.
func TestTokenForgeURLElsewhere(t *testing.T) {
	p := newPublishRepo(t) // origin is https://github.com/acme/fleet.git
	fake, srv := newFakeForge(t, GitHub)
	getenv := func(k string) string {
		return map[string]string{"GH_TOKEN": replayToken, "GH_ENTERPRISE_TOKEN": replayToken, "MY_FORGE_TOKEN": replayToken}[k]
	}
	o := PublishOptions{Repo: p.repo, Branch: "promote/production/a", URL: srv.URL, Getenv: getenv, Out: &bytes.Buffer{}}
	_, err := Prepare(context.Background(), o)
	if !errors.Is(err, ErrNoToken) || !strings.Contains(err.Error(), "--forge-token-env") {
		t.Errorf("err = %v", err)
	}
	if got := fake.requests(); got != "" {
		t.Errorf("the --forge-url host was asked:\n%s", got)
	}
	o.TokenEnv = "MY_FORGE_TOKEN"
	if _, err := Prepare(context.Background(), o); err != nil {
		t.Fatalf("with --forge-token-env: %v", err)
	}
	o.TokenEnv = "UNSET_TOKEN"
	if _, err := Prepare(context.Background(), o); !errors.Is(err, ErrNoToken) || !strings.Contains(err.Error(), "UNSET_TOKEN") {
		t.Errorf("unset --forge-token-env: %v", err)
	}
}
