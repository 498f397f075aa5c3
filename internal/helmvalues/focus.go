package helmvalues

import (
	"helm.sh/helm/v3/pkg/strvals"

	"github.com/kubectl-gitops/kubectl-gitops/internal/yamledit"
)

// Focus is the part of the current values that Compute reads for in: a map
// from each key the flags name to the focus below it, where any value that
// is not a map (nil) stands for the whole value at that key. Compute gives
// the same result on the current values cut down to their focus as on all
// of them, so a large values map need not be read whole
// (yamledit.OpenFocused). ok is false when a flag does not parse: Compute
// then says why, on the whole values.
func Focus(in Input) (focus map[string]any, ok bool) {
	f := map[string]any{}
	for _, arg := range in.Unset {
		p, err := ParsePath(arg)
		if err != nil {
			return nil, false
		}
		addPath(f, p)
	}
	for _, file := range in.Files {
		m, err := valuesFile(file.Data)
		if err != nil {
			return nil, false
		}
		addShape(f, m)
	}
	for _, arg := range in.Replace {
		pairs, err := jsonPairs(arg)
		if err != nil {
			return nil, false
		}
		for _, pr := range pairs {
			addPath(f, pr.path)
		}
	}
	for _, arg := range in.JSON {
		shape := map[string]any{}
		if err := strvals.ParseJSON(arg, shape); err != nil {
			return nil, false
		}
		addShape(f, shape)
	}
	for _, g := range []struct {
		args  []string
		parse func(string, map[string]any) error
	}{{in.Set, strvals.ParseInto}, {in.String, strvals.ParseIntoString}} {
		for _, arg := range g.args {
			shape := map[string]any{}
			if err := g.parse(arg, shape); err != nil {
				return nil, false
			}
			addShape(f, shape)
		}
	}
	return f, true
}

// addPath adds the whole value at p (up to its first list index) to f.
func addPath(f map[string]any, p yamledit.Path) {
	for i, el := range p {
		k, ok := el.(string)
		if !ok {
			return
		}
		if i == len(p)-1 {
			f[k] = nil
			return
		}
		if _, isIndex := p[i+1].(int); isIndex {
			f[k] = nil
			return
		}
		sub, isMap := f[k].(map[string]any)
		if !isMap {
			if _, there := f[k]; there {
				return // the whole value already
			}
			sub = map[string]any{}
			f[k] = sub
		}
		f = sub
	}
}

// addShape adds the keys of shape to f: maps name the keys below them,
// anything else the whole value.
func addShape(f, shape map[string]any) {
	for k, v := range shape {
		m, isMap := v.(map[string]any)
		if !isMap {
			f[k] = nil
			continue
		}
		sub, had := f[k].(map[string]any)
		if !had {
			if _, there := f[k]; there {
				continue
			}
			sub = map[string]any{}
			f[k] = sub
		}
		addShape(sub, m)
	}
}
