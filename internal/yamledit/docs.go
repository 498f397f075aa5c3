package yamledit

import (
	"bytes"
)

// A large file (a bundle of rendered manifests, tens of MB) is edited one
// document at a time: parsing and verifying the whole file for every
// operation took minutes. YAML forbids a document marker (--- or ... at
// the start of a line) inside any value, so the lines that start with one
// cut the file into its documents without parsing it. Only the edited
// document is parsed, edited and verified; every other byte of the file is
// copied as it was.

// docChunk is one document of a file: src[start:end], and pad, the number
// of lines before start. The chunk is parsed behind pad empty lines, so
// that yaml.v3 reports the file's own line numbers.
type docChunk struct {
	start, end, pad int
}

// findDoc locates document doc (0-based, as yaml.v3 counts them) of src.
// ok is false when the file has directives (%YAML, %TAG), which belong to
// the document after them and make a lone chunk read differently, or line
// breaks other than \n and \r\n (see oddBreaks); those files are handled
// whole.
func findDoc(src []byte, doc int) (docChunk, bool) {
	if oddBreaks(src) {
		return docChunk{}, false
	}
	var found docChunk
	n, ok := 0, false
	plain := scanDocs(src, func(c docChunk) bool {
		if n == doc {
			found, ok = c, true
			return false
		}
		n++
		return true
	})
	// Fewer documents than asked: let the whole-file path say so.
	return found, plain && ok
}

// scanDocs calls yield with each document of src, in order, until yield
// returns false; it returns false when it meets a directive (%YAML, %TAG)
// before that, as then no chunk reads as it does in the file.
func scanDocs(src []byte, yield func(docChunk) bool) bool {
	seg, segLine := 0, 0
	explicit, content := false, false
	line := 0
	// closeSeg ends the document that runs to end; false to stop.
	closeSeg := func(end int) bool {
		if explicit || content {
			return yield(docChunk{seg, end, segLine})
		}
		return true
	}
	for off := 0; off < len(src); line++ {
		next := bytes.IndexByte(src[off:], '\n')
		if next < 0 {
			next = len(src)
		} else {
			next += off + 1
		}
		l := src[off:next]
		if off == 0 {
			l = bytes.TrimPrefix(l, []byte(utf8BOM))
		}
		switch {
		case len(l) > 0 && l[0] == '%':
			return false
		case marker(l, "---"):
			if !closeSeg(off) {
				return true
			}
			seg, segLine, explicit, content = off, line, true, false
		case marker(l, "..."):
			if !closeSeg(next) {
				return true
			}
			seg, segLine, explicit, content = next, line+1, false, false
		case !content:
			t := bytes.TrimLeft(l, " \t\r\n")
			if len(t) > 0 && t[0] != '#' {
				content = true
			}
		}
		off = next
	}
	closeSeg(len(src))
	return true
}

// marker reports whether line l starts with the document marker m
// followed by a space, a tab or the end of the line.
func marker(l []byte, m string) bool {
	if !bytes.HasPrefix(l, []byte(m)) {
		return false
	}
	if len(l) == len(m) {
		return true
	}
	switch l[len(m)] {
	case ' ', '\t', '\r', '\n':
		return true
	}
	return false
}

// text returns the chunk as yaml.v3 should read it: pad line breaks, then
// the document's bytes.
func (c docChunk) text(src []byte) []byte {
	out := make([]byte, c.pad, c.pad+c.end-c.start)
	for i := range out {
		out[i] = '\n'
	}
	return append(out, src[c.start:c.end]...)
}

// splice puts an edited chunk text (as text returned it, padding and all)
// back into src.
func (c docChunk) splice(src, edited []byte) []byte {
	out := make([]byte, 0, len(src)-(c.end-c.start)+len(edited)-c.pad)
	out = append(out, src[:c.start]...)
	out = append(out, edited[c.pad:]...)
	return append(out, src[c.end:]...)
}

// oddBreaks reports whether src has line breaks that yaml.v3 counts and a
// cut at \n would miss: a lone \r, or NEL, LS or PS (libyaml, which
// yaml.v3 is a port of, breaks lines at all of them).
func oddBreaks(src []byte) bool {
	for _, b := range []string{"\u0085", "\u2028", "\u2029"} {
		if bytes.Contains(src, []byte(b)) {
			return true
		}
	}
	for off := 0; ; {
		i := bytes.IndexByte(src[off:], '\r')
		if i < 0 {
			return false
		}
		off += i + 1
		if off == len(src) || src[off] != '\n' {
			return true
		}
	}
}
