package releasecheck

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"

	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxmodel"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/sops"
)

// Release is one HelmRelease of a checkout as Flux would see it: composed
// from its base and patch, with the source object it names.
type Release struct {
	Key string // namespace/name
	Doc manifest.Doc
	HR  *helmv2.HelmRelease
	// Source is the source object (GitRepository, HelmRepository...) found
	// in the checkout, as JSON; nil when it is not there.
	Source []byte
	// Err says why the release could not be composed.
	Err error

	model *fluxmodel.Release // set by ModelReleases
}

func hrKey(hr *helmv2.HelmRelease) string {
	if hr == nil {
		return ""
	}
	return hr.Namespace + "/" + hr.Name
}

// Same reports whether two releases would render the same: same spec, same
// source object.
func (r *Release) Same(o *Release) bool {
	if r == nil || o == nil {
		return r == o
	}
	a, _ := json.Marshal(r.HR)
	b, _ := json.Marshal(o.HR)
	// A release that cannot be built is never "the same": it is shown.
	return string(a) == string(b) && string(r.Source) == string(o.Source) && r.Err == nil && o.Err == nil
}

// SourceIndex indexes the checkout's Flux source objects, for Releases and
// chartsource.Resolver.Sources: one scan instead of one search per release.
func SourceIndex(ctx context.Context, repo *gitrepo.Repo) (*manifest.Index, error) {
	files, err := manifest.GrepFiles(ctx, repo, []string{"source.toolkit.fluxcd.io"})
	if err != nil {
		return nil, err
	}
	return manifest.Scan(ctx, repo.Root, files, manifest.ScanOptions{MustContain: []string{"source.toolkit.fluxcd.io"}})
}

// Releases lists every HelmRelease of the checkout, with their source
// objects looked up in sources (from SourceIndex). A document that names a
// chart but no namespace, while other documents of its name patch it, is a
// base: it is listed through its patches, not on its own.
func Releases(ctx context.Context, repo *gitrepo.Repo, sources *manifest.Index) (map[string]*Release, error) {
	files, err := manifest.GrepFiles(ctx, repo, []string{"HelmRelease"})
	if err != nil {
		return nil, err
	}
	ix, err := manifest.Scan(ctx, repo.Root, files, manifest.ScanOptions{MustContain: []string{"HelmRelease"}})
	if err != nil {
		return nil, err
	}
	docs := ix.Match(manifest.Query{Kind: "HelmRelease", Group: "helm.toolkit.fluxcd.io"})
	type parsed struct {
		doc   manifest.Doc
		src   []byte
		chart bool
	}
	var all []parsed
	patched := map[string]bool{}
	// encrypted names, by namespace/name, a SOPS-encrypted file among a
	// release's documents (its own or a patch): its values cannot be
	// rendered without decrypting, which kubectl-gitops does not do.
	encrypted := map[string]string{}
	for _, d := range docs {
		src, err := os.ReadFile(filepath.Join(repo.Root, filepath.FromSlash(d.Path)))
		if err != nil {
			return nil, err
		}
		if sops.Encrypted(src) {
			encrypted[d.Namespace+"/"+d.Name] = d.Path
		}
		m, err := docMap(src, d.Index)
		if err != nil {
			continue
		}
		p := parsed{doc: d, src: src, chart: namesChart(m)}
		if !p.chart {
			patched[d.Name] = true
		}
		all = append(all, p)
	}
	out := map[string]*Release{}
	for _, p := range all {
		if p.chart && p.doc.Namespace == "" && patched[p.doc.Name] {
			continue
		}
		rel := &Release{Doc: p.doc}
		_, hr, err := Compose(ctx, repo, p.doc, nil, p.src)
		key := hrKey(hr)
		if key == "" {
			key = p.doc.Namespace + "/" + p.doc.Name
		}
		if f, ok := encrypted[key]; ok {
			// Named, not rendered: the values are ciphertext.
			rel.HR, rel.Key = hr, key
			rel.Err = fmt.Errorf("%s is SOPS-encrypted (%w): its values cannot be rendered without decrypting, which kubectl-gitops does not do; check this release after `sops decrypt`", f, sops.ErrEncrypted)
		} else if err != nil {
			rel.Err = err
			rel.Key = p.doc.Namespace + "/" + p.doc.Name
		} else {
			rel.HR = hr
			rel.Key = hr.Namespace + "/" + hr.Name
			rel.Source = sourceJSON(repo, sources, hr)
		}
		if _, dup := out[rel.Key]; dup {
			rel.Key += " (" + p.doc.Path + ")"
		}
		out[rel.Key] = rel
	}
	return out, nil
}

// Keys returns the keys of both sets, sorted.
func Keys(a, b map[string]*Release) []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range []map[string]*Release{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

func sourceJSON(repo *gitrepo.Repo, sources *manifest.Index, hr *helmv2.HelmRelease) []byte {
	kind, name, ns := sourceRef(hr)
	if kind == "" {
		return nil
	}
	doc, err := sources.Lookup(manifest.Query{Kind: kind, Name: name, Namespace: ns})
	if err != nil {
		return nil
	}
	src, err := os.ReadFile(filepath.Join(repo.Root, filepath.FromSlash(doc.Path)))
	if err != nil {
		return nil
	}
	m, err := docMap(src, doc.Index)
	if err != nil {
		return nil
	}
	b, _ := json.Marshal(m)
	return b
}
