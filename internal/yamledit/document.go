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
}

func newDocument(src []byte, doc int) *Document {
	d := &Document{src: src, text: src, d: doc}
	if c, ok := findDoc(src, doc); ok {
		d.chunk, d.ok, d.text, d.d = c, true, c.text(src), 0
	}
	return d
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

func (d *Document) parse() error {
	if d.p != nil {
		return nil
	}
	p, err := parseValues(d.text)
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
	text := d.text
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
