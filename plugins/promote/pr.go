package promote

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/kubectl-gitops/kubectl-gitops/internal/forge"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/releasecheck"
	"github.com/kubectl-gitops/kubectl-gitops/internal/textdiff"
)

// prBranch is the branch --pr uses when --branch is not given: one per
// release and target environment, so running the same promotion again
// updates its request instead of opening another.
func prBranch(release, to string) string {
	return "promote/" + to + "/" + release
}

// request is the title and body of the pull request that proposes the
// promotion: what it changes, the diff of its files, and the rendered
// diff when it was validated.
func (o *runner) request(_ context.Context, c gitrepo.Change, _ gitrepo.Published) (title, body string, err error) {
	var d bytes.Buffer
	for _, f := range c.Paths() {
		if _, err := textdiff.Unified(&d, f, o.oldData[f], c.Files[f], textdiff.Options{}); err != nil {
			return "", "", err
		}
	}
	return o.subject(o.p), o.requestBody(o.p, d.String(), o.validation), nil
}

// requestBody says what the promotion changes, between which
// environments, and how to follow it once merged.
func (o *runner) requestBody(p *plan, unified string, report *releasecheck.Report) string {
	hr := p.Release
	if p.Namespace != "" {
		hr = p.Namespace + "/" + p.Release
	}
	var changes []string
	for _, e := range p.Edits {
		changes = append(changes, fmt.Sprintf("%s (`%s`): %s", e.What, e.File, e.change()))
	}
	follow := "git pull && " + o.tool + " trace --helmrelease " + hr + " --watch"
	if p.To.Context != "" {
		follow += " --context " + p.To.Context
	}
	summary := fmt.Sprintf("Promotes HelmRelease `%s` from **%s** to **%s**: %s %s.", hr, p.From.Name, p.To.Name, p.Target.RefType, p.Version)
	if o.Publish.Message != "" {
		summary = strings.TrimSpace(o.Publish.Message) + "\n\n" + summary
	}
	return forge.Body(forge.BodyInput{
		Summary: summary, Changes: changes, Notes: p.Notes, Diff: unified, Rendered: rendered(report),
		Environments: p.From.Name + " → " + p.To.Name, Follow: follow,
		Meta: forge.Meta{Command: "promote", HelmRelease: hr, From: p.From.Name, To: p.To.Name},
	})
}

// rendered is the validation report as the body's rendered diff; nil
// without one (its Secret data is masked by WriteDiff).
func rendered(r *releasecheck.Report) forge.DiffWriter {
	if r == nil || r.After == nil {
		return nil
	}
	return r
}

// statusTimeout bounds what --status waits for the forge: the matrix comes
// from the checkout and is printed whatever the forge does.
const statusTimeout = 10 * time.Second

// addOpenRequests adds to rep the open requests kubectl-gitops opened,
// per release and environment, when the checkout's remote is on a forge
// that answers with the user's token. Anything else leaves rep as it was:
// a remote that is a path says nothing; a forge without a token or that
// fails gets one note on stderr.
func (c statusConfig) addOpenRequests(ctx context.Context, r *gitrepo.Repo, rep *statusReport) {
	remote := c.Remote
	if remote == "" {
		remote = "origin"
		if b, err := r.CurrentBranch(ctx); err == nil && b != "" {
			if rm, _, err := r.Upstream(ctx, b); err == nil {
				remote = rm
			}
		}
	}
	remoteURL, err := r.Git(ctx, "config", "--get", "remote."+remote+".url")
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	hc := c.httpClient
	if hc == nil {
		hc = &http.Client{Timeout: statusTimeout}
	}
	do := forge.DetectOptions{Kind: c.Forge.Kind(), URL: c.Forge.URL, TokenEnv: c.Forge.TokenEnv, HTTPClient: hc}
	repo, err := forge.Detect(ctx, strings.TrimSpace(remoteURL), do)
	if err != nil {
		return
	}
	note := func(err error) {
		fmt.Fprintf(c.ErrOut, "note: open %ss not shown: %v\n", repo.Kind.Noun(), err)
	}
	tok, err := forge.FindScopedToken(repo, do.TokenScope(strings.TrimSpace(remoteURL)), c.getenv)
	if err != nil {
		note(err)
		return
	}
	f, err := forge.New(repo, tok.Value, hc)
	if err != nil {
		note(err)
		return
	}
	prs, err := f.ListOpen(ctx, "")
	if err != nil {
		note(err)
		return
	}
	rep.forge = repo.Kind
	for _, pr := range prs {
		m, ok := forge.ParseMeta(pr.Body)
		if !ok {
			continue
		}
		name := m.HelmRelease[strings.LastIndex(m.HelmRelease, "/")+1:]
		for i := range rep.HelmReleases {
			rs := &rep.HelmReleases[i]
			if rs.Name != name {
				continue
			}
			for j := range rs.Environments {
				es := &rs.Environments[j]
				if es.Environment == m.To && (es.Namespace == "" || !strings.Contains(m.HelmRelease, "/") || m.HelmRelease == es.Namespace+"/"+name) {
					es.OpenRequests = append(es.OpenRequests, pr)
				}
			}
		}
	}
}

// printOpenRequests lists, under the matrix, the open requests per
// release and environment.
func printOpenRequests(w io.Writer, rep *statusReport) error {
	var b strings.Builder
	for _, rs := range rep.HelmReleases {
		for _, es := range rs.Environments {
			for _, pr := range es.OpenRequests {
				fmt.Fprintf(&b, "  %s -> %s: %s %s (%s)\n      %s\n", rs.Name, es.Environment, rep.forge.Ref(pr.Number), pr.Title, pr.Head, pr.URL)
			}
		}
	}
	if b.Len() == 0 {
		return nil
	}
	_, err := fmt.Fprintf(w, "\nOpen requests:\n%s", b.String())
	return err
}
