package override

import (
	"context"
	"fmt"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/releasecheck"
)

// checkRelease renders the chart with the values before and after the
// override and validates the result (internal/releasecheck), before
// anything is written; --diff prints the change.
func (o *Options) checkRelease(ctx context.Context, repo *gitrepo.Repo, ed *edited) (*releasecheck.Report, error) {
	env := releasecheck.Env{Out: o.Out, ErrOut: o.ErrOut, Getenv: o.Getenv, Repo: repo}
	if o.factory != nil {
		env.RESTConfig = o.factory.ToRESTConfig
	}
	if o.Check.Diff == releasecheck.DiffValues && !o.DryRun && o.Output == "" {
		before, after, ok := ed.masked()
		if !ok {
			fmt.Fprintf(env.Out, "(the diff of %s is not shown: it holds secret values that could not be masked; --show-secrets shows it)\n", ed.doc.Path)
		} else if err := releasecheck.ValuesDiff(env, ed.doc.Path, before, after); err != nil {
			return nil, err
		}
	}
	if !ed.changed() {
		return nil, nil
	}
	var changes []releasecheck.Change
	for i, op := range ed.ops {
		if !ed.changes[i].Changed {
			continue
		}
		c := releasecheck.Change{Path: op.Path.String(), Unset: op.Unset, File: ed.doc.Path, Line: ed.changes[i].Line}
		if !op.Unset {
			c.Value = ed.redactValue(op.Path, op.Value)
		}
		changes = append(changes, releasecheck.Leaves(c)...)
	}
	return o.Check.Gate(ctx, env, ed.doc, ed.src, ed.out, changes)
}
