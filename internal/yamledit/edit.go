// Package yamledit changes values in hand-written YAML files and leaves
// every other byte alone.
//
// It parses with gopkg.in/yaml.v3 only to learn where nodes are, then
// splices the new text into the original bytes. Nothing is re-encoded, so
// comments, blank lines, quoting, key order, indentation, flow collections,
// anchors, other documents, CRLF line endings and a missing final newline
// all survive. New keys are indented like their siblings; new nested maps
// and lists copy the indentation the document already uses.
//
// After every operation the result is decoded again and compared with what
// the operation should have produced: the requested value at the path and
// every other value of every document unchanged. If that ever fails the
// edit is refused rather than written.
package yamledit

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Path addresses a value: string elements are mapping keys, int elements
// are sequence indexes.
type Path []any

func (p Path) String() string {
	var b strings.Builder
	for i, e := range p {
		switch t := e.(type) {
		case int:
			fmt.Fprintf(&b, "[%d]", t)
		default:
			s := fmt.Sprint(t)
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(strings.ReplaceAll(s, ".", `\.`))
		}
	}
	return b.String()
}

// Op is one change below the base path.
type Op struct {
	Path Path
	// Unset removes the key (or list item) instead of setting it.
	Unset bool
	// Value is nil, bool, int, int64, float64, string, map[string]any or
	// []any.
	Value any
	// Rank, if set, orders the keys of new maps this op writes: it gets a
	// key's path below the base and returns its rank, lowest first; keys
	// it does not rank follow in sorted order. helmvalues ranks keys in
	// the order the command line gave them.
	Rank func(Path) (int, bool)
}

// Change reports what one Op did.
type Change struct {
	Op Op
	// Changed is false when the value was already as requested (or, for
	// Unset, absent).
	Changed bool
	// Existed says whether the path had a value before; Old is that value.
	Existed bool
	Old     any
	// Marker is the Flux image-automation marker comment found on the edited
	// lines, such as `{"$imagepolicy": "flux-system:podinfo:tag"}`; the image
	// automation controller will write over this override.
	Marker string
	// Line is the 1-based line of the edit in the result.
	Line int
	// Moved describes anchors that the edit removed while aliases elsewhere
	// still used them, and that moved to the first of those aliases
	// ("&port from line 12 to line 40", lines of the file before the edit).
	Moved []string
}

// PathError is an operation that cannot be carried out at a path.
type PathError struct {
	Path   Path
	Reason string
}

func (e *PathError) Error() string { return fmt.Sprintf("%s: %s", e.Path, e.Reason) }

// verifyRefusal is a refusal the editor only found out about by verifying
// its result (an anchor move that did not work out): the user gets the
// PathError's reason, and tests and fuzzing still see ErrVerify, a bug.
type verifyRefusal struct{ *PathError }

func (e verifyRefusal) Unwrap() []error { return []error{e.PathError, ErrVerify} }

// ErrVerify is returned when the edited text does not decode to what was
// asked; it is a bug, and the input is left as it was.
var ErrVerify = errors.New("the edit did not decode to the requested values")

// Apply carries out ops in order on document doc (0-based, as yaml.v3's
// decoder counts them) of src, below base (for a HelmRelease: spec, values).
// Maps missing along base or an op's path are created.
//
// Only document doc is parsed and changed (see findDoc); the bytes of the
// other documents are copied, and a syntax error in one of them is not
// seen here: callers find the document by parsing the whole file first
// (manifest.Find), and refuse a malformed one there.
func Apply(src []byte, doc int, base Path, ops []Op) ([]byte, []Change, error) {
	return newDocument(src, doc).Apply(base, ops)
}

// markers counts the document marker lines of text.
func markers(text []byte) int {
	n := 0
	for off := 0; off < len(text); {
		l := text[off:]
		if i := bytes.IndexByte(l, '\n'); i >= 0 {
			l = l[:i+1]
		}
		if marker(l, "---") || marker(l, "...") {
			n++
		}
		off += len(l)
	}
	return n
}

