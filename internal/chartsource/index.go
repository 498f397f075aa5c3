package chartsource

import (
	"fmt"
	"sort"

	"github.com/Masterminds/semver/v3"
	"sigs.k8s.io/yaml"
)

// A chart repository's index.yaml, the parts a resolution needs. Helm's own
// type (helm.sh/helm/v3/pkg/repo) is not used: that package links Helm's
// getter, plugin and kube packages, whose init (kubectl's scheme among them)
// every start of the binary would pay (bench/imports_test.go).
type index struct {
	Entries map[string][]indexEntry `json:"entries"`
}

type indexEntry struct {
	Name    string   `json:"name"`
	Version string   `json:"version"`
	URLs    []string `json:"urls"`
	Digest  string   `json:"digest"`
}

func parseIndex(data []byte) (*index, error) {
	var idx index
	if err := yaml.Unmarshal(data, &idx); err != nil {
		return nil, err
	}
	if idx.Entries == nil {
		return nil, fmt.Errorf("no entries: not a chart repository index")
	}
	return &idx, nil
}

// get picks a version of chart name as Helm's IndexFile.Get does (and with
// it source-controller): an exact match of the version string first, else the
// newest version the semver constraint accepts ("*" when empty), versions
// that are not semver skipped.
func (i *index) get(name, version string) (*indexEntry, error) {
	vs := i.Entries[name]
	if len(vs) == 0 {
		return nil, fmt.Errorf("no chart named %q in the index", name)
	}
	if version == "" {
		version = "*"
	}
	for j := range vs {
		if vs[j].Version == version {
			return &vs[j], nil
		}
	}
	constraint, err := semver.NewConstraint(version)
	if err != nil {
		return nil, fmt.Errorf("version %q is not a semver range: %w", version, err)
	}
	type candidate struct {
		v *semver.Version
		e *indexEntry
	}
	var cs []candidate
	for j := range vs {
		if v, err := semver.NewVersion(vs[j].Version); err == nil && constraint.Check(v) {
			cs = append(cs, candidate{v, &vs[j]})
		}
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("no chart version found for %s-%s", name, version)
	}
	sort.SliceStable(cs, func(a, b int) bool { return cs[a].v.GreaterThan(cs[b].v) })
	return cs[0].e, nil
}
