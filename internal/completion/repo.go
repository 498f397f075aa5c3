package completion

import (
	"context"

	"github.com/kubectl-gitops/kubectl-gitops/internal/envs"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
)

// RepoHelmReleases lists the HelmReleases in the files git tracks in the
// checkout containing dir, through the same scanner the commands use (so
// namespaces set by a kustomization count too). Outside a Git checkout it
// falls back to walking dir.
func RepoHelmReleases(ctx context.Context) HelmReleaseLister {
	return func(dir string) ([]HelmRelease, error) {
		r, err := gitrepo.Open(ctx, dir)
		if err != nil {
			return ScanHelmReleases(dir)
		}
		files, err := manifest.TrackedFiles(ctx, r)
		if err != nil {
			return nil, err
		}
		ix, err := manifest.Scan(ctx, r.Root, files, manifest.ScanOptions{MustContain: []string{"HelmRelease"}})
		if err != nil {
			return nil, err
		}
		var out []HelmRelease
		for _, d := range ix.Docs {
			if d.Kind == "HelmRelease" && d.Group == "helm.toolkit.fluxcd.io" && d.Name != "" {
				out = append(out, HelmRelease{Name: d.Name, Namespace: d.Namespace, Path: d.Path})
			}
		}
		return out, nil
	}
}

// RepoEnvironments lists the environments of the checkout containing dir:
// its .gitops.yaml, or the layout promote infers.
func RepoEnvironments(ctx context.Context) EnvironmentLister {
	return func(dir string) ([]string, error) {
		root := dir
		if r, err := gitrepo.Open(ctx, dir); err == nil {
			root = r.Root
		}
		cfg, err := envs.Load(root)
		if err != nil {
			return nil, err
		}
		return cfg.Names(), nil
	}
}
