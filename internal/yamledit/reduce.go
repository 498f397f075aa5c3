package yamledit

import (
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"slices"
	"strconv"

	"gopkg.in/yaml.v3"
)

// A yaml.v3 node tree costs about 15 times the text it stands for: the
// tree of a 20 MB values map alone is 300 MB. An edit needs the nodes of
// only a few keys, so a large document is reduced first: the entries of
// block mappings that no operation reads are elided, each run of them
// replaced by one comment line (a placeholder), and only the reduced text
// is parsed, edited and verified. The result is expanded again, each
// placeholder back to the bytes it stood for.
//
// What is elided is still checked, in pieces of a bounded size that are
// parsed and decoded and dropped: every byte is valid YAML, no key is
// defined twice (a hash of each key of the mapping, across pieces), and
// every scalar decodes, as the whole-tree path checks. Anything the line
// scanner below does not handle (flow collections, anchors and aliases in
// what would be elided, merge keys, explicit keys, tabs, quoted scalars
// that go on over several lines on the path) makes it give up, and the
// whole document is parsed as before; so does any error, so that error
// messages come from the whole tree with the file's own line numbers.

// Tunables; tests lower them to reduce small documents.
var (
	// reduceMin is the size of a document from which it is reduced.
	reduceMin = 1 << 20
	// elideMin is the smallest run of entries worth eliding.
	elideMin = 4 << 10
	// pieceMax is the size of the pieces elided text is checked in.
	pieceMax = 256 << 10
)

// errNotReduced says the reducer gave up; the caller parses the whole
// document.
var errNotReduced = errors.New("not reducible")

// placeholderTag starts every placeholder comment; a document that holds
// it already is not reduced.
const placeholderTag = "yamledit-elided-"

// elided is one run of entries replaced by a placeholder.
type elided struct {
	start, end int // in the original text
	lines      int // line breaks in text[start:end]
	ph         []byte
}

// reduction is a reduced document and what it takes to expand it.
type reduction struct {
	orig  []byte // the document's own bytes (no padding)
	text  []byte // the reduced text, padding included
	runs  []elided
	units map[int]bool // layout candidates in the elided text
	seqs  map[int]bool
	// shapes is what the reduced parse must show (see shapeOK).
	shapes []*mapShape
}

// focusKeep means "keep the whole value" in a focus.
type reducer struct {
	src    []byte
	out    bytes.Buffer
	copied int
	runs   []elided
	eol    string
	// decode: the elided pieces are decoded (duplicate keys, scalars), not
	// only parsed.
	decode      bool
	units, seqs map[int]bool
	seed        maphash.Seed
	pad         int
	// nl counts the line breaks of src[:nlOff] (see redLine).
	nl, nlOff int
	shapes    []*mapShape
}

// reduce reduces the document text (without padding; pad line breaks are
// put before it) so that below base only the paths of focus remain (a
// focus maps keys to their own focus; a value that is not a map keeps the
// whole value). Above base nothing is elided.
func reduce(text []byte, pad int, base Path, focus map[string]any, decode bool) (*reduction, error) {
	if bytes.Contains(text, []byte(placeholderTag)) || bytes.HasPrefix(text, []byte(utf8BOM)) {
		return nil, errNotReduced
	}
	defer boundGarbage(len(text))()
	r := &reducer{src: text, eol: "\n", decode: decode, units: map[int]bool{}, seqs: map[int]bool{}, seed: maphash.MakeSeed(), pad: pad}
	if i := bytes.IndexByte(text, '\n'); i > 0 && text[i-1] == '\r' {
		r.eol = "\r\n"
	}
	r.out.Grow(pad + 1<<16)
	for i := 0; i < pad; i++ {
		r.out.WriteByte('\n')
	}
	from, to, err := r.body()
	if err != nil {
		return nil, err
	}
	ind, ok := r.firstIndent(from, to)
	if !ok {
		return nil, errNotReduced
	}
	// Nest focus under base: above it every entry stays.
	f := any(focus)
	for i := len(base) - 1; i >= 0; i-- {
		k, ok := base[i].(string)
		if !ok {
			return nil, errNotReduced
		}
		f = map[string]any{k: f}
	}
	fm, _ := f.(map[string]any)
	if err := r.mapping(from, to, ind, fm, len(base), nil); err != nil {
		return nil, err
	}
	if len(r.runs) == 0 {
		return nil, errNotReduced
	}
	r.out.Write(text[r.copied:])
	return &reduction{orig: text, text: r.out.Bytes(), runs: r.runs, units: r.units, seqs: r.seqs, shapes: r.shapes}, nil
}

