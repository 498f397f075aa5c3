package promote

import (
	"context"
	"path/filepath"

	"github.com/kubectl-gitops/kubectl-gitops/internal/readlimit"
	"github.com/kubectl-gitops/kubectl-gitops/internal/releasecheck"
)

// checkRelease renders the target environment's HelmRelease with the chart
// and values it has now and those it will have after the promotion, and
// validates the result before anything is written (internal/releasecheck).
// newData and oldData are the files the promotion edits, after and before.
func (o *runner) checkRelease(ctx context.Context, w *workspace, p *plan, newData, oldData map[string][]byte) (*releasecheck.Report, error) {
	if !o.Check.Validate {
		return nil, nil
	}
	hr, c, err := w.release(p.To, p.Release, p.Namespace)
	if err != nil {
		return nil, err
	}
	var docs []releasecheck.DocRef
	for _, d := range append(append([]*doc{}, hr.Base...), hr.Own...) {
		docs = append(docs, releasecheck.DocRef{File: d.Path, Index: d.Index})
	}
	reader := func(edited map[string][]byte) func(string) ([]byte, error) {
		return func(f string) ([]byte, error) {
			if b, ok := edited[f]; ok {
				return b, nil
			}
			return readlimit.ReadFile(ctx, filepath.Join(w.repo.Root, filepath.FromSlash(f)))
		}
	}
	before, err := releasecheck.Merge(docs, reader(oldData), hr.Namespace)
	if err != nil {
		return nil, err
	}
	after, err := releasecheck.Merge(docs, reader(newData), hr.Namespace)
	if err != nil {
		return nil, err
	}
	// The chart source as the target's cluster applies it (the model),
	// with the promotion's edit of it for the chart after.
	env := releasecheck.Env{Out: o.Out, ErrOut: o.ErrOut, Getenv: o.getenv, Repo: w.repo, Files: newData,
		Objects: releasecheck.ClusterObjects(c, newData), BeforeObjects: releasecheck.ClusterObjects(c, oldData)}
	if o.factory != nil {
		env.RESTConfig = o.factory.ToRESTConfig
	}
	var changes []releasecheck.Change
	for _, e := range p.Edits {
		changes = append(changes, releasecheck.Change{Path: e.What, Value: e.New, File: e.File})
	}
	return o.Check.GateRelease(ctx, env, before, after, changes)
}
