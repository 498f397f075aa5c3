package yamledit

import (
	"bytes"
	"sort"

	"gopkg.in/yaml.v3"
)

// Skimmed is a file whose large documents were cut down to a few
// top-level keys (Skim).
type Skimmed struct {
	// Text reads as the file would for those keys: the same documents, in
	// the same order, each with the same values at the keys kept.
	Text []byte
	// shifts are the placeholder lines of Text, with the lines each one
	// stands for beyond its own.
	shifts []lineShift
}

type lineShift struct{ line, extra int }

// Line turns a line of Text into the line of the file.
func (s *Skimmed) Line(line int) int {
	i := sort.Search(len(s.shifts), func(i int) bool { return s.shifts[i].line >= line })
	if i == 0 {
		return line
	}
	return line + s.shifts[i-1].extra
}

// Skim cuts every document of src of reduceMin bytes or more down to the
// top-level keys keep (their whole values), for a reader that needs only
// those (a document's apiVersion, kind and metadata, to find an object by
// name): the node tree of the rest is never built. What is cut is still
// parsed, piece by piece, so a syntax error anywhere is not skimmed over:
// ok is false then, or when nothing was cut, and the caller parses src.
func Skim(src []byte, keep ...string) (s *Skimmed, ok bool) {
	if len(src) < reduceMin || oddBreaks(src) {
		return nil, false
	}
	focus := map[string]any{}
	for _, k := range keep {
		focus[k] = nil
	}
	var out bytes.Buffer
	s = &Skimmed{}
	copied, extra := 0, 0
	cut := false
	for _, c := range docChunks(src) {
		if c.end-c.start < reduceMin {
			continue
		}
		red, err := reduce(src[c.start:c.end], 0, nil, focus, false)
		if err != nil {
			continue
		}
		var doc yaml.Node
		if yaml.Unmarshal(red.text, &doc) != nil || !red.shapeOK(&doc) {
			continue
		}
		if out.Cap() == 0 {
			out.Grow(len(src) / 4)
		}
		out.Write(src[copied:c.start])
		base := bytes.Count(out.Bytes(), []byte{'\n'})
		// The placeholders' lines, in the text as written so far.
		at := 0
		for _, run := range red.runs {
			j := bytes.Index(red.text[at:], run.ph)
			if j < 0 {
				return nil, false
			}
			j += at
			extra += run.lines - 1
			s.shifts = append(s.shifts, lineShift{base + bytes.Count(red.text[:j], []byte{'\n'}) + 1, extra})
			at = j + len(run.ph)
		}
		out.Write(red.text)
		copied = c.end
		cut = true
	}
	if !cut {
		return nil, false
	}
	out.Write(src[copied:])
	s.Text = out.Bytes()
	return s, true
}

// docChunks cuts src into its documents as findDoc does, in one pass; nil
// when the file needs a whole parse (directives, odd line breaks).
func docChunks(src []byte) []docChunk {
	var out []docChunk
	if !scanDocs(src, func(c docChunk) bool { out = append(out, c); return true }) {
		return nil
	}
	return out
}