// line returns the line starting at off: its end (after the line break),
// its indentation in spaces, and what it holds.
type lineKind int

const (
	blankLine lineKind = iota
	commentLine
	contentLine
)

func (r *reducer) line(off int) (end, indent int, kind lineKind, err error) {
	s := r.src
	end = bytes.IndexByte(s[off:], '\n')
	if end < 0 {
		end = len(s)
	} else {
		end += off + 1
	}
	i := off
	for i < end && s[i] == ' ' {
		i++
	}
	indent = i - off
	j := i
	for j < end && (s[j] == ' ' || s[j] == '\t') {
		j++
	}
	switch {
	case j == end || s[j] == '\n' || s[j] == '\r':
		return end, indent, blankLine, nil
	case s[j] == '#':
		return end, indent, commentLine, nil
	case j != i:
		// A tab among the indentation.
		return end, indent, contentLine, errNotReduced
	}
	return end, indent, contentLine, nil
}

// body is the part of the document the root mapping is in: after a bare
// "---" line, before a "..." line.
func (r *reducer) body() (from, to int, err error) {
	s := r.src
	to = len(s)
	for off := 0; off < len(s); {
		end, _, kind, err := r.line(off)
		if err != nil {
			return 0, 0, err
		}
		l := s[off:end]
		switch {
		case marker(l, "---"):
			if off != from || len(bytes.TrimSpace(l)) != 3 {
				return 0, 0, errNotReduced
			}
			from = end
		case marker(l, "..."):
			return from, off, nil
		case kind == contentLine:
			// Markers can only start or end the document: look at its end.
			if i := bytes.LastIndex(s, []byte("\n...")); i >= 0 && marker(s[i+1:], "...") {
				to = i + 1
			}
			return from, to, nil
		}
		off = end
	}
	return 0, 0, errNotReduced
}

// firstIndent is the indentation of the first content line in [from, to).
func (r *reducer) firstIndent(from, to int) (int, bool) {
	for off := from; off < to; {
		end, ind, kind, err := r.line(off)
		if err != nil {
			return 0, false
		}
		if kind == contentLine {
			return ind, true
		}
		off = end
	}
	return 0, false
}

// entry is one key of a block mapping: text[start:end] (whole lines),
// its key, and where its value's lines start (after the key line) when the
// key line holds nothing but the key.
type entry struct {
	start, end int
	key        string
	nested     bool // the value is on the following lines
	valueFrom  int
}

// entries calls fn for each entry of the block mapping in [from, to) whose
// keys are indented by ind, with the next one known (fn gets last=true for
// the final entry).
func (r *reducer) entries(from, to, ind int, fn func(e entry, i int, last bool) error) error {
	var cur entry
	have := false
	n := 0
	for off := from; off < to; {
		end, indent, kind, err := r.line(off)
		if err != nil {
			return err
		}
		if end > to {
			end = to
		}
		if kind == contentLine {
			c := r.src[off+indent]
			switch {
			case indent < ind:
				return errNotReduced
			case indent == ind && !(c == '-' && (off+indent+1 >= end || isSpace(r.src[off+indent+1]))):
				if have {
					cur.end = off
					if err := fn(cur, n, false); err != nil {
						return err
					}
					n++
				}
				e, err := r.keyLine(off+indent, end)
				if err != nil {
					return err
				}
				e.start = off
				cur, have = e, true
			case !have:
				return errNotReduced
			}
		}
		off = end
	}
	if !have {
		return errNotReduced
	}
	cur.end = to
	return fn(cur, n, true)
}

