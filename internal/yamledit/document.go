package yamledit

import (
	"bytes"
	"fmt"
)

// Document is one document of a file, parsed once for everything a
// command reads from it (Get) and its edit (Apply): a large document is
// not parsed again for each question.
type Document struct {
	src []byte
	// chunk is where the document sits in src (ok: findDoc found it, and
	// text is the chunk alone); d is its index in text.
	chunk docChunk
	ok    bool
	text  []byte
	d     int
	// p is text parsed and decoded; nil until needed, and again once Apply
	// has used it up.
	p *parsed
	// red is set when the document was reduced (OpenFocused): p is then
	// the parse of red.text, and text is not made unless needed.
	red *reduction
}

func newDocument(src []byte, doc int) *Document {
	d := &Document{src: src, text: src, d: doc}
	if c, ok := findDoc(src, doc); ok {
		d.chunk, d.ok, d.text, d.d = c, true, nil, 0
	}
	return d
}

// fullText is the text of the document as the whole-tree path reads it.
func (d *Document) fullText() []byte {
	if d.text == nil {
		d.text = d.chunk.text(d.src)
	}
	return d.text
}

// Open parses document doc (0-based) of src; only that document is read
// (see Apply).
func Open(src []byte, doc int) (*Document, error) {
	d := newDocument(src, doc)
	if err := d.parse(); err != nil {
		return nil, err
	}
	if d.d < 0 || d.d >= len(d.p.vals) {
		return nil, fmt.Errorf("document %d does not exist (the file has %d)", doc+1, len(d.p.vals))
	}
	return d, nil
}

// OpenFocused is Open for a caller that reads (Get) and changes (Apply)
// only the values at the paths of focus below base, and anything above
// base: focus maps each key to the focus below it, and any other value
// (nil) stands for the whole value at that key. A large document is
// reduced to those paths (see reduce), so that its node tree is never
// built whole; Get must not be asked for anything else. Errors, and
// everything the reduction does not handle, take the whole-tree path, so
// the results are Open's.
func OpenFocused(src []byte, doc int, base Path, focus map[string]any) (*Document, error) {
	d := newDocument(src, doc)
	if d.ok && focus != nil && d.chunk.end-d.chunk.start >= reduceMin {
		if red, err := reduce(src[d.chunk.start:d.chunk.end], d.chunk.pad, base, focus, true); err == nil {
			if p, err := parseValues(red.text); err == nil && len(p.s.docs) == 1 && red.shapeOK(p.s.docs[0]) {
				p.cands = &layoutCands{units: red.units, seqs: red.seqs}
				d.p, d.red = p, red
				return d, nil
			}
		}
	}
	if err := d.parse(); err != nil {
		return nil, err
	}
	if d.d < 0 || d.d >= len(d.p.vals) {
		return nil, fmt.Errorf("document %d does not exist (the file has %d)", doc+1, len(d.p.vals))
	}
	return d, nil
}

func (d *Document) parse() error {
	if d.p != nil {
		return nil
	}
	p, err := parseValues(d.fullText())
	if err != nil {
		return err
	}
	d.p = p
	return nil
}

// Get returns the value at p in the document and whether it is there. The
// value is shared with the Document: do not change it.
func (d *Document) Get(p Path) (any, bool) {
	if d.parse() != nil || d.d < 0 || d.d >= len(d.p.vals) {
		return nil, false
	}
	return Lookup(d.p.vals[d.d], p)
}

// Apply carries out ops as the package's Apply does, starting from the
// parse Open made. Values returned by Get before stay as they were.
func (d *Document) Apply(base Path, ops []Op) ([]byte, []Change, error) {
	if d.red != nil {
		out, changes, err := d.applyReduced(base, ops)
		if err == nil {
			return out, changes, nil
		}
		// Whatever went wrong, the whole tree does it again, and says so
		// with the file's own lines if it goes wrong there too.
		d.red, d.p = nil, nil
	}
	text := d.fullText()
	changes := make([]Change, 0, len(ops))
	cur := d.p // the parse of text, carried from one op to the next
	d.p = nil  // apply1 uses its values up
	for _, op := range ops {
		if cur == nil {
			var err error
			if cur, err = parseValues(text); err != nil {
				return nil, nil, err
			}
		}
		next, ch, err := apply1(cur, d.d, base, op)
		if err != nil {
			return nil, nil, err
		}
		out := next.s.src
		// The edit must stay one document: apply1 checked that the chunk
		// still decodes to exactly one, and no marker line may creep in
		// either (a final "..." would still decode as one).
		if d.ok && markers(out) != markers(text) {
			return nil, nil, fmt.Errorf("%s: %w: the edit wrote a document marker line; the file was left unchanged (please report this with the file)", op.Path, ErrVerify)
		}
		text, cur = out, next
		changes = append(changes, ch)
	}
	if !d.ok {
		return text, changes, nil
	}
	if bytes.Equal(text, d.text) {
		return d.src, changes, nil
	}
	return d.chunk.splice(d.src, text), changes, nil
}

// applyReduced is Apply on the reduced text; the result is expanded into
// the file.
func (d *Document) applyReduced(base Path, ops []Op) ([]byte, []Change, error) {
	red := d.red
	text := red.text
	changes := make([]Change, 0, len(ops))
	cur := d.p
	d.p = nil
	for _, op := range ops {
		if cur == nil {
			return nil, nil, errNotReduced
		}
		next, ch, err := apply1(cur, 0, base, op)
		if err != nil {
			return nil, nil, err
		}
		out := next.s.src
		if markers(out) != markers(text) || len(ch.Moved) > 0 || !noPlaceholder(next.s.docs[0]) {
			return nil, nil, errNotReduced
		}
		if ch.Changed {
			ch.Line = red.origLine(out, ch.Line)
		}
		text, cur = out, next
		changes = append(changes, ch)
	}
	if bytes.Equal(text, red.text) {
		return d.src, changes, nil
	}
	c := d.chunk
	defer boundGarbage(len(d.src))()
	var w bytes.Buffer
	w.Grow(len(d.src) + len(text) - len(red.text) + 64)
	w.Write(d.src[:c.start])
	if err := red.expand(text[c.pad:], &w); err != nil {
		return nil, nil, err
	}
	w.Write(d.src[c.end:])
	return w.Bytes(), changes, nil
}
