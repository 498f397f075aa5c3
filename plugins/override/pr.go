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

// request is the title and body of the pull request that proposes the
// edit: the file's diff (secrets masked), the rendered diff when the
// change was validated, and how to follow it once merged.
func (o *runner) request(context.Context, gitrepo.Change, gitrepo.Published) (title, body string, err error) {
	ed, res := o.ed, o.res
	var d bytes.Buffer
	if _, err := ed.diff(&d, textdiff.Options{}); err != nil {
		return "", "", err
	}
	hr := ed.ref()
	summary := fmt.Sprintf("Overrides values of HelmRelease `%s` in `%s`: %s.", hr, ed.doc.Path, ed.summary())
	if o.Publish.Message != "" {
		summary = strings.TrimSpace(o.Publish.Message) + "\n\n" + summary
	}
	env := ""
	if cfg, err := envs.Load(o.repo.Root); err == nil {
		env = envOf(cfg, ed.doc.Path)
	}
	var rendered forge.DiffWriter
	if res.Validation != nil && res.Validation.After != nil {
		rendered = res.Validation // Secret data masked by WriteDiff
	}
	body = forge.Body(forge.BodyInput{
		Summary: summary, Diff: d.String(), Rendered: rendered, Environments: env,
		Follow: "git pull && " + o.toolName() + " trace --helmrelease " + hr + " --watch",
		Meta:   forge.Meta{Command: "override", HelmRelease: hr, To: env},
	})
	return firstLine(o.message(ed)), body, nil
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

// toolName is how the user invoked us; "kubectl gitops" for a config
// built without the command.
func (o *runner) toolName() string {
	if o.tool == "" {
		return "kubectl gitops"
	}
	return o.tool
}