// editor carries one operation on one parsed source.
type editor struct {
	s      *source
	sp     spans
	layout layout
	full   Path
	marker string
	line   int
	// anchors knows which anchors some alias uses: a node carrying one is
	// shared, and editing it or below it would change every alias too.
	anchors *anchorIndex
	// moved describes anchors the edit moved to their first remaining alias.
	moved []string
	// reduced: the source is a reduced document (see reduce).
	reduced bool
}

// holder is where a node hangs: the value of the i-th pair of a mapping or
// the i-th item of a sequence (parent nil: the document root).
type holder struct {
	parent *yaml.Node
	i      int
}

func (h holder) node() *yaml.Node {
	if h.parent.Kind == yaml.MappingNode {
		return h.parent.Content[2*h.i+1]
	}
	return h.parent.Content[h.i]
}

// parsed is a source with its documents decoded to plain values.
type parsed struct {
	s    *source
	vals []any
	// cands, for a reduced document, holds the layout candidates of what
	// was elided (see reduce).
	cands *layoutCands
}

// parseValues parses src once, for both the node tree and the values.
func parseValues(src []byte) (*parsed, error) {
	s, err := parse(src)
	if err != nil {
		return nil, err
	}
	vals := make([]any, len(s.docs))
	for i, d := range s.docs {
		if vals[i], err = Decode(d); err != nil {
			return nil, err
		}
	}
	return &parsed{s: s, vals: vals}, nil
}

// apply1 carries out op on p and returns the result parsed (the parse that
// verified it, and the next op's input). p's values are used up.
func apply1(p *parsed, doc int, base Path, op Op) (*parsed, Change, error) {
	ch := Change{Op: op}
	s, src := p.s, p.s.src
	if doc < 0 || doc >= len(s.docs) {
		return nil, ch, fmt.Errorf("document %d does not exist (the file has %d)", doc+1, len(s.docs))
	}
	root := s.docs[doc]
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, ch, fmt.Errorf("document %d is not a mapping", doc+1)
	}
	full := append(append(Path{}, base...), op.Path...)
	if err := checkText(full, op.Value); err != nil {
		return nil, ch, err
	}
	before := p.vals
	ch.Old, ch.Existed = Lookup(before[doc], full)
	if op.Unset && !ch.Existed {
		return p, ch, nil
	}
	if !op.Unset && ch.Existed && equal(normalize(ch.Old), normalize(op.Value)) {
		return p, ch, nil
	}
	sp, err := s.spansOf(root)
	if err != nil {
		return nil, ch, err
	}
	e := &editor{s: s, sp: sp, layout: layoutOf(root), full: full, anchors: indexAnchors(root)}
	if p.cands != nil {
		l, ok := p.cands.layout(root)
		if !ok {
			return nil, ch, errNotReduced
		}
		e.layout, e.reduced = l, true
	}
	e.layout.rank, e.layout.base = op.Rank, len(base)
	e.layout.blockOK = len(src) == 0 || src[len(src)-1] == '\n'
	out, err := e.run(root.Content[0], op)
	if err != nil {
		return nil, ch, err
	}
	// What the edit should give: setIn copies only the maps along the
	// path, so before (and ch.Old) stay as they were.
	want := append([]any(nil), before...)
	want[doc] = setIn(want[doc], full, op)
	// The node tree of src is not needed any more: let the collector have
	// it (and the spans) while the result is parsed, rather than holding
	// two trees of a large document at once.
	moved, marker, line := e.moved, e.marker, e.line
	cands := p.cands
	s.docs, p.s, e, sp, root = nil, nil, nil, nil, nil
	// Check the result: every document decodes as before except the one
	// value that was asked for.
	afterP, err := parseValues(out)
	if err != nil {
		if len(moved) > 0 {
			return nil, ch, verifyRefusal{&PathError{full, fmt.Sprintf("removing it drops anchors other places use, and moving them (%s) would not give a valid file (%v); move the anchors by hand first", strings.Join(moved, ", "), err)}}
		}
		return nil, ch, fmt.Errorf("%w: %v", ErrVerify, err)
	}
	after := afterP.vals
	if len(after) != len(want) || !sameValues(want, after) {
		if len(moved) > 0 {
			return nil, ch, verifyRefusal{&PathError{full, fmt.Sprintf("removing it drops anchors other places use, and moving them (%s) would change other values; move the anchors by hand first", strings.Join(moved, ", "))}}
		}
		return nil, ch, fmt.Errorf("%s: %w; the file was left unchanged (please report this with the file)", full, ErrVerify)
	}
	afterP.cands = cands
	ch.Changed = true
	ch.Moved = moved
	ch.Marker = marker
	ch.Line = line
	return afterP, ch, nil
}

