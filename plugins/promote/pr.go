package promote

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diff"
	"github.com/kubectl-gitops/kubectl-gitops/internal/forge"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
)

// prBranch is the branch --pr uses when --branch is not given: one per
// release and target environment, so running the same promotion again
// updates its request instead of opening another.
func prBranch(release, to string) string {
	return "promote/" + to + "/" + release
}

// preparePR checks, before anything is written, that the request can be
// opened: the forge, the token, and that the branch is free or ours.
func (o *Options) preparePR(ctx context.Context, r *gitrepo.Repo) (*forge.Publisher, error) {
	return forge.Prepare(ctx, forge.PublishOptions{
		Repo: r, Remote: o.Remote, Branch: o.Branch, Kind: o.Request.Kind(), URL: o.Request.URL,
		Getenv: o.getenv, HTTPClient: o.httpClient, Out: o.Out,
	})
}

// publishPR switches back to where the user was, pushes the promotion
// branch and opens or updates its request.
func (o *Options) publishPR(ctx context.Context, r *gitrepo.Repo, pub *forge.Publisher, p *plan, files []string, oldData, newData map[string][]byte) error {
	if _, err := r.Git(ctx, "checkout", "-q", pub.Start); err != nil {
		return fmt.Errorf("switching back to %s: %w (the promotion is committed on branch %s)", pub.Start, err, o.Branch)
	}
	var d bytes.Buffer
	for _, f := range files {
		if _, err := diff.Unified(&d, f, oldData[f], newData[f], diff.Options{}); err != nil {
			return err
		}
	}
	_, err := pub.Publish(ctx, forge.Spec{
		Title: o.subject(p), Body: o.requestBody(p, d.String()),
		Labels: o.Request.Labels, Reviewers: o.Request.Reviewers, Draft: o.Request.Draft,
	})
	return err
}

// requestBody says what the promotion changes, between which
// environments, and how to follow it once merged.
func (o *Options) requestBody(p *plan, unified string) string {
	hr := p.Release
	if p.Namespace != "" {
		hr = p.Namespace + "/" + p.Release
	}
	var changes []string
	for _, e := range p.Edits {
		changes = append(changes, fmt.Sprintf("%s (`%s`): %s", e.What, e.File, e.change()))
	}
	changes = append(changes, p.Notes...)
	follow := "git pull && kubectl gitops trace --helmrelease " + hr + " --watch"
	if p.To.Context != "" {
		follow += " --context " + p.To.Context
	}
	summary := fmt.Sprintf("Promotes HelmRelease `%s` from **%s** to **%s**: %s %s.", hr, p.From.Name, p.To.Name, p.Target.RefType, p.Version)
	if o.Message != "" {
		summary = strings.TrimSpace(o.Message) + "\n\n" + summary
	}
	return forge.Body(forge.BodyInput{
		Summary: summary, Changes: changes, Diff: unified,
		Environments: p.From.Name + " → " + p.To.Name, Follow: follow,
		Meta: forge.Meta{Command: "promote", HelmRelease: hr, From: p.From.Name, To: p.To.Name},
	})
}