// keyLine reads the key of the entry line text[at:end].
func (r *reducer) keyLine(at, end int) (entry, error) {
	s := r.src
	var e entry
	i := at
	switch c := s[i]; c {
	case '"', '\'':
		j := i + 1
		esc := false
		for ; j < end; j++ {
			if c == '"' && s[j] == '\\' {
				j++
				esc = true
				continue
			}
			if s[j] == c {
				if c == '\'' && j+1 < end && s[j+1] == '\'' {
					j++
					esc = true
					continue
				}
				break
			}
		}
		if j >= end {
			return e, errNotReduced
		}
		raw := s[i : j+1]
		if esc {
			var k string
			if yaml.Unmarshal(raw, &k) != nil {
				return e, errNotReduced
			}
			e.key = k
		} else {
			e.key = string(raw[1 : len(raw)-1])
		}
		i = j + 1
		for i < end && s[i] == ' ' {
			i++
		}
		if i >= end || s[i] != ':' {
			return e, errNotReduced
		}
	case '?', '&', '*', '!', '|', '>', '%', '@', '`', '[', '{', ']', '}', ',', '#', '-':
		if c != '-' {
			return e, errNotReduced
		}
		fallthrough
	default:
		j := i
		for ; j < end; j++ {
			if s[j] == ':' && (j+1 == end || isSpace(s[j+1])) {
				break
			}
			if s[j] == '#' && j > i && (s[j-1] == ' ' || s[j-1] == '\t') {
				return e, errNotReduced
			}
		}
		if j >= end {
			return e, errNotReduced
		}
		k := bytes.TrimRight(s[i:j], " ")
		if len(k) == 0 || string(k) == "<<" || c == '-' {
			return e, errNotReduced
		}
		e.key = string(k)
		i = j
	}
	// s[i] is the ':'.
	i++
	for i < end && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	if i == end || s[i] == '\n' || s[i] == '\r' || s[i] == '#' {
		e.nested, e.valueFrom = true, end
	} else if c := s[i]; c == '"' || c == '\'' {
		// A quoted value must end on its line: its next lines could look
		// like keys.
		if !closesOnLine(s[i:end], c) {
			return e, errNotReduced
		}
	}
	return e, nil
}

// closesOnLine reports whether the quoted scalar starting l ends on it.
func closesOnLine(l []byte, q byte) bool {
	for j := 1; j < len(l); j++ {
		switch {
		case q == '"' && l[j] == '\\':
			j++
		case l[j] == q:
			if q == '\'' && j+1 < len(l) && l[j+1] == '\'' {
				j++
				continue
			}
			return true
		}
	}
	return false
}

