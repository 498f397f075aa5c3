package fluxmodel

import (
	"context"
	"fmt"
	"os"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
)

// LoadCommit builds the model of what each cluster applies at commit sha
// of repo, without touching the checkout: the commit's files are written
// to a temporary folder (gitrepo.Export), modelled, and removed. The
// model's Root is the checkout's root, but its files are as sha holds them
// (they may differ from the checkout's).
func LoadCommit(ctx context.Context, repo *gitrepo.Repo, sha string) (*Model, error) {
	tmp, err := os.MkdirTemp("", "kubectl-gitops-model-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := repo.Export(ctx, sha, tmp); err != nil {
		return nil, err
	}
	m, err := Load(ctx, tmp)
	if err != nil {
		return nil, fmt.Errorf("modelling commit %s: %w", gitrepo.Short(sha), err)
	}
	m.Root = repo.Root
	return m, nil
}

// Touching returns the releases (of every cluster) that take their object
// or a value from one of files (slash paths relative to the root): the
// HelmReleases a change to those files reaches, by applied identity.
func (m *Model) Touching(files []string) []*Release {
	set := make(map[string]bool, len(files))
	for _, f := range files {
		set[f] = true
	}
	var out []*Release
	for _, c := range m.Clusters {
		for _, r := range c.Releases {
			hit := set[r.File]
			for _, s := range r.Provenance {
				if hit {
					break
				}
				hit = set[s.File]
			}
			if hit {
				out = append(out, r)
			}
		}
	}
	return out
}
