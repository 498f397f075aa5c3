package yamledit

import (
	"fmt"
	"math"
	"reflect"

	"gopkg.in/yaml.v3"
)

// Decoding to plain Go values goes through the parsed node tree here, not
// through yaml.v3's Decode into `any`: that checks a mapping for duplicate
// keys by comparing every key with every other one, which for a values map
// of 20 MB took over half an hour. This decoder checks with a hash set, in
// time linear in the size of the document, and otherwise decodes as
// yaml.v3 does (each scalar is decoded by yaml.v3 itself, so tags, numbers,
// booleans and timestamps resolve the same way). Alias expansion is
// bounded by the rule yaml.v3 applies, so a "billion laughs" document is
// refused rather than expanded.

// decoder carries the alias accounting of one document.
type decoder struct {
	count, aliasCount, aliasDepth int
}

// Decode decodes a parsed document (or any node) to plain Go values: maps
// of string keys (a key that is not a string is spelled so that it never
// equals one, see stringKeys), []any lists, and scalars as yaml.v3 decodes
// them into `any`. A duplicate key or excessive aliasing is an error.
func Decode(n *yaml.Node) (any, error) {
	d := &decoder{}
	return d.value(n)
}

func (d *decoder) value(n *yaml.Node) (any, error) {
	d.count++
	if d.aliasDepth > 0 {
		d.aliasCount++
	}
	if d.aliasCount > 100 && d.count > 1000 && float64(d.aliasCount)/float64(d.count) > allowedAliasRatio(d.count) {
		return nil, &SyntaxError{Err: fmt.Errorf("yaml: document contains excessive aliasing")}
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return d.value(n.Content[0])
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, &SyntaxError{Err: fmt.Errorf("yaml: line %d: unknown anchor '%s' referenced", n.Line, n.Value)}
		}
		d.aliasDepth++
		v, err := d.value(n.Alias)
		d.aliasDepth--
		return v, err
	case yaml.ScalarNode:
		return scalar(n)
	case yaml.SequenceNode:
		out := make([]any, len(n.Content))
		for i, c := range n.Content {
			v, err := d.value(c)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case yaml.MappingNode:
		return d.mapping(n)
	}
	return nil, &SyntaxError{Err: fmt.Errorf("yaml: line %d: unexpected node kind %v", n.Line, n.Kind)}
}

func (d *decoder) mapping(n *yaml.Node) (any, error) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			// Merge keys (<<) have precedence rules of their own: yaml.v3
			// decodes such a map itself (they are small, and rare).
			var v any
			if err := n.Decode(&v); err != nil {
				return nil, &SyntaxError{Err: err}
			}
			return stringKeys(v), nil
		}
	}
	type seen struct {
		kind  yaml.Kind
		value string
	}
	lines := make(map[seen]int, len(n.Content)/2)
	out := make(map[string]any, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		// yaml.v3's rule: two keys of the same kind and text are the same.
		id := seen{k.Kind, k.Value}
		if first, dup := lines[id]; dup {
			return nil, &SyntaxError{Err: fmt.Errorf("yaml: unmarshal errors:\n  line %d: mapping key %q already defined at line %d", k.Line, k.Value, first)}
		}
		lines[id] = k.Line
		key, err := d.value(k)
		if err != nil {
			return nil, err
		}
		val, err := d.value(v)
		if err != nil {
			return nil, err
		}
		s, ok := key.(string)
		if !ok || k.Kind != yaml.ScalarNode || (k.Tag != "!!str" && k.ShortTag() != "!!str") {
			s = nonStringKey(key)
		}
		out[s] = val
	}
	return out, nil
}

// nonStringKey spells a key that is not a string as stringKeys does.
func nonStringKey(k any) string {
	if s, ok := k.(string); ok {
		// A string-valued key of another tag (a timestamp decodes as its
		// text): yaml.v3 makes the map map[any]any, but the key is the
		// string.
		return s
	}
	return fmt.Sprintf("\x00%T:%v", k, k)
}

// scalar decodes one scalar as yaml.v3 decodes it into `any`.
func scalar(n *yaml.Node) (any, error) {
	switch n.Tag {
	case "!!str":
		return n.Value, nil
	case "!!null":
		return nil, nil
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, &SyntaxError{Err: err}
	}
	return v, nil
}

// allowedAliasRatio is yaml.v3's bound on alias expansion: up to 400,000
// decoded nodes, 99% may come from aliases; from 4,000,000 on, 10%;
// linearly in between.
func allowedAliasRatio(decodeCount int) float64 {
	const low, high = 400000, 4000000
	switch {
	case decodeCount <= low:
		return 0.99
	case decodeCount >= high:
		return 0.10
	default:
		return 0.99 - 0.89*(float64(decodeCount-low)/float64(high-low))
	}
}

// sameValues compares decoded values as normalize and equal did, without
// copying them: integers of any type, and whole floats, are equal when
// their values are; NaN equals NaN.
func sameValues(a, b any) bool {
	switch ta := a.(type) {
	case map[string]any:
		tb, ok := b.(map[string]any)
		if !ok || len(ta) != len(tb) {
			return false
		}
		for k, va := range ta {
			vb, ok := tb[k]
			if !ok || !sameValues(va, vb) {
				return false
			}
		}
		return true
	case []any:
		tb, ok := b.([]any)
		if !ok || len(ta) != len(tb) {
			return false
		}
		for i := range ta {
			if !sameValues(ta[i], tb[i]) {
				return false
			}
		}
		return true
	case map[any]any, []map[string]any:
		return equal(normalize(a), normalize(b))
	}
	na, nb := normalize(a), normalize(b)
	if fa, ok := na.(float64); ok && math.IsNaN(fa) {
		fb, ok := nb.(float64)
		return ok && math.IsNaN(fb)
	}
	switch nb.(type) {
	case map[string]any, []any, map[any]any:
		return false
	}
	return reflect.DeepEqual(na, nb)
}