func (e *editor) run(top *yaml.Node, op Op) ([]byte, error) {
	node := top
	h := holder{}
	for i, el := range e.full {
		last := i == len(e.full)-1
		if node.Kind == yaml.AliasNode {
			return nil, &PathError{e.full[:i], fmt.Sprintf("is an alias of &%s; editing through it would change every place that uses the anchor, edit the anchor itself", node.Value)}
		}
		if node.Anchor != "" && e.anchors.aliased(node.Anchor) {
			return nil, &PathError{e.full[:i], fmt.Sprintf("carries the anchor &%s that aliases elsewhere share; editing below it would change every alias too, so this one needs a hand edit", node.Anchor)}
		}
		rest := e.full[i:]
		switch key := el.(type) {
		case string:
			switch {
			case node.Kind == yaml.MappingNode:
				if e.complexKeys(node) {
					return nil, &PathError{e.full[:i], "is a map written with explicit (?) or non-scalar keys, which this editor does not change"}
				}
				j := findKey(node, key)
				if j < 0 && sameTextKey(node, key) {
					return nil, &PathError{e.full[:i+1], "exists as a key that is not a string (a number or bool); Helm sees it as the same key, so write it as a string by hand first"}
				}
				if j < 0 {
					if op.Unset {
						return nil, &PathError{e.full[:i+1], "comes from a YAML merge key (<<) or an alias; it cannot be removed here, edit the merged anchor"}
					}
					if !last && mergedKey(node, key) {
						return nil, &PathError{e.full[:i+1], "comes from a YAML merge key (<<); setting below it here would hide the rest of the merged map, edit the merged anchor instead"}
					}
					return e.insertKey(node, h, key, build(rest[1:], op.Value), e.full[:i+1])
				}
				if last {
					if op.Unset {
						return e.deletePair(node, h, j)
					}
					return e.replace(holder{node, j}, op.Value)
				}
				h, node = holder{node, j}, node.Content[2*j+1]
			case isNull(node):
				return e.replace(h, build(rest, op.Value))
			default:
				return nil, &PathError{e.full[:i], fmt.Sprintf("is %s, not a map: cannot set %s below it (unset it first if you mean to replace it)", describe(node), e.full)}
			}
		case int:
			switch {
			case node.Kind == yaml.SequenceNode:
				if key >= len(node.Content) {
					items := make([]any, key-len(node.Content)+1)
					items[len(items)-1] = build(rest[1:], op.Value)
					return e.appendItems(node, h, items)
				}
				if last {
					if op.Unset {
						return e.deleteItem(node, h, key)
					}
					return e.replace(holder{node, key}, op.Value)
				}
				h, node = holder{node, key}, node.Content[key]
			case isNull(node):
				return e.replace(h, build(rest, op.Value))
			default:
				return nil, &PathError{e.full[:i], fmt.Sprintf("is %s, not a list: cannot set %s below it", describe(node), e.full)}
			}
		default:
			return nil, fmt.Errorf("path element %v of %s is neither a key nor an index", el, e.full)
		}
	}
	return nil, &PathError{e.full, "empty path"}
}

// scalarKey is the scalar a key node stands for: itself, or for an alias
// used as a key (`*app :`) the scalar its anchor names. nil for any other
// key.
func scalarKey(k *yaml.Node) *yaml.Node {
	if k.Kind == yaml.AliasNode && k.Alias != nil {
		k = k.Alias
	}
	if k.Kind != yaml.ScalarNode {
		return nil
	}
	return k
}

// findKey returns the index of the pair whose key is the string key
// (written, or through an alias).
func findKey(m *yaml.Node, key string) int {
	for j := 0; j+1 < len(m.Content); j += 2 {
		k := scalarKey(m.Content[j])
		if k != nil && k.Value == key && k.ShortTag() == "!!str" {
			return j / 2
		}
	}
	return -1
}

