package override

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/envs"
	"github.com/kubectl-gitops/kubectl-gitops/internal/forge"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/textdiff"
)

// prBranch is the branch --pr uses when --branch is not given: one per
// HelmRelease, so running override again updates its request.
func prBranch(name, namespace string) string {
	if namespace != "" {
		return "override/" + namespace + "/" + name
	}
	return "override/" + name
}

// preparePR checks, before anything is written, that the request can be
// opened: the forge, the token, and that the branch is free or ours.
func (o *Options) preparePR(ctx context.Context, repo *gitrepo.Repo) (*forge.Publisher, error) {
	out := o.Out
	if o.Output != "" {
		// -o json|yaml keeps stdout for the result.
		out = o.ErrOut
	}
	return forge.Prepare(ctx, forge.PublishOptions{
		Repo: repo, Remote: o.Remote, Branch: o.Branch, Kind: o.Request.Kind(), URL: o.Request.URL, TokenEnv: o.Request.TokenEnv,
		Getenv: o.Getenv, HTTPClient: o.httpClient, Out: out,
	})
}

// publishPR pushes the branch (committed, and the checkout back where it
// was) and opens or updates its request.
func (o *Options) publishPR(ctx context.Context, pub *forge.Publisher, repo *gitrepo.Repo, ed *edited, res *Result) error {
	if o.Output == "" {
		fmt.Fprintf(o.Out, "committed %s on branch %s: %s\n", gitrepo.Short(res.Commit), o.Branch, firstLine(o.message(ed)))
	}
	var d bytes.Buffer
	if _, err := ed.diff(&d, textdiff.Options{}); err != nil {
		return err
	}
	hr := ed.ref()
	summary := fmt.Sprintf("Overrides values of HelmRelease `%s` in `%s`: %s.", hr, ed.doc.Path, ed.summary())
	if o.Message != "" {
		summary = strings.TrimSpace(o.Message) + "\n\n" + summary
	}
	env := ""
	if cfg, err := envs.Load(repo.Root); err == nil {
		env = envOf(cfg, ed.doc.Path)
	}
	var rendered forge.DiffWriter
	if res.Validation != nil && res.Validation.After != nil {
		rendered = res.Validation // Secret data masked by WriteDiff
	}
	body := forge.Body(forge.BodyInput{
		Summary: summary, Diff: d.String(), Rendered: rendered, Environments: env,
		Follow: "git pull && " + o.toolName() + " trace --helmrelease " + hr + " --watch",
		Meta:   forge.Meta{Command: "override", HelmRelease: hr, To: env},
	})
	r, err := pub.Publish(ctx, forge.Spec{
		Title: firstLine(o.message(ed)), Body: body,
		Labels: o.Request.Labels, Reviewers: o.Request.Reviewers, Draft: o.Request.Draft,
	})
	if err != nil {
		return err
	}
	res.Pushed = r.Pushed
	res.Remote = pub.Remote + "/" + o.Branch
	res.PullRequest = r.PullRequest.URL
	return o.print(res, "")
}

// envOf names the environment whose paths hold file, or "".
func envOf(cfg *envs.Config, file string) string {
	for _, e := range cfg.Environments {
		for _, p := range e.Paths {
			if file == p || strings.HasPrefix(file, strings.TrimSuffix(p, "/")+"/") {
				return e.Name
			}
		}
	}
	return ""
}

// toolName is how the user invoked us; "kubectl gitops" when Options was
// built without the command (tests that call Run).
func (o *Options) toolName() string {
	if o.tool == "" {
		return "kubectl gitops"
	}
	return o.tool
}
