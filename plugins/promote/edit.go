package promote

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// scalarSpan finds the bytes of scalar node n in data, the file it was
// parsed from. yaml.v3 gives the start (line and column, counted in
// characters); the end depends on the quoting style.
func scalarSpan(data []byte, n *yaml.Node, inFlow bool) (start, end int, err error) {
	if n.Kind != yaml.ScalarNode {
		return 0, 0, fmt.Errorf("line %d: expected a single value, found a %s", n.Line, kindName(n.Kind))
	}
	off := 0
	for line := 1; line < n.Line; line++ {
		i := strings.IndexByte(string(data[off:]), '\n')
		if i < 0 {
			return 0, 0, fmt.Errorf("line %d is past the end of the file", n.Line)
		}
		off += i + 1
	}
	for col := 1; col < n.Column; col++ {
		if off >= len(data) {
			return 0, 0, fmt.Errorf("line %d column %d is past the end of the file", n.Line, n.Column)
		}
		_, size := utf8.DecodeRune(data[off:])
		off += size
	}
	start = off
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		i := start + 1
		for ; i < len(data) && data[i] != '"'; i++ {
			if data[i] == '\\' {
				i++
			}
		}
		end = i + 1
	case n.Style&yaml.SingleQuotedStyle != 0:
		i := start + 1
		for ; i < len(data); i++ {
			if data[i] == '\'' {
				if i+1 < len(data) && data[i+1] == '\'' {
					i++
					continue
				}
				break
			}
		}
		end = i + 1
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return 0, 0, fmt.Errorf("line %d: block scalars (| or >) are not edited in place; write the value on one line", n.Line)
	default:
		i := start
		for ; i < len(data) && data[i] != '\n' && data[i] != '\r'; i++ {
			if data[i] == '#' && i > start && (data[i-1] == ' ' || data[i-1] == '\t') {
				break
			}
			if inFlow && (data[i] == ',' || data[i] == '}' || data[i] == ']') {
				break
			}
		}
		end = i
		for end > start && (data[end-1] == ' ' || data[end-1] == '\t') {
			end--
		}
	}
	if end > len(data) || end <= start {
		return 0, 0, fmt.Errorf("line %d: could not find the end of the value", n.Line)
	}
	// Check the span really is the value: a multi-line plain scalar or a
	// tag in front of it would make the span wrong, and a wrong byte edit
	// corrupts the user's file.
	var got string
	if err := yaml.Unmarshal(data[start:end], &got); err != nil || got != n.Value {
		return 0, 0, fmt.Errorf("line %d: the value %q is not written on one line as a plain or quoted scalar; edit it by hand", n.Line, n.Value)
	}
	return start, end, nil
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.AliasNode:
		return "alias"
	}
	return "value"
}

// renderScalar writes v in the style the old value used, falling back to
// double quotes when plain style would change its type ("1.22" must stay
// a string, or Flux would read a number).
func renderScalar(v string, old *yaml.Node, inFlow bool) string {
	switch {
	case old.Style&yaml.SingleQuotedStyle != 0:
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	case old.Style&yaml.DoubleQuotedStyle != 0:
		return doubleQuote(v)
	}
	if old.Tag != "" && old.Tag != "!!str" && old.ShortTag() != "!!str" {
		// The old value was a number or bool written plain; keep a new
		// number plain too so that the field keeps its type.
		var probe yaml.Node
		if yaml.Unmarshal([]byte(v), &probe) == nil && len(probe.Content) == 1 && probe.Content[0].ShortTag() == old.ShortTag() {
			return v
		}
	}
	out, err := yaml.Marshal(v)
	if err == nil && strings.TrimSuffix(string(out), "\n") == v && !(inFlow && strings.ContainsAny(v, ",[]{}")) {
		return v
	}
	return doubleQuote(v)
}

func doubleQuote(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\t", `\t`)
	return `"` + r.Replace(v) + `"`
}

// replaceScalar returns data with the scalar n replaced by v, every other
// byte untouched.
func replaceScalar(data []byte, n *yaml.Node, inFlow bool, v string) ([]byte, error) {
	start, end, err := scalarSpan(data, n, inFlow)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(data)+len(v))
	out = append(out, data[:start]...)
	out = append(out, renderScalar(v, n, inFlow)...)
	out = append(out, data[end:]...)
	return out, nil
}

// parentInFlow reports whether the value at keys sits in a flow mapping
// ({tag: v1}), where ',' and '}' end a plain scalar.
func parentInFlow(root *yaml.Node, keys ...string) bool {
	if len(keys) == 0 {
		return false
	}
	p := nodeAt(root, keys[:len(keys)-1]...)
	return p != nil && p.Style&yaml.FlowStyle != 0
}
