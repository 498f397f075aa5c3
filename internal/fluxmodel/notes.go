package fluxmodel

import "fmt"

// Notes are what a command should say once about the model: each Flux
// Kustomization that was not followed (its source is not this repository
// or cannot be mapped onto it) or that was built with something unknown
// (a substituteFrom object made outside Git), with where it is written.
func (m *Model) Notes() []string {
	var out []string
	for _, c := range m.Clusters {
		for _, k := range c.Kustomizations {
			if k.Note == "" {
				continue
			}
			where := k.File
			if k.Line > 0 {
				where = fmt.Sprintf("%s:%d", k.File, k.Line)
			}
			out = append(out, fmt.Sprintf("%s: Kustomization %s/%s (%s): %s", c.Name, k.Namespace, k.Name, where, k.Note))
		}
	}
	return out
}

// addNote adds to what is said about a Kustomization.
func (k *Kustomization) addNote(s string) {
	if k.Note != "" {
		k.Note += "; "
	}
	k.Note += s
}
