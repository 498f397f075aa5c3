package releasecheck

import (
	"encoding/json"
	"errors"
	"fmt"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"

	"github.com/kubectl-gitops/kubectl-gitops/internal/chartsource"
	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxmodel"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/sops"
)

// ModelReleases lists the HelmReleases of the models before and after a
// change, keyed by applied identity (cluster/namespace/name), each with the
// source object it names as the cluster applies it. before may be nil.
//
// A build that fails is an error row, never a removal: a release of before
// that after no longer has, in a cluster whose build of the same Flux
// Kustomization failed, is listed in after with that build's error; a
// failed build that hides no known release is a row of its own, keyed by
// cluster and file.
func ModelReleases(before, after *fluxmodel.Model) (b, a map[string]*Release) {
	a = modelReleases(after)
	if before == nil {
		return nil, a
	}
	b = modelReleases(before)
	failed := map[string]*fluxmodel.BuildError{} // cluster + "\x00" + kustomization
	var rows []*fluxmodel.BuildError
	for _, err := range after.Errors() {
		var be *fluxmodel.BuildError
		if errors.As(err, &be) {
			failed[be.Cluster+"\x00"+be.Kustomization] = be
			rows = append(rows, be)
		}
	}
	hidden := map[*fluxmodel.BuildError]bool{}
	for id, rel := range b {
		if _, ok := a[id]; ok || rel.model == nil {
			continue
		}
		be := failed[rel.model.Cluster+"\x00"+rel.model.Kustomization]
		if be == nil {
			be = failed[rel.model.Cluster+"\x00"]
		}
		if be == nil {
			be = unfollowed(after, rel.model)
		}
		if be == nil {
			continue
		}
		hidden[be] = true
		a[id] = &Release{Key: id, Doc: rel.Doc, Err: be}
	}
	for _, be := range rows {
		if !hidden[be] {
			id := fmt.Sprintf("%s (%s)", be.Cluster, be.File)
			a[id] = &Release{Key: id, Doc: manifest.Doc{Path: be.File, Line: be.Line}, Err: be}
		}
	}
	return b, a
}

// unfollowed is the error row of a release that after no longer has because
// the Flux Kustomization that applied it is still there but no longer
// followed (its source became an artifact or repository the model cannot
// read): its releases are not known to be removed.
func unfollowed(after *fluxmodel.Model, r *fluxmodel.Release) *fluxmodel.BuildError {
	c := after.Cluster(r.Cluster)
	if c == nil || r.Kustomization == "" {
		return nil
	}
	for _, k := range c.Kustomizations {
		if k.Namespace+"/"+k.Name == r.Kustomization && !k.Followed {
			return &fluxmodel.BuildError{Cluster: r.Cluster, Kustomization: r.Kustomization, File: k.File, Line: k.Line,
				Err: fmt.Errorf("%s; what it applies is not known here, so its releases are not reported removed", k.Note)}
		}
	}
	return nil
}

func modelReleases(m *fluxmodel.Model) map[string]*Release {
	out := map[string]*Release{}
	for _, c := range m.Clusters {
		for _, r := range c.Releases {
			rel := &Release{Key: r.ID(), model: r, HR: r.HR, Err: r.Err,
				Doc: manifest.Doc{Path: r.File, Line: r.Line, Kind: "HelmRelease", Group: "helm.toolkit.fluxcd.io", Name: r.Name, Namespace: r.Namespace}}
			if r.HR != nil {
				rel.Source = modelSource(c, r.HR)
			}
			if where, ok := encrypted(r); ok && rel.Err == nil {
				rel.Err = fmt.Errorf("%s is SOPS-encrypted (%w): its values cannot be rendered without decrypting, which kubectl-gitops does not do; check this release after `sops decrypt`", where, sops.ErrEncrypted)
			}
			out[rel.Key] = rel
		}
	}
	if m.Plain {
		for _, err := range m.Errors() {
			var be *fluxmodel.BuildError
			if errors.As(err, &be) {
				id := fmt.Sprintf("(%s)", be.File)
				out[id] = &Release{Key: id, Doc: manifest.Doc{Path: be.File, Line: be.Line}, Err: be}
			}
		}
	}
	return out
}