// sameTextKey reports whether m has a non-string key spelled like key
// (9000: as opposed to "9000":).
func sameTextKey(m *yaml.Node, key string) bool {
	for j := 0; j+1 < len(m.Content); j += 2 {
		k := scalarKey(m.Content[j])
		if k != nil && k.Value == key && k.ShortTag() != "!!str" {
			return true
		}
	}
	return false
}

func mergedKey(m *yaml.Node, key string) bool {
	for j := 0; j+1 < len(m.Content); j += 2 {
		if m.Content[j].Tag == "!!merge" {
			var v map[string]any
			if m.Decode(&v) == nil {
				_, ok := v[key]
				return ok
			}
		}
	}
	return false
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.ScalarNode:
		return fmt.Sprintf("the %s %q (line %d)", strings.TrimPrefix(n.ShortTag(), "!!"), n.Value, n.Line)
	case yaml.SequenceNode:
		return fmt.Sprintf("a list (line %d)", n.Line)
	case yaml.MappingNode:
		return fmt.Sprintf("a map (line %d)", n.Line)
	}
	return fmt.Sprintf("an alias (line %d)", n.Line)
}

// build nests v under the rest of a path: maps for keys, lists (padded with
// nulls, as Helm pads them) for indexes.
func build(rest Path, v any) any {
	if len(rest) == 0 {
		return v
	}
	inner := build(rest[1:], v)
	switch k := rest[0].(type) {
	case int:
		l := make([]any, k+1)
		l[k] = inner
		return l
	default:
		return map[string]any{fmt.Sprint(k): inner}
	}
}

// noteMarker remembers an image-automation marker on the lines [from, to].
func (e *editor) noteMarker(from, to int) {
	text := string(e.s.src[e.s.lineStart(from):e.s.lineEnd(to)])
	if i := strings.Index(text, "$imagepolicy"); i >= 0 {
		m := text[strings.LastIndex(text[:i], "#")+1:]
		if j := strings.Index(m, "}"); j >= 0 {
			m = m[:j+1]
		}
		e.marker = strings.TrimSpace(m)
	}
}

func (e *editor) lines(lines []string) string { return strings.Join(lines, e.s.eol) }

// replaced is the value replace writes over, and what the new value
// keeps of it.
type replaced struct {
	h  holder
	n  *yaml.Node
	sp span
	// anchor stays on the value that replaces it (nothing aliases it, or
	// the edit was refused); prop is its text ("&a "); a tag does not stay,
	// it may not fit.
	anchor, prop string
	// quoted: a string keeps quotes rather than becoming a literal block.
	quoted bool
}

// replace writes v as the value held at h: in a flow collection, as the
// value of a block map key, or as a block sequence item.
func (e *editor) replace(h holder, v any) ([]byte, error) {
	n := h.node()
	if n.Anchor != "" && e.anchors.aliased(n.Anchor) {
		return nil, &PathError{e.full, fmt.Sprintf("carries the anchor &%s, which the aliases on line %s share; changing it here would change them too, so edit it by hand", n.Anchor, aliasLines(e.anchors.aliases[n.Anchor]))}
	}
	r := replaced{h: h, n: n, sp: e.sp[n], anchor: n.Anchor, quoted: n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0}
	if r.anchor != "" {
		r.prop = "&" + r.anchor + " "
	}
	p := h.parent
	from := r.sp.start
	if p.Kind == yaml.MappingNode {
		from = e.sp[p.Content[2*h.i]].start
	}
	e.noteMarker(from, r.sp.end)
	pflow := p.Style&yaml.FlowStyle != 0 || e.sp[p].inFlow
	// A flow collection stays a flow collection, except the empty `{}` or
	// `[]` placeholder, which people write for "nothing yet".
	keepFlow := n.Style&yaml.FlowStyle != 0 && len(n.Content) > 0 && isCollection(v)
	switch {
	case pflow || keepFlow:
		return e.replaceFlow(r, v, pflow)
	case p.Kind == yaml.MappingNode:
		return e.replaceMapValue(r, v)
	}
	return e.replaceItem(r, v)
}

