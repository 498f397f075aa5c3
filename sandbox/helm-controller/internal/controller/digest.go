package controller

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"

	goyaml "go.yaml.in/yaml/v2"
	"sigs.k8s.io/yaml"
)

// DigestValues returns the "sha256:<hex>" digest of merged values, computed the
// way Flux's chartutil.DigestValues does (fluxcd/pkg/chartutil): empty values
// hash as nothing, otherwise the values are YAML-encoded with every map's keys
// sorted. Matching the algorithm matters because users (and `trace`) compare
// status.lastAttemptedConfigDigest and history[].configDigest across controllers.
func DigestValues(values map[string]any) string {
	h := sha256.New()
	if len(values) > 0 {
		ms := yaml.JSONObjectToYAMLObject(values)
		sortMapSlice(ms)
		// An encoding error leaves the digest of what was written, which is
		// what Flux does too (it returns "" there; values from JSON cannot fail).
		_ = goyaml.NewEncoder(h).Encode(ms)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

func sortMapSlice(ms goyaml.MapSlice) {
	sort.Slice(ms, func(i, j int) bool {
		return ms[i].Key.(string) < ms[j].Key.(string)
	})
	for _, item := range ms {
		switch v := item.Value.(type) {
		case goyaml.MapSlice:
			sortMapSlice(v)
		case []any:
			sortSlice(v)
		}
	}
}

func sortSlice(s []any) {
	for _, item := range s {
		switch v := item.(type) {
		case goyaml.MapSlice:
			sortMapSlice(v)
		case []any:
			sortSlice(v)
		}
	}
}

// digestJSON returns the "sha256:<hex>" digest of v's JSON encoding; Flux uses
// it for the snapshot digest of a Helm release observation.
func digestJSON(v any) string {
	h := sha256.New()
	if err := json.NewEncoder(h).Encode(v); err != nil {
		return ""
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
