package chartsource

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxmodel"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/yamledit"
)

// checkoutModel is the model of Repo a Resolver without Objects looks
// source objects up in, built on the first look-up.
type checkoutModel struct {
	once sync.Once
	m    *fluxmodel.Model
	err  error
}

// fromModel finds a source object in the model of r.Repo (internal/
// fluxmodel): the object a cluster applies (the first cluster by name,
// since the same source in two cluster trees is one source), else the
// document written in a file no cluster applies, which the answer names as
// such (examples/flux-app-delivery applies its sources/ by hand). A file of
// r.Files replaces the one on disk. ok is false with the reason when
// neither holds it.
func (r *Resolver) fromModel(ctx context.Context, kind, name, ns string) (obj map[string]any, where string, err error) {
	r.mu.Lock()
	if r.model == nil {
		r.model = &checkoutModel{}
	}
	cm := r.model
	r.mu.Unlock()
	cm.once.Do(func() {
		if cm.m = r.Model; cm.m == nil {
			cm.m, cm.err = fluxmodel.LoadEntries(ctx, r.Repo.Root)
		}
	})
	if cm.err != nil {
		return nil, "", fmt.Errorf("reading the model of %s: %w", r.Repo.Root, cm.err)
	}
	m := cm.m
	for _, c := range m.Clusters {
		for _, o := range c.Objects {
			if o.Kind != kind || o.Name != name || (ns != "" && o.Namespace != ns) {
				continue
			}
			data := o.Data
			if src, ok := r.Files[o.File]; ok {
				// The file as the command is about to write it: its
				// document over the applied object.
				if edited, err := manifest.DocAtLine(o.File, src, o.Line); err == nil && edited != nil {
					data = MergeMaps(data, edited)
				}
			}
			return data, fmt.Sprintf("%s:%d", o.File, o.Line), nil
		}
	}
	doc, _, err := m.FindUnapplied(ctx, fluxmodel.Query{Kind: kind, Group: sourceGroup, Name: name, Namespace: ns})
	if err != nil {
		return nil, "", err
	}
	src, ok := r.Files[doc.Path]
	if !ok {
		if src, err = os.ReadFile(filepath.Join(r.Repo.Root, filepath.FromSlash(doc.Path))); err != nil {
			return nil, "", err
		}
	}
	v, _, err := yamledit.Get(src, doc.Index, yamledit.Path{})
	if err != nil {
		return nil, "", fmt.Errorf("reading %s in %s: %w", kind, doc.Path, err)
	}
	data, ok := v.(map[string]any)
	if !ok {
		return nil, "", fmt.Errorf("%s:%d: %s %s is not a map", doc.Path, doc.Line, kind, name)
	}
	where = fmt.Sprintf("%s:%d", doc.Path, doc.Line)
	if !m.Plain {
		where += ", a file no cluster of the repository applies"
	}
	return data, where, nil
}
