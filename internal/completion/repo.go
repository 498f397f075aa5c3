package completion

import (
	"context"

	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxmodel"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
)

// root is the top of the checkout containing dir, or dir outside one.
func root(ctx context.Context, dir string) string {
	if r, err := gitrepo.Open(ctx, dir); err == nil {
		return r.Root
	}
	return dir
}

// RepoHelmReleases lists the HelmReleases the clusters of the checkout
// containing dir apply, from the model the commands use (fluxmodel): each
// by its applied name and namespace, once per file it is written in; a
// file nobody includes offers nothing.
func RepoHelmReleases(ctx context.Context) HelmReleaseLister {
	return func(dir string) ([]HelmRelease, error) {
		m, err := fluxmodel.Load(ctx, root(ctx, dir))
		if err != nil {
			return nil, err
		}
		var out []HelmRelease
		for _, c := range m.Clusters {
			for _, r := range c.Releases {
				out = append(out, HelmRelease{Name: r.Name, Namespace: r.Namespace, Path: r.File})
			}
		}
		return out, nil
	}
}

// RepoEnvironments lists the environments of the checkout containing dir,
// as promote names them: its .gitops.yaml, else the clusters the model
// finds (fluxmodel.LoadEnvironments).
func RepoEnvironments(ctx context.Context) EnvironmentLister {
	return func(dir string) ([]string, error) {
		cfg, _, err := fluxmodel.LoadEnvironments(ctx, root(ctx, dir))
		if err != nil {
			return nil, err
		}
		return cfg.Names(), nil
	}
}
