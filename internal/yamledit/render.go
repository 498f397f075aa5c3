package yamledit

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// layout is how this file indents: new lines copy it.
type layout struct {
	// unit is the indentation of a nested mapping relative to its key.
	unit int
	// seq is the indentation of a block sequence relative to the key that
	// holds it (0 for the "indentless" style, usually 2).
	seq int
	// rank orders the keys of new maps (see Op.Rank); base is how many
	// path elements it does not see.
	rank func(Path) (int, bool)
	base int
	// blockOK is false in a file without a final newline: a block scalar
	// written at its end would lose or gain a line break.
	blockOK bool
}

// layoutOf learns the indentation the document already uses.
func layoutOf(doc *yaml.Node) layout {
	l := layout{unit: -1, seq: -1}
	blockIndents(doc, func(unit, seq int) {
		if l.unit < 0 && unit > 0 {
			l.unit = unit
		}
		if l.seq < 0 && seq >= 0 {
			l.seq = seq
		}
	})
	if l.unit <= 0 {
		l.unit = 2
	}
	if l.seq < 0 {
		l.seq = l.unit
	}
	return l
}

func isCollection(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return true
	}
	return false
}

func isEmptyCollection(v any) bool {
	switch t := v.(type) {
	case map[string]any:
		return len(t) == 0
	case []any:
		return len(t) == 0
	}
	return false
}

// keys orders the keys of a new map at path p: by rank where the op gives
// one (the order the user wrote them), the others after, sorted.
func (l layout) keys(m map[string]any, p Path) []string {
	keys := slices.Sorted(maps.Keys(m))
	if l.rank == nil || len(p) < l.base {
		return keys
	}
	rel := append(Path{}, p[l.base:]...)
	rankOf := func(k string) int {
		if r, ok := l.rank(append(rel, k)); ok {
			return r
		}
		return math.MaxInt
	}
	sort.SliceStable(keys, func(i, j int) bool { return rankOf(keys[i]) < rankOf(keys[j]) })
	return keys
}

func at(p Path, el any) Path { return append(append(make(Path, 0, len(p)+1), p...), el) }

// literal renders a multi-line string as a literal block scalar (|, |-,
// |+) with its lines at indent, as a person writes a config file or a
// script into values; ok is false when the string needs quotes instead
// (no line break, a first line starting with a space, several final line
// breaks, a carriage return or an unprintable character).
func (l layout) literal(s string, indent int) (string, []string, bool) {
	if !l.blockOK || !strings.Contains(s, "\n") || !utf8.ValidString(s) {
		return "", nil, false
	}
	for _, r := range s {
		if r != '\n' && r != '\t' && !unicode.IsPrint(r) {
			return "", nil, false
		}
	}
	body := strings.TrimRight(s, "\n")
	first := strings.TrimLeft(body, "\n")
	if first == "" || first[0] == ' ' || first[0] == '\t' {
		return "", nil, false
	}
	// Keep chomping (|+) would take in the blank lines that follow in the
	// file, so a value ending in several line breaks stays quoted.
	head := "|"
	switch trailing := len(s) - len(body); {
	case trailing == 0:
		head = "|-"
	case trailing > 1:
		return "", nil, false
	}
	pad := strings.Repeat(" ", indent)
	lines := strings.Split(body, "\n")
	for i, line := range lines {
		if line != "" {
			lines[i] = pad + line
		}
	}
	return head, lines, true
}

// scalarText renders a scalar as YAML that decodes back to exactly v.
// style is the style of the value being replaced: a string keeps the quotes
// it had, so `tag: "1.21"` becomes `tag: "1.22"`, not `tag: '1.22'`.
func scalarText(v any, style yaml.Style, flow bool) (string, error) {
	switch t := v.(type) {
	case nil:
		return "null", nil
	case bool:
		return strconv.FormatBool(t), nil
	case int:
		return strconv.Itoa(t), nil
	case int64:
		return strconv.FormatInt(t, 10), nil
	case float64:
		switch {
		case math.IsInf(t, 1):
			return ".inf", nil
		case math.IsInf(t, -1):
			return "-.inf", nil
		case math.IsNaN(t):
			return ".nan", nil
		case t == math.Trunc(t) && math.Abs(t) < 1e15:
			return strconv.FormatFloat(t, 'f', -1, 64), nil
		}
		s := strconv.FormatFloat(t, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eEn") {
			s += ".0"
		}
		return s, nil
	case string:
		if !utf8.ValidString(t) {
			return "", fmt.Errorf("the value %q is not valid UTF-8, which YAML cannot hold as text", t)
		}
		return stringText(t, style, flow), nil
	}
	return "", fmt.Errorf("cannot write a value of type %T", v)
}

