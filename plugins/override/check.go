package override

import (
	"context"
	"encoding/json"
	"fmt"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"

	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxmodel"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/helmvalues"
	"github.com/kubectl-gitops/kubectl-gitops/internal/releasecheck"
)

// checkRelease renders the chart with the values before and after the
// override and validates the result (internal/releasecheck), before
// anything is written; --diff prints the change.
func (o *runner) checkRelease(ctx context.Context, repo *gitrepo.Repo, ed *edited) (*releasecheck.Report, error) {
	env := releasecheck.Env{Out: o.Out, ErrOut: o.ErrOut, Getenv: o.getenv, Repo: repo}
	if o.factory != nil {
		env.RESTConfig = o.factory.ToRESTConfig
	}
	if ed.found != nil {
		// Chart sources no Objects holds are looked up in the model find
		// built, not in a second build of it.
		env.Model = ed.found.model
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
	if f := ed.found; f != nil && f.rel != nil && f.rel.HR != nil {
		// The release as its cluster applies it (base and patches merged,
		// names and namespace set, variables substituted), before and
		// after the flags, with the chart source that cluster applies.
		if !o.Check.Validate {
			return nil, nil
		}
		after, err := o.applied(f.rel)
		if err != nil {
			return nil, err
		}
		// The chart source as the cluster applies it; one the model does
		// not hold (applied by hand, as examples/flux-app-delivery's
		// sources/ are) is looked for in the files no cluster applies.
		if objs := releasecheck.ModelObjects(f.model); sourceInModel(objs, f.rel.HR) {
			env.Objects = objs
		}
		return o.Check.GateRelease(ctx, env, f.rel.HR, after, changes)
	}
	return o.Check.Gate(ctx, env, ed.doc, ed.src, ed.out, changes)
}

// applied is r as its cluster will apply it after the override: the flags
// applied to its composed values. (An --unset of a key a patch sets and
// the base sets too leaves the base's value in the cluster; the check
// then validates without it, which is stricter, never looser, for a
// schema that does not require the key.)
func (o *runner) applied(r *fluxmodel.Release) (*helmv2.HelmRelease, error) {
	data, err := json.Marshal(r.Object)
	if err != nil {
		return nil, err
	}
	var obj map[string]any
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, err
	}
	spec, _ := obj["spec"].(map[string]any)
	if spec == nil {
		spec = map[string]any{}
		obj["spec"] = spec
	}
	values, _ := spec["values"].(map[string]any)
	hv, err := helmvalues.Compute(values, o.input)
	if err != nil {
		return nil, fmt.Errorf("HelmRelease %s as %s applies it: %w", r.Key(), r.Cluster, err)
	}
	spec["values"] = hv.Final
	if data, err = json.Marshal(obj); err != nil {
		return nil, err
	}
	var hr helmv2.HelmRelease
	if err := json.Unmarshal(data, &hr); err != nil {
		return nil, fmt.Errorf("HelmRelease %s as %s applies it: %w", r.Key(), r.Cluster, err)
	}
	hr.Namespace = r.Namespace
	return &hr, nil
}

// sourceInModel reports whether the chart source hr names is an object of
// the model objs looks in.
func sourceInModel(objs func(kind, namespace, name string) (map[string]any, string, bool), hr *helmv2.HelmRelease) bool {
	kind, name, ns := releasecheck.SourceRef(hr)
	if kind == "" {
		return false
	}
	_, _, ok := objs(kind, ns, name)
	return ok
}
