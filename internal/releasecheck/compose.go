package releasecheck

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"

	"github.com/kubectl-gitops/kubectl-gitops/internal/chartsource"
	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxmodel"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/yamledit"
)

// Compose decodes the HelmRelease document doc from the file contents
// before and after a change. A document that names no chart is taken to be
// a kustomize patch over a base HelmRelease of the same name elsewhere in
// the checkout (the one document of that name that names a chart): the
// patch is merged over the base (maps deep-merged, lists replaced, as a
// strategic merge does for a HelmRelease). before may be nil.
func Compose(ctx context.Context, repo *gitrepo.Repo, doc manifest.Doc, before, after []byte) (*helmv2.HelmRelease, *helmv2.HelmRelease, error) {
	a, err := docMap(after, doc.Index)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", doc.Path, err)
	}
	var base map[string]any
	if !namesChart(a) {
		if base, err = findBase(ctx, repo, doc); err != nil {
			return nil, nil, err
		}
	}
	var b map[string]any
	if before != nil {
		if b, err = docMap(before, doc.Index); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", doc.Path, err)
		}
	}
	decode := func(m map[string]any) (*helmv2.HelmRelease, error) {
		if m == nil {
			return nil, nil
		}
		if base != nil {
			m = chartsource.MergeMaps(base, m)
		}
		hr, err := decodeRelease(m, doc.Namespace)
		if err != nil {
			return nil, fmt.Errorf("%s: HelmRelease %s: %w", doc.Path, doc.Name, err)
		}
		return hr, nil
	}
	bh, err := decode(b)
	if err != nil {
		return nil, nil, err
	}
	ah, err := decode(a)
	return bh, ah, err
}

func docMap(src []byte, index int) (map[string]any, error) {
	v, _, err := yamledit.Get(src, index, yamledit.Path{})
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("document %d is not a map", index+1)
	}
	return m, nil
}

func namesChart(m map[string]any) bool {
	spec, _ := m["spec"].(map[string]any)
	return spec["chart"] != nil || spec["chartRef"] != nil
}

// findBase finds the one other HelmRelease document named like doc that
// names a chart, in the model of the checkout: the bases its clusters
// apply (as written), else the documents written in files no cluster
// applies (every file of a repository the model reads as plain files).
func findBase(ctx context.Context, repo *gitrepo.Repo, doc manifest.Doc) (map[string]any, error) {
	m, err := fluxmodel.LoadEntries(ctx, repo.Root)
	if err != nil {
		return nil, err
	}
	type cand struct {
		file  string
		index int
		line  int
	}
	var cands []cand
	seen := map[string]bool{}
	for _, c := range m.Clusters {
		for _, r := range c.Releases {
			if r.Name != doc.Name || r.File == "" || seen[fmt.Sprintf("%s:%d", r.File, r.Line)] {
				continue
			}
			seen[fmt.Sprintf("%s:%d", r.File, r.Line)] = true
			src, err := os.ReadFile(filepath.Join(repo.Root, filepath.FromSlash(r.File)))
			if err != nil {
				return nil, err
			}
			docs, _ := manifest.Headers(r.File, src)
			for _, d := range docs {
				if d.Line == r.Line {
					cands = append(cands, cand{r.File, d.Index, d.Line})
				}
			}
		}
	}
	if len(cands) == 0 {
		// No cluster applies a release of that name: the documents no
		// cluster applies (every file of a plain repository). An archived
		// copy is never taken over what a cluster applies.
		u, err := m.ReadUnapplied(ctx, "", "HelmRelease", doc.Name)
		if err != nil {
			return nil, err
		}
		q := fluxmodel.Query{Kind: "HelmRelease", Group: "helm.toolkit.fluxcd.io", Name: doc.Name}
		for _, d := range u.Docs {
			if q.Matches(d) {
				cands = append(cands, cand{d.Path, d.Index, d.Line})
			}
		}
	}
	var found []map[string]any
	var where []string
	for _, d := range cands {
		if d.file == doc.Path && d.index == doc.Index {
			continue
		}
		src, err := os.ReadFile(filepath.Join(repo.Root, filepath.FromSlash(d.file)))
		if err != nil {
			return nil, err
		}
		dm, err := docMap(src, d.index)
		if err != nil || !namesChart(dm) {
			continue
		}
		if len(found) > 0 && !reflect.DeepEqual(chartOf(found[0]), chartOf(dm)) {
			where = append(where, fmt.Sprintf("%s:%d", d.file, d.line))
			continue
		}
		found = append(found, dm)
		where = append(where, fmt.Sprintf("%s:%d", d.file, d.line))
	}
	switch {
	case len(found) == 0:
		return nil, &chartsource.UnresolvableError{Reason: fmt.Sprintf("HelmRelease %s in %s names no chart, and no base HelmRelease of that name in the checkout does", doc.Name, doc.Path)}
	case len(where) > len(found):
		return nil, &chartsource.UnresolvableError{Reason: fmt.Sprintf("HelmRelease %s in %s is a patch, and the bases that name a chart differ: %s", doc.Name, doc.Path, strings.Join(where, ", "))}
	}
	return found[0], nil
}

func chartOf(m map[string]any) any {
	spec, _ := m["spec"].(map[string]any)
	return []any{spec["chart"], spec["chartRef"]}
}

// DocRef is one document of a file.
type DocRef struct {
	File  string
	Index int
}

// Merge composes a HelmRelease from its documents in order (a base, then
// the patches over it), reading each file with read; namespace is used when
// none of them sets one.
func Merge(docs []DocRef, read func(file string) ([]byte, error), namespace string) (*helmv2.HelmRelease, error) {
	var m map[string]any
	for _, d := range docs {
		src, err := read(d.File)
		if err != nil {
			return nil, err
		}
		dm, err := docMap(src, d.Index)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.File, err)
		}
		if m == nil {
			m = dm
		} else {
			m = chartsource.MergeMaps(m, dm)
		}
	}
	return decodeRelease(m, namespace)
}

func decodeRelease(m map[string]any, namespace string) (*helmv2.HelmRelease, error) {
	var hr helmv2.HelmRelease
	data, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &hr); err != nil {
		return nil, fmt.Errorf("decoding HelmRelease: %w", err)
	}
	if hr.Namespace == "" {
		hr.Namespace = namespace
	}
	return &hr, nil
}
