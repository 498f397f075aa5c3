package yamledit

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// source is one YAML file: its bytes, where each line starts, and its
// documents as yaml.v3 nodes. yaml.v3 reports 1-based lines and 1-based
// columns counted in characters, not bytes; offset converts.
type source struct {
	src        []byte
	lineStarts []int
	docs       []*yaml.Node
	eol        string
	// bom is the length of a UTF-8 byte order mark starting the file (0 or
	// 3). yaml.v3 skips it and counts line 1's columns after it; it is
	// never part of a line's indentation and always stays.
	bom int
}

const utf8BOM = "\ufeff"

func parse(src []byte) (*source, error) {
	s := &source{src: src, lineStarts: []int{0}, eol: "\n"}
	if bytes.HasPrefix(src, []byte(utf8BOM)) {
		s.bom = len(utf8BOM)
		s.lineStarts[0] = s.bom
	}
	for i, c := range src {
		if c == '\n' {
			s.lineStarts = append(s.lineStarts, i+1)
		}
	}
	// The file's own line ending is what new lines get, so a CRLF file stays
	// CRLF throughout.
	if i := bytes.IndexByte(src, '\n'); i > 0 && src[i-1] == '\r' {
		s.eol = "\r\n"
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, &SyntaxError{Err: err}
		}
		s.docs = append(s.docs, &n)
	}
	return s, nil
}

// SyntaxError is input that is not valid YAML.
type SyntaxError struct{ Err error }

func (e *SyntaxError) Error() string { return fmt.Sprintf("malformed YAML: %v", e.Err) }
func (e *SyntaxError) Unwrap() error { return e.Err }

// offset turns a yaml.v3 line/column into a byte offset.
func (s *source) offset(line, col int) int {
	if line < 1 {
		return 0
	}
	if line > len(s.lineStarts) {
		return len(s.src)
	}
	off := s.lineStarts[line-1]
	for c := 1; c < col && off < len(s.src); c++ {
		_, w := utf8.DecodeRune(s.src[off:])
		off += w
	}
	return off
}

func (s *source) nodeStart(n *yaml.Node) int { return s.offset(n.Line, n.Column) }

// lineStart returns the offset of the start of the line holding off.
func (s *source) lineStart(off int) int {
	for off > s.bom && s.src[off-1] != '\n' {
		off--
	}
	return off
}

// lineEnd returns the offset of the end of the line holding off, before its
// line break (\n or \r\n).
func (s *source) lineEnd(off int) int {
	for off < len(s.src) && s.src[off] != '\n' {
		off++
	}
	if off > 0 && off <= len(s.src) && off-1 >= 0 && off-1 < len(s.src) && s.src[off-1] == '\r' && (off == len(s.src) || s.src[off] == '\n') {
		off--
	}
	return off
}

// nextLine returns the offset just after the line break ending the line
// holding off, or len(src) on the last line.
func (s *source) nextLine(off int) int {
	for off < len(s.src) && s.src[off] != '\n' {
		off++
	}
	if off < len(s.src) {
		off++
	}
	return off
}

// indentOf counts the spaces that start the line holding off.
func (s *source) indentOf(off int) int {
	i := s.lineStart(off)
	n := 0
	for i+n < len(s.src) && s.src[i+n] == ' ' {
		n++
	}
	return n
}

// onlySpaceBefore reports whether nothing but spaces precedes off on its line.
func (s *source) onlySpaceBefore(off int) bool {
	for i := s.lineStart(off); i < off; i++ {
		if s.src[i] != ' ' && s.src[i] != '\t' {
			return false
		}
	}
	return true
}

// lineOf returns the 1-based line holding off.
func (s *source) lineOf(off int) int {
	return sort.Search(len(s.lineStarts), func(i int) bool { return s.lineStarts[i] > off })
}