// modelSource is the source object hr names, as its cluster applies it.
func modelSource(c *fluxmodel.Cluster, hr *helmv2.HelmRelease) []byte {
	kind, name, ns := SourceRef(hr)
	if kind == "" {
		return nil
	}
	o := c.Source(kind, ns, name)
	if o == nil {
		return nil
	}
	b, _ := json.Marshal(o.Data)
	return b
}

// SourceRef is the chart source a HelmRelease names (spec.chart's
// sourceRef or spec.chartRef), its namespace defaulting to the release's;
// kind is empty when it names none.
func SourceRef(hr *helmv2.HelmRelease) (kind, name, ns string) {
	ns = hr.Namespace
	switch {
	case hr.Spec.Chart != nil:
		ref := hr.Spec.Chart.Spec.SourceRef
		kind, name = ref.Kind, ref.Name
		if ref.Namespace != "" {
			ns = ref.Namespace
		}
	case hr.Spec.ChartRef != nil:
		kind, name = hr.Spec.ChartRef.Kind, hr.Spec.ChartRef.Name
		if hr.Spec.ChartRef.Namespace != "" {
			ns = hr.Spec.ChartRef.Namespace
		}
	}
	return kind, name, ns
}

// ModelObjects looks source objects up in a model, for
// chartsource.Resolver.Objects: the first cluster (by name) that applies
// the object wins, since the same source in two cluster trees is one
// source, not an ambiguity.
func ModelObjects(m *fluxmodel.Model) func(kind, namespace, name string) (map[string]any, string, bool) {
	return func(kind, namespace, name string) (map[string]any, string, bool) {
		for _, c := range m.Clusters {
			if o := c.Source(kind, namespace, name); o != nil {
				where := o.File
				if o.Line > 0 {
					where = fmt.Sprintf("%s:%d", o.File, o.Line)
				}
				return o.Data, where, true
			}
		}
		return nil, "", false
	}
}

// encrypted reports whether a composed HelmRelease carries SOPS
// encryption (sops.ObjectEncrypted), and the file that brought it.
func encrypted(r *fluxmodel.Release) (string, bool) {
	path, ok := sops.ObjectEncrypted(r.Object)
	if !ok {
		return "", false
	}
	if s, found := r.Provenance[path]; found && s.File != "" {
		return s.File, true
	}
	return r.File, true
}

// Cluster is the name of the cluster of the model that applies the
// release ("" outside a model, or when it has no cluster name).
func (r *Release) Cluster() string {
	if r == nil || r.model == nil {
		return ""
	}
	return r.model.Cluster
}

// ClusterObjects looks source objects up in what cluster c applies, for
// chartsource.Resolver.Objects: the command's own view of one environment
// (promote validates the target's release with the target's sources). A
// file of edited (repo-relative path -> content, the files a command is
// about to write) replaces the object's document as written: its fields
// win over the applied object's.
func ClusterObjects(c *fluxmodel.Cluster, edited map[string][]byte) func(kind, namespace, name string) (map[string]any, string, bool) {
	return func(kind, namespace, name string) (map[string]any, string, bool) {
		o := c.Source(kind, namespace, name)
		if o == nil && namespace == "default" {
			// Written without a namespace and applied without one.
			o = c.Source(kind, "", name)
		}
		if o == nil {
			return nil, "", false
		}
		where := o.File
		if o.Line > 0 {
			where = fmt.Sprintf("%s:%d", o.File, o.Line)
		}
		data := o.Data
		if src, ok := edited[o.File]; ok {
			if doc, err := manifest.DocAtLine(o.File, src, o.Line); err == nil {
				data = chartsource.MergeMaps(data, doc)
			}
		}
		return data, where, true
	}
}