// replaceFlow writes v as flow text, in a flow collection (pflow) or over
// a flow collection that stays one.
func (e *editor) replaceFlow(r replaced, v any, pflow bool) ([]byte, error) {
	text, err := e.layout.flowText(v, r.n.Style, e.full)
	if err != nil {
		return nil, err
	}
	p := r.h.parent
	if p.Kind == yaml.MappingNode && isNull(r.n) && r.n.Value == "" && r.anchor == "" && pflow {
		// A flow map key without a value ({y} or {y: }) has no text to
		// replace: write the value after the key (and its colon).
		keyEnd := e.sp[p.Content[2*r.h.i]].end
		if colon := e.s.colonAfter(keyEnd); colon != keyEnd {
			if colon < len(e.s.src) && e.s.src[colon] == ' ' {
				return e.change(colon+1, colon+1, text, "")
			}
			return e.change(colon, colon, " "+text, "")
		}
		return e.change(keyEnd, keyEnd, ": "+text, "")
	}
	return e.change(r.sp.start, r.sp.end, r.prop+text, r.anchor)
}

// replaceMapValue writes v as the value of a block map key: a literal
// block for a multi-line string, inline for a scalar, else a block below
// the key.
func (e *editor) replaceMapValue(r replaced, v any) ([]byte, error) {
	n, sp := r.n, r.sp
	key := r.h.parent.Content[2*r.h.i]
	colon := e.s.colonAfter(e.sp[key].end)
	if s, ok := v.(string); ok && !r.quoted {
		if head, lines, ok := e.layout.literal(s, key.Column-1+e.layout.unit); ok {
			return e.change(colon, sp.end, " "+r.prop+head+e.s.eol+e.lines(lines), r.anchor)
		}
	}
	if !isCollection(v) || isEmptyCollection(v) {
		text, err := inlineText(v, n.Style)
		if err != nil {
			return nil, err
		}
		blockOld := n.Kind != yaml.ScalarNode || n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 || (isNull(n) && sp.end == sp.start)
		if blockOld || n.Kind == yaml.AliasNode {
			return e.change(colon, sp.end, " "+r.prop+text, r.anchor)
		}
		return e.change(sp.start, sp.end, r.prop+text, r.anchor)
	}
	return e.replaceMapBlock(r, key, colon, v)
}

// replaceMapBlock writes collection v as a block below key (whose colon
// is at colon).
func (e *editor) replaceMapBlock(r replaced, key *yaml.Node, colon int, v any) ([]byte, error) {
	sp := r.sp
	indent := key.Column - 1 + e.layout.unit
	if _, ok := v.([]any); ok {
		indent = key.Column - 1 + e.layout.seq
	}
	lines, err := e.layout.blockLines(v, indent, e.full)
	if err != nil {
		return nil, err
	}
	prop := ""
	if r.anchor != "" {
		prop = " &" + r.anchor
	}
	if eol := e.s.lineEnd(colon); sp.end <= eol {
		// The old value sat on the key's line: drop it, but keep a
		// comment there on the key's line, and start the block below.
		cut := sp.end
		for cut < eol && (e.s.src[cut] == ' ' || e.s.src[cut] == '\t') && !bytes.HasPrefix(e.s.src[cut:], []byte(" #")) {
			cut++
		}
		tail := string(e.s.src[cut:eol])
		return e.change(colon, eol, prop+prefixSpace(tail)+e.s.eol+e.lines(lines), r.anchor)
	}
	return e.change(colon, sp.end, prop+e.s.eol+e.lines(lines), r.anchor)
}

// replaceItem writes v as an item of a block sequence.
func (e *editor) replaceItem(r replaced, v any) ([]byte, error) {
	sp := r.sp
	lead := ""
	if sp.start > 0 && e.s.src[sp.start-1] == '-' {
		lead = " " // an empty item ("-"): its position is right after the dash
	}
	indent := r.h.parent.Column - 1 + 2
	if s, ok := v.(string); ok && !r.quoted {
		if head, lines, ok := e.layout.literal(s, indent); ok {
			return e.change(sp.start, sp.end, lead+r.prop+head+e.s.eol+e.lines(lines), r.anchor)
		}
	}
	if !isCollection(v) || isEmptyCollection(v) {
		text, err := inlineText(v, r.n.Style)
		if err != nil {
			return nil, err
		}
		return e.change(sp.start, sp.end, lead+r.prop+text, r.anchor)
	}
	lines, err := e.layout.blockLines(v, indent, e.full)
	if err != nil {
		return nil, err
	}
	if r.anchor != "" {
		return e.change(sp.start, sp.end, lead+"&"+r.anchor+e.s.eol+e.lines(lines), r.anchor)
	}
	lines[0] = lines[0][indent:]
	return e.change(sp.start, sp.end, lead+e.lines(lines), r.anchor)
}

