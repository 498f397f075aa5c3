// Package completion lists what shell completion offers from the GitOps
// repository: the HelmReleases of the checkout and its environments. The
// cobra completion functions built on these live in plugins/complete; this
// package knows no CLI library.
package completion

// HelmRelease is one HelmRelease found in the repo.
type HelmRelease struct {
	Name      string
	Namespace string
	// Path is the file it was found in, relative to the repo root.
	Path string
}

// HelmReleaseLister lists the HelmReleases in the repo checked out at dir.
type HelmReleaseLister func(dir string) ([]HelmRelease, error)

// EnvironmentLister lists the environment names of the repo at dir (promote
// defines what an environment is; it passes its own lister).
type EnvironmentLister func(dir string) ([]string, error)
