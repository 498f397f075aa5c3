package fluxmodel

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
)

// LoadCommit builds the model of what each cluster applies at commit sha
// of repo, without touching the checkout: the commit's files are read
// from git's objects (gitrepo.Repo.ReadTree) and nothing is written. The
// model's Root is the checkout's root, but its files (ReadFile) are as
// sha holds them (they may differ from the checkout's).
func LoadCommit(ctx context.Context, repo *gitrepo.Repo, sha string) (*Model, error) {
	tree, err := repo.ReadTree(ctx, sha)
	if err != nil {
		return nil, err
	}
	m, err := LoadTree(ctx, TreeRoot(sha), tree)
	if err != nil {
		return nil, fmt.Errorf("modelling commit %s: %w", gitrepo.Short(sha), err)
	}
	m.Root = repo.Root
	return m, nil
}

// TreeRoot is the name LoadTree shows a commit's tree at: a path that is
// no folder on disk and that kustomize accepts (the checkout's own may
// hold a '+' or a space, see buildablePath).
func TreeRoot(sha string) string {
	return filepath.Join(string(filepath.Separator), "kubectl-gitops", "commit", gitrepo.Short(sha))
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

// legalName is what kustomize's in-memory file system accepts as a folder
// name (sigs.k8s.io/kustomize/kyaml/filesys): the generated
// kustomization.yaml is written there under the checkout's absolute path.
var legalName = regexp.MustCompile(`^[a-zA-Z0-9-_.:]+$`)

// buildablePath reports whether kustomize can build under abs: every
// folder name on the way is one it accepts.
func buildablePath(abs string) bool {
	for _, part := range strings.Split(filepath.ToSlash(abs), "/") {
		if part != "" && !legalName.MatchString(part) {
			return false
		}
	}
	return true
}

// loadCopy models a checkout whose path kustomize refuses (a space, a
// comma, a "+" in a folder name): its files, hidden folders left out, are
// copied to a temporary folder, modelled there, and removed.
func loadCopy(ctx context.Context, abs string) (*Model, error) {
	return inCopy(abs, func(tmp string) (*Model, error) { return Load(ctx, tmp) })
}

// inCopy copies the checkout at abs (hidden folders left out) to a
// temporary folder kustomize accepts, models it there with load, and
// gives the model the checkout's root: its files are named relative to it.
func inCopy(abs string, load func(tmp string) (*Model, error)) (*Model, error) {
	tmp, err := os.MkdirTemp("", "kubectl-gitops-model-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if !buildablePath(tmp) {
		return nil, fmt.Errorf("kustomize cannot build under %s (a folder name with a space or comma): set TMPDIR to a plain path", abs)
	}
	err = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(abs, p)
		dst := filepath.Join(tmp, rel)
		switch {
		case d.IsDir() && p != abs && strings.HasPrefix(d.Name(), "."):
			return filepath.SkipDir
		case d.IsDir():
			return os.MkdirAll(dst, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, dst)
		case !d.Type().IsRegular():
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		return nil, fmt.Errorf("reading the repository at %s: %w", abs, err)
	}
	m, err := load(tmp)
	if err != nil {
		return nil, err
	}
	// The copy is removed: the model reads the checkout itself.
	m.Root, m.fl = abs, nil
	return m, nil
}
