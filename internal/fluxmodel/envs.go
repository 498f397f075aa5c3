package fluxmodel

import (
	"path"
	"sort"

	"github.com/kubectl-gitops/kubectl-gitops/internal/envs"
)

// Environments are the clusters of the model as promote's environments:
// each cluster's paths are the folders of the files only it applies (its
// patches, its own releases and sources), its bases the folders of the
// files it shares with another cluster (a base every environment
// includes).
func (m *Model) Environments() *envs.Config {
	users := m.FileUsers(func(o *Object) bool { return group(o.APIVersion) == "source.toolkit.fluxcd.io" })
	var out []envs.Environment
	for _, c := range m.Clusters {
		e := envs.Environment{Name: c.Name}
		own, shared := map[string]bool{}, map[string]bool{}
		for f, us := range users {
			if !us[c.Name] {
				continue
			}
			if len(us) == 1 {
				own[path.Dir(f)] = true
			} else {
				shared[path.Dir(f)] = true
			}
		}
		// A folder with a shared file is a base, even if it also
		// holds a file of this cluster only.
		for d := range own {
			if !shared[d] {
				e.Paths = append(e.Paths, d)
			}
		}
		for d := range shared {
			e.Bases = append(e.Bases, d)
		}
		sort.Strings(e.Paths)
		sort.Strings(e.Bases)
		if len(e.Paths)+len(e.Bases) > 0 {
			out = append(out, e)
		}
	}
	envs.Sort(out)
	return &envs.Config{Environments: out, Inferred: true, Source: "the clusters the repository applies (" + m.Layout + ")"}
}

// FileUsers maps each file to the clusters that apply something from it:
// a HelmRelease, a file its values come from (provenance), or an object
// keep accepts.
func (m *Model) FileUsers(keep func(*Object) bool) map[string]map[string]bool {
	users := map[string]map[string]bool{} // file -> clusters
	add := func(file, cluster string) {
		if file == "" {
			return
		}
		if users[file] == nil {
			users[file] = map[string]bool{}
		}
		users[file][cluster] = true
	}
	for _, c := range m.Clusters {
		for _, r := range c.Releases {
			add(r.File, c.Name)
			for _, s := range r.Provenance {
				add(s.File, c.Name)
			}
		}
		for _, o := range c.Objects {
			if keep(o) {
				add(o.File, c.Name)
			}
		}
	}
	return users
}
