package forge

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrRateLimited is matched (errors.Is) by an APIError the forge sent
// because too many requests were made.
var ErrRateLimited = errors.New("rate limited")

// APIError is a request the forge refused, with what to do about it.
type APIError struct {
	Kind Kind
	Repo string
	// Op says what was being done: "reading the repository", "opening the
	// pull request".
	Op string
	// Status is the HTTP status (0 when the forge could not be reached).
	Status int
	// Message is the forge's own explanation, if it gave one.
	Message string
	// RateLimited is set for 429s and for 403s that carry rate-limit
	// headers; Reset is when the limit lifts, if the forge said.
	RateLimited bool
	Reset       time.Time
	// tokenEnv names where a better token goes, for the advice.
	tokenEnv string
}

func (e *APIError) Error() string {
	noun := e.Kind.Noun()
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", e.Kind.Title(), e.Op)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.Status)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	b.WriteString("; ")
	switch {
	case e.RateLimited:
		b.WriteString("the forge's API rate limit is used up")
		if !e.Reset.IsZero() {
			fmt.Fprintf(&b, " until %s", e.Reset.UTC().Format(time.RFC3339))
		}
		b.WriteString(": wait and run again, or use a token with a higher limit")
	case e.Status == http.StatusUnauthorized:
		fmt.Fprintf(&b, "the token was refused (expired, revoked or mistyped): set %s to a valid token", e.tokenEnv)
	case e.Status == http.StatusForbidden:
		fmt.Fprintf(&b, "the token may not do this on %s: give it write access to the repository and its %ss (GitHub: the repo scope or \"Pull requests: write\"; GitLab: the api scope, Developer role; Gitea: write:repository)", e.Repo, noun)
	case e.Status == http.StatusNotFound:
		fmt.Fprintf(&b, "%s was not found: check the remote URL and --forge-url, and that the token can see the repository (a private repository answers 404 to a token that cannot)", e.Repo)
	case e.Status == http.StatusUnprocessableEntity || e.Status == http.StatusConflict:
		fmt.Fprintf(&b, "the forge refused the %s as asked: check that the base branch exists, that the branch differs from it, and the label and reviewer names", noun)
	case e.Status == 0:
		b.WriteString("the forge could not be reached: check the network, the remote URL and --forge-url")
	case e.Status >= 300 && e.Status < 400:
		b.WriteString("the forge redirected to another address, where kubectl-gitops does not send your token: set --forge-url to the address the forge's API answers at")
	case e.Status >= 500:
		b.WriteString("the forge failed: try again later")
	case e.Status < 300:
		b.WriteString("the forge's answer could not be read: check --forge and --forge-url")
	default:
		b.WriteString("see the forge's message above")
	}
	return b.String()
}

// Is makes errors.Is(err, ErrRateLimited) work.
func (e *APIError) Is(target error) bool { return target == ErrRateLimited && e.RateLimited }

// newAPIError builds the error for a failed call: status and headers from
// resp (nil when no response came back), the forge's message from err.
func (c *client) newAPIError(op string, resp *http.Response, err error, msg string) error {
	if err == nil {
		return nil
	}
	e := &APIError{Kind: c.repo.Kind, Repo: c.repo.FullName(), Op: op, Message: msg, tokenEnv: tokenEnvs(c.repo.Kind, c.repo.Host())}
	if resp != nil {
		e.Status = resp.StatusCode
		e.RateLimited, e.Reset = rateLimited(resp)
	}
	if e.Message == "" && (resp == nil || resp.StatusCode < 300) {
		// No answer, or one that could not be read.
		e.Message = err.Error()
	}
	e.Message = c.redact(oneLine(e.Message))
	return e
}

// rateLimited reads the headers the three forges send when a client is
// over its limit: 429 with Retry-After, or GitHub's 403 with
// X-RateLimit-Remaining: 0 (and its secondary limit's Retry-After).
func rateLimited(resp *http.Response) (bool, time.Time) {
	h := resp.Header
	var reset time.Time
	if s := h.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil {
			reset = time.Now().Add(time.Duration(n) * time.Second)
		}
	}
	for _, k := range []string{"X-RateLimit-Reset", "RateLimit-Reset"} {
		if n, err := strconv.ParseInt(h.Get(k), 10, 64); err == nil && n > 1e9 && reset.IsZero() {
			reset = time.Unix(n, 0)
		}
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return true, reset
	case resp.StatusCode == http.StatusForbidden && (h.Get("X-RateLimit-Remaining") == "0" || h.Get("RateLimit-Remaining") == "0" || h.Get("Retry-After") != ""):
		return true, reset
	}
	return false, time.Time{}
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	s = strings.ReplaceAll(s, "\r", "")
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}