func aliasLines(aliases []*yaml.Node) string {
	l := make([]string, len(aliases))
	for i, a := range aliases {
		l[i] = strconv.Itoa(a.Line)
	}
	return strings.Join(l, ", ")
}

// insertKey adds key: v to mapping m (held at h).
func (e *editor) insertKey(m *yaml.Node, h holder, key string, v any, p Path) ([]byte, error) {
	if m.Style&yaml.FlowStyle != 0 {
		if len(m.Content) == 0 {
			if h.parent == nil {
				return nil, &PathError{e.full, "the document is an empty flow map"}
			}
			return e.replace(h, map[string]any{key: v})
		}
		val, err := e.layout.flowText(v, 0, p)
		if err != nil {
			return nil, err
		}
		end := e.sp[m.Content[len(m.Content)-1]].end
		return e.change(end, end, ", "+keyText(key)+": "+val, "")
	}
	last := m.Content[len(m.Content)-1]
	pos := e.s.lineEnd(e.sp[last].end)
	if err := e.blockAtEOF(last, pos); err != nil {
		return nil, err
	}
	if e.reduced && placeholderAfter(e.s.src, e.s.nextLine(pos), m.Content[0].Column-1) {
		return nil, errNotReduced
	}
	lines, err := e.layout.pairLines(key, v, m.Content[0].Column-1, p)
	if err != nil {
		return nil, err
	}
	return e.change(pos, pos, e.s.eol+e.lines(lines), "")
}

// appendItems adds items to the end of sequence seq (held at h).
func (e *editor) appendItems(seq *yaml.Node, h holder, items []any) ([]byte, error) {
	if seq.Style&yaml.FlowStyle != 0 || len(seq.Content) == 0 {
		if len(seq.Content) == 0 {
			if h.parent == nil {
				return nil, &PathError{e.full, "the document is an empty list"}
			}
			return e.replace(h, items)
		}
		var parts []string
		for _, it := range items {
			t, err := e.layout.flowText(it, 0, nil)
			if err != nil {
				return nil, err
			}
			parts = append(parts, t)
		}
		end := e.sp[seq.Content[len(seq.Content)-1]].end
		return e.change(end, end, ", "+strings.Join(parts, ", "), "")
	}
	pos := e.s.lineEnd(e.sp[seq.Content[len(seq.Content)-1]].end)
	if err := e.blockAtEOF(seq.Content[len(seq.Content)-1], pos); err != nil {
		return nil, err
	}
	lines, err := e.layout.blockLines(items, seq.Column-1, nil)
	if err != nil {
		return nil, err
	}
	return e.change(pos, pos, e.s.eol+e.lines(lines), "")
}

// cutLines removes whole lines [lineStart(from), end of the line holding
// to], keeping a missing final newline missing.
func (e *editor) cutLines(from, to int) ([]byte, error) {
	start := e.s.lineStart(from)
	end := e.s.nextLine(to)
	if end == len(e.s.src) && !bytes.HasSuffix(e.s.src, []byte("\n")) && start > e.s.bom {
		start -= len(e.s.eol)
		if start < 0 || !bytes.Equal(e.s.src[start:start+len(e.s.eol)], []byte(e.s.eol)) {
			start = e.s.lineStart(from) - 1
		}
	}
	return e.change(start, end, "", "")
}