func stringText(s string, style yaml.Style, flow bool) string {
	printable := true
	for _, r := range s {
		if !unicode.IsPrint(r) || r == '\n' {
			printable = false
			break
		}
	}
	switch {
	case style&yaml.SingleQuotedStyle != 0 && printable:
		return "'" + strings.ReplaceAll(s, "'", "''") + "'"
	case style&yaml.DoubleQuotedStyle != 0:
		return strconv.Quote(s)
	case plainSafe(s, flow):
		return s
	case printable && !strings.Contains(s, `"`) && !strings.Contains(s, `\`):
		return strconv.Quote(s)
	case printable:
		return "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
	return strconv.Quote(s)
}

// plainSafe reports whether s can be written without quotes and still read
// back as the same string, by YAML 1.2 (yaml.v3) and by the YAML 1.1 readers
// Flux and Helm use (where yes, on, y are booleans). yaml.v3's encoder
// already quotes whatever either would misread, so ask it.
func plainSafe(s string, flow bool) bool {
	if s == "" || strings.ContainsAny(s, "\n\r\t") {
		return false
	}
	// Inside [ ] and { } yaml.v3 reads fewer plain scalars than it writes
	// outside them; quote anything with an indicator character.
	if flow && strings.ContainsAny(s, ",[]{}?:#&*!|>'\"%@`") {
		return false
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	if enc.Encode(s) != nil || enc.Close() != nil {
		return false
	}
	return b.String() == s+"\n"
}

func keyText(k string) string { return stringText(k, 0, true) }

// flowText renders v (at path p) on one line in flow style.
func (l layout) flowText(v any, style yaml.Style, p Path) (string, error) {
	switch t := v.(type) {
	case map[string]any:
		parts := make([]string, 0, len(t))
		for _, k := range l.keys(t, p) {
			val, err := l.flowText(t[k], 0, at(p, k))
			if err != nil {
				return "", err
			}
			parts = append(parts, keyText(k)+": "+val)
		}
		return "{" + strings.Join(parts, ", ") + "}", nil
	case []any:
		parts := make([]string, 0, len(t))
		for i, item := range t {
			val, err := l.flowText(item, 0, at(p, i))
			if err != nil {
				return "", err
			}
			parts = append(parts, val)
		}
		return "[" + strings.Join(parts, ", ") + "]", nil
	}
	return scalarText(v, style, true)
}

// inlineText renders v where it follows "key: " or "- " in block context: a
// scalar, or an empty collection.
func inlineText(v any, style yaml.Style) (string, error) {
	if isCollection(v) {
		return layout{}.flowText(v, style, nil) // empty: no keys to order
	}
	return scalarText(v, style, false)
}

// blockLines renders a non-empty collection (at path p) as block lines
// indented by indent spaces.
func (l layout) blockLines(v any, indent int, p Path) ([]string, error) {
	pad := strings.Repeat(" ", indent)
	var out []string
	switch t := v.(type) {
	case map[string]any:
		for _, k := range l.keys(t, p) {
			lines, err := l.pairLines(k, t[k], indent, at(p, k))
			if err != nil {
				return nil, err
			}
			out = append(out, lines...)
		}
	case []any:
		for i, item := range t {
			if isCollection(item) && !isEmptyCollection(item) {
				lines, err := l.blockLines(item, indent+2, at(p, i))
				if err != nil {
					return nil, err
				}
				lines[0] = pad + "- " + lines[0][indent+2:]
				out = append(out, lines...)
				continue
			}
			if str, ok := item.(string); ok {
				if head, lines, ok := l.literal(str, indent+2); ok {
					out = append(out, pad+"- "+head)
					out = append(out, lines...)
					continue
				}
			}
			s, err := inlineText(item, 0)
			if err != nil {
				return nil, err
			}
			out = append(out, pad+"- "+s)
		}
	default:
		return nil, fmt.Errorf("not a collection: %T", v)
	}
	return out, nil
}

// pairLines renders "key: value" at indent, nesting collections below; p
// is the path of the key.
func (l layout) pairLines(k string, v any, indent int, p Path) ([]string, error) {
	pad := strings.Repeat(" ", indent)
	if str, ok := v.(string); ok {
		if head, lines, ok := l.literal(str, indent+l.unit); ok {
			return append([]string{pad + keyText(k) + ": " + head}, lines...), nil
		}
	}
	if isCollection(v) && !isEmptyCollection(v) {
		child := indent + l.unit
		if _, ok := v.([]any); ok {
			child = indent + l.seq
		}
		lines, err := l.blockLines(v, child, p)
		if err != nil {
			return nil, err
		}
		return append([]string{pad + keyText(k) + ":"}, lines...), nil
	}
	s, err := inlineText(v, 0)
	if err != nil {
		return nil, err
	}
	return []string{pad + keyText(k) + ": " + s}, nil
}
