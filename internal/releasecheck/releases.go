package releasecheck

import (
	"encoding/json"
	"sort"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"

	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxmodel"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
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