// mapping reduces the block mapping in [from, to) with keys indented by
// ind: entries not in focus are elided (not above base: keepAbove > 0),
// except the first and the last, which are reduced with an empty focus:
// the editor sees the map's true bounds and never its only key (and
// insertKey refuses to add a key before a run that became the map's end).
// path is the mapping's path from the root, for the structure check.
func (r *reducer) mapping(from, to, ind int, focus map[string]any, keepAbove int, path []string) error {
	var keys, runKeys []uint64
	run := -1 // start of the pending run of elidable entries
	runEnd := 0
	exp := &mapShape{path: path}
	r.shapes = append(r.shapes, exp)
	flush := func() error {
		if run < 0 {
			return nil
		}
		start, end := run, runEnd
		run = -1
		if end-start < elideMin {
			// Kept as it is.
			keys = append(keys, runKeys...)
			runKeys = runKeys[:0]
			return r.keptRun(start, end, ind, exp)
		}
		runKeys = runKeys[:0]
		return r.elide(start, end, ind, &keys)
	}
	visit := func(e entry, keep bool) error {
		if !keep {
			if run < 0 {
				run = e.start
			}
			runEnd = e.end
			runKeys = append(runKeys, r.hashKey(yaml.ScalarNode, e.key))
			return nil
		}
		if err := flush(); err != nil {
			return err
		}
		keys = append(keys, r.hashKey(yaml.ScalarNode, e.key))
		exp.keys = append(exp.keys, keyAt{e.key, r.redLine(e.start)})
		f, inFocus := focus[e.key]
		sub, isMap := f.(map[string]any)
		switch {
		case inFocus && !isMap:
			return nil // kept whole
		case !inFocus && keepAbove > 0:
			return nil
		case !inFocus:
			sub = nil
		}
		if !e.nested {
			return nil
		}
		ci, ok := r.firstIndent(e.valueFrom, e.end)
		if !ok || ci <= ind || r.src[r.lineContent(e.valueFrom, e.end)] == '-' {
			return nil // null, a list or something else: kept whole
		}
		return r.mapping(e.valueFrom, e.end, ci, sub, max(keepAbove-1, 0), append(slices.Clip(path), e.key))
	}
	// Each entry is decided once the next is known: the last one stays.
	var prev entry
	prevKeep := false
	err := r.entries(from, to, ind, func(e entry, i int, last bool) error {
		if i > 0 {
			if err := visit(prev, prevKeep); err != nil {
				return err
			}
		}
		_, inFocus := focus[e.key]
		if last {
			return visit(e, true)
		}
		prev, prevKeep = e, i == 0 || inFocus || keepAbove > 0
		return nil
	})
	if err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	slices.Sort(keys)
	for i := 1; i < len(keys); i++ {
		if keys[i] == keys[i-1] {
			// A duplicate key, or two keys of one hash: the whole tree
			// says which.
			return errNotReduced
		}
	}
	return nil
}

// keptRun records the entries of a run too short to elide, which stay as
// they are.
func (r *reducer) keptRun(start, end, ind int, exp *mapShape) error {
	var ks []keyAt
	err := r.entries(start, end, ind, func(e entry, _ int, _ bool) error {
		ks = append(ks, keyAt{e.key, r.redLine(e.start)})
		return nil
	})
	exp.keys = append(exp.keys, ks...)
	return err
}

// mapShape is what the reduced parse must show of one reduced mapping:
// the keys that stay, at their lines.
type mapShape struct {
	path []string
	keys []keyAt
}

type keyAt struct {
	key  string
	line int
}

// redLine is the line of the reduced text that the original offset off
// lands on; off only grows from call to call, and no run ends after it.
func (r *reducer) redLine(off int) int {
	r.nl += bytes.Count(r.src[r.nlOff:off], []byte{'\n'})
	r.nlOff = off
	line := r.pad + 1 + r.nl
	for _, run := range r.runs {
		line -= run.lines - 1
	}
	return line
}

// shapeOK checks the reduced parse against what the scanner saw: every
// reduced mapping holds the keys it kept, at their lines, and no
// placeholder ended up inside a scalar. Anything else means the scanner
// misread the text (a scalar or flow collection going on over lines it
// took for keys), and the reduction is not used.
func (red *reduction) shapeOK(doc *yaml.Node) bool {
	if len(doc.Content) != 1 || !noPlaceholder(doc) {
		return false
	}
	for _, sh := range red.shapes {
		m := doc.Content[0]
		for _, k := range sh.path {
			j := findKey(m, k)
			if m.Kind != yaml.MappingNode || j < 0 {
				return false
			}
			m = m.Content[2*j+1]
		}
		if m.Kind != yaml.MappingNode || len(m.Content) != 2*len(sh.keys) {
			return false
		}
		for i, k := range sh.keys {
			kn := m.Content[2*i]
			if kn.Kind != yaml.ScalarNode || kn.Value != k.key || kn.Line != k.line {
				return false
			}
		}
	}
	return true
}

