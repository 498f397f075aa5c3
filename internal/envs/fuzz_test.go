package envs

import (
	"path"
	"strings"
	"testing"
)

// FuzzParse: whatever a .gitops.yaml holds, Parse returns an error or a
// valid config (named, unique, non-empty environments whose paths stay
// inside the repository); it never panics.
func FuzzParse(f *testing.F) {
	f.Add([]byte("environments:\n  - name: staging\n    paths: [apps/staging]\n    bases: [apps/base]\n"))
	f.Add([]byte("environments:\n  - name: a\n    paths: [../x]\n"))
	f.Add([]byte("environments: [{name: p, paths: [./a/../b], context: c, namespace: n}]\n"))
	f.Add([]byte("environments:\n  - name: a\n    paths: [x]\n  - name: a\n    paths: [y]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := Parse(b)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, e := range cfg.Environments {
			if e.Name == "" || seen[e.Name] || len(e.Paths) == 0 {
				t.Fatalf("invalid environment accepted: %+v", e)
			}
			seen[e.Name] = true
			for _, p := range append(append([]string{}, e.Paths...), e.Bases...) {
				if path.IsAbs(p) || p == ".." || strings.HasPrefix(p, "../") {
					t.Fatalf("path %q escapes the repository", p)
				}
			}
		}
	})
}