func (e *editor) deletePair(m *yaml.Node, h holder, j int) ([]byte, error) {
	k, v := m.Content[2*j], m.Content[2*j+1]
	e.noteMarker(e.sp[k].start, e.sp[v].end)
	if len(m.Content) == 2 {
		if h.parent == nil {
			return nil, &PathError{e.full, "is the only key of the document"}
		}
		return e.replace(h, map[string]any{})
	}
	pairs := len(m.Content) / 2
	if m.Style&yaml.FlowStyle != 0 {
		if j+1 < pairs {
			return e.change(e.sp[k].start, e.sp[m.Content[2*j+2]].start, "", "")
		}
		return e.change(e.sp[m.Content[2*j-1]].end, e.sp[v].end, "", "")
	}
	if !e.s.onlySpaceBefore(e.sp[k].start) {
		// The first key of a map that is a list item shares the "- " line.
		if j+1 < pairs {
			return e.change(e.sp[k].start, e.sp[m.Content[2*j+2]].start, "", "")
		}
		return nil, &PathError{e.full, "cannot remove this key without reformatting its line"}
	}
	return e.cutLines(e.sp[k].start, e.sp[v].end)
}

func (e *editor) deleteItem(seq *yaml.Node, h holder, j int) ([]byte, error) {
	n := seq.Content[j]
	e.noteMarker(e.sp[n].start, e.sp[n].end)
	if len(seq.Content) == 1 {
		if h.parent == nil {
			return nil, &PathError{e.full, "is the only item of the document"}
		}
		return e.replace(h, []any{})
	}
	if seq.Style&yaml.FlowStyle != 0 {
		if j+1 < len(seq.Content) {
			return e.change(e.sp[n].start, e.sp[seq.Content[j+1]].start, "", "")
		}
		return e.change(e.sp[seq.Content[j-1]].end, e.sp[n].end, "", "")
	}
	dash := e.sp[n].start - 1
	for dash > 0 && e.s.src[dash] != '-' {
		dash--
	}
	if !e.s.onlySpaceBefore(dash) {
		return nil, &PathError{e.full, "cannot remove this item without reformatting its line"}
	}
	return e.cutLines(dash, e.sp[n].end)
}

// decodeAll decodes every document of src to plain Go values.
func decodeAll(src []byte) ([]any, error) {
	p, err := parseValues(src)
	if err != nil {
		return nil, err
	}
	return p.vals, nil
}

// stringKeys turns maps with some non-string keys (yaml.v3 decodes those to
// map[any]any) into map[string]any, spelling the non-string keys so that
// they can never equal a string key: paths only ever name string keys.
func stringKeys(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = stringKeys(x)
		}
		return t
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			if s, ok := k.(string); ok {
				out[s] = stringKeys(x)
			} else {
				out[fmt.Sprintf("\x00%T:%v", k, k)] = stringKeys(x)
			}
		}
		return out
	case []any:
		for i, x := range t {
			t[i] = stringKeys(x)
		}
		return t
	}
	return v
}

// Lookup finds the value at p in a decoded document (maps of string keys,
// []any lists): the value and whether it is there.
func Lookup(v any, p Path) (any, bool) {
	for _, el := range p {
		switch k := el.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = m[k]; !ok {
				return nil, false
			}
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil, false
			}
			v = l[k]
		}
	}
	return v, true
}

// setIn applies op at p to a decoded document, the way the byte edit
// should. The maps and lists along p are copied, not changed: values read
// from the document before (Document.Get, Change.Old) stay as they were.
func setIn(v any, p Path, op Op) any {
	if len(p) == 0 {
		return op.Value
	}
	switch k := p[0].(type) {
	case string:
		old, _ := v.(map[string]any)
		m := make(map[string]any, len(old)+1)
		for key, x := range old {
			m[key] = x
		}
		if len(p) == 1 && op.Unset {
			delete(m, k)
			return m
		}
		m[k] = setIn(m[k], p[1:], op)
		return m
	case int:
		old, _ := v.([]any)
		l := append(make([]any, 0, max(len(old), k+1)), old...)
		if len(p) == 1 && op.Unset {
			if k < len(l) {
				l = append(l[:k:k], l[k+1:]...)
			}
			return l
		}
		for len(l) <= k {
			l = append(l, nil)
		}
		l[k] = setIn(l[k], p[1:], op)
		return l
	}
	return v
}

