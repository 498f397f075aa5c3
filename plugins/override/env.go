package override

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxmodel"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
)

// envTarget is where --env sends the edit: the file that holds the values
// for that environment, and what to tell the user about it.
type envTarget struct {
	File string
	Note string
}

// targetForEnv picks the file to edit for o.Env from the model of what the
// clusters apply: for each key, the patch that sets it in that
// environment, else the base; with --in-patch, a patch of the release in
// that environment. It says which environments the file reaches.
func (o *Options) targetForEnv(ctx context.Context, repo *gitrepo.Repo) (*envTarget, error) {
	m, err := fluxmodel.Load(ctx, repo.Root)
	if err != nil {
		return nil, err
	}
	c := m.Cluster(o.Env)
	if c == nil {
		return nil, exitcode.Errorf(exitcode.NotFound, "--env %s: no such environment; the repository applies %s (%s)", o.Env, strings.Join(m.Names(), ", "), m.Layout)
	}
	rels := c.Find(o.Namespace, o.Name)
	switch len(rels) {
	case 0:
		return nil, exitcode.Errorf(exitcode.NotFound, "HelmRelease %s is not applied in environment %s; check the name and -n", o.Name, o.Env)
	case 1:
	default:
		var ids []string
		for _, r := range rels {
			ids = append(ids, r.Key())
		}
		return nil, exitcode.Errorf(exitcode.Conflict, "HelmRelease %s is applied %d times in %s (%s): pick one with -n", o.Name, len(rels), o.Env, strings.Join(ids, ", "))
	}
	r := rels[0]
	if r.Err != nil {
		return nil, fmt.Errorf("environment %s does not build: %w; fix that first, nothing was changed", o.Env, r.Err)
	}
	for _, e := range c.Errors {
		if be, ok := e.(*fluxmodel.BuildError); ok && be.Kustomization == r.Kustomization {
			return nil, fmt.Errorf("environment %s does not build: %w; fix that first, nothing was changed", o.Env, e)
		}
	}
	var file string
	var why string
	if o.InPatch {
		file = patchOf(r)
		if file == "" {
			return nil, exitcode.Errorf(exitcode.Conflict, "--in-patch: no patch of HelmRelease %s applies in %s (only the base %s); add a patch entry to the overlay's kustomization.yaml first", r.Key(), o.Env, r.File)
		}
		why = "a patch of " + o.Env
	} else {
		files := map[string][]string{}
		for _, k := range o.keys() {
			s, ok := setterOf(r, k)
			f := r.File
			if ok && s.Patch {
				f = s.File
			}
			files[f] = append(files[f], k)
		}
		if len(files) > 1 {
			var parts []string
			for f, ks := range files {
				parts = append(parts, fmt.Sprintf("%s in %s", strings.Join(ks, ", "), f))
			}
			sort.Strings(parts)
			return nil, exitcode.Errorf(exitcode.Usage, "the keys are set in different files for %s (%s): run override once per file", o.Env, strings.Join(parts, "; "))
		}
		for f := range files {
			file = f
		}
		if file == "" {
			file = r.File
		}
		why = "the patch that sets it in " + o.Env
		if file == r.File {
			why = "the base"
		}
	}
	users := m.UsedBy(file)
	note := fmt.Sprintf("editing %s (%s)", file, why)
	switch {
	case len(users) > 1:
		note += fmt.Sprintf(": this %s value is used by %s", map[bool]string{true: "base", false: "file's"}[file == r.File], joinAnd(users))
	case len(users) == 1:
		note += ": it is used by " + users[0] + " only"
	}
	return &envTarget{File: file, Note: note}, nil
}

// keys are the values keys the flags set or unset (-f files count as their
// top-level keys being set where the release's values are).
func (o *Options) keys() []string {
	var out []string
	for _, l := range [][]string{o.Set, o.SetString, o.SetJSON, o.Replace} {
		for _, a := range l {
			k, _, _ := strings.Cut(a, "=")
			out = append(out, k)
		}
	}
	return append(out, o.Unset...)
}

// setterOf is where the value at key (or the nearest map above it) is set.
func setterOf(r *fluxmodel.Release, key string) (fluxmodel.Setter, bool) {
	for k := key; k != ""; {
		if s, ok := r.ValueSetter(k); ok {
			return s, true
		}
		i := strings.LastIndexAny(k, ".[")
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return fluxmodel.Setter{}, false
}

// patchOf is a patch file that sets values of r (else any part of its
// spec), "" when none does.
func patchOf(r *fluxmodel.Release) string {
	var any string
	keys := make([]string, 0, len(r.Provenance))
	for k := range r.Provenance {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s := r.Provenance[k]
		if !s.Patch {
			continue
		}
		if strings.HasPrefix(k, "spec.values") {
			return s.File
		}
		if any == "" {
			any = s.File
		}
	}
	return any
}

func joinAnd(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}