// noPlaceholder reports whether no scalar under n holds a placeholder.
func noPlaceholder(n *yaml.Node) bool {
	if n.Kind == yaml.ScalarNode && bytes.Contains([]byte(n.Value), []byte(placeholderTag)) {
		return false
	}
	for _, c := range n.Content {
		if !noPlaceholder(c) {
			return false
		}
	}
	return true
}

// lineContent is the offset of the first content character in [from, to).
func (r *reducer) lineContent(from, to int) int {
	for off := from; off < to; {
		end, ind, kind, _ := r.line(off)
		if kind == contentLine {
			return off + ind
		}
		off = end
	}
	return from
}

func (r *reducer) hashKey(k yaml.Kind, v string) uint64 {
	var h maphash.Hash
	h.SetSeed(r.seed)
	h.WriteByte(byte(k))
	h.WriteString(v)
	return h.Sum64()
}

// elide checks the entries text[start:end] (of a mapping indented by ind)
// and replaces them by a placeholder.
func (r *reducer) elide(start, end, ind int, keys *[]uint64) error {
	// Pieces end at entry boundaries once they reach pieceMax.
	p := start
	err := r.entries(start, end, ind, func(e entry, _ int, last bool) error {
		if e.end-p >= pieceMax || last {
			if err := r.check(r.src[p:e.end], ind, keys); err != nil {
				return err
			}
			p = e.end
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.out.Write(r.src[r.copied:start])
	ph := fmt.Appendf(nil, "%*s# %s%d%s", ind, "", placeholderTag, len(r.runs), r.eol)
	r.out.Write(ph)
	r.copied = end
	r.runs = append(r.runs, elided{start: start, end: end, lines: bytes.Count(r.src[start:end], []byte{'\n'}), ph: ph})
	return nil
}

// check parses and decodes one piece of elided entries and drops it.
func (r *reducer) check(piece []byte, ind int, keys *[]uint64) error {
	dec := yaml.NewDecoder(bytes.NewReader(piece))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		return errNotReduced
	}
	var more yaml.Node
	if dec.Decode(&more) != io.EOF {
		return errNotReduced
	}
	if len(doc.Content) != 1 {
		return errNotReduced
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode || m.Style&yaml.FlowStyle != 0 || m.Column != ind+1 {
		return errNotReduced
	}
	if !plainTree(m) {
		return errNotReduced
	}
	if r.decode {
		if _, err := Decode(&doc); err != nil {
			return errNotReduced
		}
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		*keys = append(*keys, r.hashKey(k.Kind, k.Value))
	}
	layoutCandidates(&doc, r.units, r.seqs)
	return nil
}

// plainTree reports whether n has no anchors, aliases or merge keys: an
// elided part must not be shared with what stays.
func plainTree(n *yaml.Node) bool {
	if n.Anchor != "" || n.Kind == yaml.AliasNode || n.Tag == "!!merge" {
		return false
	}
	for _, c := range n.Content {
		if !plainTree(c) {
			return false
		}
	}
	return true
}

// expand puts the elided bytes back into an edited reduced text (without
// its padding), or fails when a placeholder is not where it can be told
// apart: then the edit touched what was elided.
func (red *reduction) expand(edited []byte, w *bytes.Buffer) error {
	at := 0
	for i, run := range red.runs {
		j := bytes.Index(edited[at:], run.ph)
		if j < 0 {
			return errNotReduced
		}
		j += at
		if j > 0 && edited[j-1] != '\n' {
			return errNotReduced
		}
		// The placeholder must appear once.
		if bytes.Contains(edited[j+len(run.ph):], []byte(placeholderTag+strconv.Itoa(i)+red.eolOf(run))) {
			return errNotReduced
		}
		w.Write(edited[at:j])
		w.Write(red.orig[run.start:run.end])
		at = j + len(run.ph)
	}
	if bytes.Contains(edited[at:], []byte(placeholderTag)) {
		return errNotReduced
	}
	w.Write(edited[at:])
	return nil
}

func (red *reduction) eolOf(run elided) string {
	if bytes.HasSuffix(run.ph, []byte("\r\n")) {
		return "\r\n"
	}
	return "\n"
}

// origLine turns a line of an edited reduced text into the line of the
// expanded one.
func (red *reduction) origLine(edited []byte, line int) int {
	out := line
	at := 0
	for _, run := range red.runs {
		j := bytes.Index(edited[at:], run.ph)
		if j < 0 {
			break
		}
		j += at
		if bytes.Count(edited[:j], []byte{'\n'})+1 >= line {
			break
		}
		out += run.lines - 1
		at = j + len(run.ph)
	}
	return out
}

// layoutCandidates collects the indentation units and sequence offsets
// layoutOf would pick from under n.
func layoutCandidates(n *yaml.Node, units, seqs map[int]bool) {
	blockIndents(n, func(unit, seq int) {
		if unit > 0 {
			units[unit] = true
		}
		if seq >= 0 {
			seqs[seq] = true
		}
	})
}

// blockIndents calls f, depth first in document order, for each value of
// a block map under n that starts on a line below its key: unit is how
// much deeper a nested map's first key sits than the key (0: not a map,
// or not deeper), seq how far right of the key a list's dash sits (-1: not
// a list, or left of it).
func blockIndents(n *yaml.Node, f func(unit, seq int)) {
	if n.Kind == yaml.MappingNode && n.Style&yaml.FlowStyle == 0 {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Style&yaml.FlowStyle != 0 || v.Line == k.Line {
				continue
			}
			switch v.Kind {
			case yaml.MappingNode:
				if len(v.Content) > 0 && v.Content[0].Column > k.Column {
					f(v.Content[0].Column-k.Column, -1)
				}
			case yaml.SequenceNode:
				if v.Column >= k.Column {
					f(0, v.Column-k.Column)
				}
			}
		}
	}
	for _, c := range n.Content {
		blockIndents(c, f)
	}
}

// layoutCands are the layout candidates of the elided text of a reduced
// document.
type layoutCands struct {
	units, seqs map[int]bool
}

// layout is layoutOf for a reduced document: layoutOf takes the first
// candidate in the document, which cannot be told from a reduced one, so
// the candidates (elided and reduced) must all agree; ok is false when
// they do not, and the whole tree decides.
func (c *layoutCands) layout(doc *yaml.Node) (layout, bool) {
	units, seqs := map[int]bool{}, map[int]bool{}
	for u := range c.units {
		units[u] = true
	}
	for s := range c.seqs {
		seqs[s] = true
	}
	layoutCandidates(doc, units, seqs)
	if len(units) > 1 || len(seqs) > 1 {
		return layout{}, false
	}
	l := layout{unit: 2, seq: -1}
	for u := range units {
		l.unit = u
	}
	for s := range seqs {
		l.seq = s
	}
	if l.seq < 0 {
		l.seq = l.unit
	}
	return l, true
}

// placeholderAfter reports whether, after the line ending at pos, only
// blank lines and comments come before a placeholder indented by ind: a
// key added at pos would go before entries that were elided.
func placeholderAfter(src []byte, pos, ind int) bool {
	ph := []byte("# " + placeholderTag)
	for off := pos; off < len(src); {
		end := bytes.IndexByte(src[off:], '\n')
		if end < 0 {
			end = len(src)
		} else {
			end += off + 1
		}
		l := bytes.TrimLeft(src[off:end], " ")
		switch {
		case bytes.HasPrefix(l, ph):
			return end-off-len(l) == ind
		case len(bytes.TrimSpace(l)) == 0, l[0] == '#':
		default:
			return false
		}
		off = end
	}
	return false
}