// normalize makes decoded values comparable: every integer becomes int64,
// a whole float becomes int64 (JSON's 3 and YAML's 3 are the same value).
func normalize(v any) any {
	switch t := v.(type) {
	case int:
		return int64(t)
	case uint64:
		if t <= math.MaxInt64 {
			return int64(t)
		}
		return strconv.FormatUint(t, 10)
	case float64:
		if t == math.Trunc(t) && math.Abs(t) < 1<<53 {
			return int64(t)
		}
		return t
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = normalize(x)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[fmt.Sprintf("%T:%v", k, k)] = normalize(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = normalize(x)
		}
		return out
	}
	return v
}

func equal(a, b any) bool {
	if fa, ok := a.(float64); ok && math.IsNaN(fa) {
		fb, ok := b.(float64)
		return ok && math.IsNaN(fb)
	}
	return reflect.DeepEqual(a, b)
}

// Get returns the value at p in document doc of src. Only that document
// is decoded.
func Get(src []byte, doc int, p Path) (any, bool, error) {
	d, err := Open(src, doc)
	if err != nil {
		return nil, false, err
	}
	v, ok := d.Get(p)
	return v, ok, nil
}

func prefixSpace(comment string) string {
	comment = strings.TrimLeft(comment, " \t")
	if comment == "" {
		return ""
	}
	return " " + comment
}

// checkText refuses keys and strings that are not valid UTF-8: YAML text
// cannot hold them.
func checkText(p Path, v any) error {
	for _, el := range p {
		if k, ok := el.(string); ok && !utf8.ValidString(k) {
			return &PathError{p, "the key " + strconv.Quote(k) + " is not valid UTF-8"}
		}
	}
	switch t := v.(type) {
	case string:
		if !utf8.ValidString(t) {
			return &PathError{p, "the value " + strconv.Quote(t) + " is not valid UTF-8"}
		}
	case map[string]any:
		for k, x := range t {
			if err := checkText(append(append(Path{}, p...), k), x); err != nil {
				return err
			}
		}
	case []any:
		for i, x := range t {
			if err := checkText(append(append(Path{}, p...), i), x); err != nil {
				return err
			}
		}
	}
	return nil
}

// complexKeys reports whether m uses explicit keys ("? key") or keys that
// are null, collections or aliases of anything but a scalar: rare, and not
// worth the risk of getting their layout wrong. An alias of a scalar
// (`*app :`, common where one name is reused) is a key like any other.
func (e *editor) complexKeys(m *yaml.Node) bool {
	for j := 0; j+1 < len(m.Content); j += 2 {
		k := m.Content[j]
		if sk := scalarKey(k); sk == nil || sk.ShortTag() == "!!null" {
			return true
		}
		if k.Kind == yaml.AliasNode {
			continue
		}
		i := e.sp[k].start - 1
		for i >= 0 && (e.s.src[i] == ' ' || e.s.src[i] == '\t') {
			i--
		}
		if i >= 0 && e.s.src[i] == '?' {
			return true
		}
	}
	return false
}

// blockAtEOF refuses to add lines after a block scalar (| or >) that ends
// the file without a final newline: the line break the new line needs
// would become part of the scalar's value.
func (e *editor) blockAtEOF(n *yaml.Node, pos int) error {
	for len(n.Content) > 0 {
		n = n.Content[len(n.Content)-1]
	}
	// A block scalar whose indicator sits at column 1 on its own line
	// ("key:\n>") takes the next line at column 1 as its content.
	if n.Kind == yaml.ScalarNode && n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		i := e.sp[n].start
		for i < len(e.s.src) && e.s.src[i] != '|' && e.s.src[i] != '>' {
			i++
		}
		if i < len(e.s.src) && e.s.lineStart(i) == i {
			return &PathError{e.full, fmt.Sprintf("the value before it is a block scalar (| or >) at the start of line %d; indent it, then retry", e.s.lineOf(i))}
		}
	}
	if pos != len(e.s.src) || bytes.HasSuffix(e.s.src, []byte("\n")) {
		return nil
	}
	if n.Kind == yaml.ScalarNode && n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return &PathError{e.full, "the file ends in a block scalar (| or >) without a final newline; add one, then retry"}
	}
	return nil
}
