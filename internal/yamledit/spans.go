package yamledit

import (
	"bytes"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// span is where a node sits in the source: start includes its properties
// (anchor, tag), vstart is where the value itself begins, end is just past
// its last character. yaml.v3 only reports where nodes start; ends are
// worked out here from the node's style and what follows it.
type span struct {
	start, vstart, end int
	// indent is the indentation of the block collection holding the node
	// (-1 at the top): block scalar lines and plain continuation lines must
	// be indented deeper than this.
	indent int
	inFlow bool
}

type spans map[*yaml.Node]span

func (s *source) spansOf(doc *yaml.Node) (spans, error) {
	// Sized up front: growing a map of millions of nodes step by step
	// rehashes it again and again.
	m := make(spans, countNodes(doc))
	for _, c := range doc.Content {
		if err := s.walk(c, -1, false, m); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (s *source) walk(n *yaml.Node, indent int, inFlow bool, m spans) error {
	start := s.nodeStart(n)
	sp := span{start: start, vstart: s.skipProps(start), indent: indent, inFlow: inFlow}
	switch n.Kind {
	case yaml.MappingNode, yaml.SequenceNode:
		flow := n.Style&yaml.FlowStyle != 0
		childIndent := indent
		if !flow && len(n.Content) > 0 {
			if n.Kind == yaml.MappingNode {
				childIndent = n.Content[0].Column - 1
			} else {
				childIndent = n.Column - 1
			}
		}
		for _, c := range n.Content {
			if err := s.walk(c, childIndent, inFlow || flow, m); err != nil {
				return err
			}
		}
		switch {
		case flow:
			end, err := s.flowEnd(sp.vstart)
			if err != nil {
				return err
			}
			sp.end = end
		case len(n.Content) > 0:
			sp.end = m[n.Content[len(n.Content)-1]].end
		default:
			sp.end = sp.vstart
		}
	case yaml.AliasNode:
		sp.end = sp.vstart + 1 + len(n.Value)
	case yaml.ScalarNode:
		end, err := s.scalarEnd(n, sp)
		if err != nil {
			return err
		}
		sp.end = end
	default:
		return fmt.Errorf("unexpected YAML node kind %v at line %d", n.Kind, n.Line)
	}
	m[n] = sp
	return nil
}

// skipProps steps over an anchor (&a) and a tag (!t) before a value.
func (s *source) skipProps(i int) int {
	for i < len(s.src) && (s.src[i] == '&' || s.src[i] == '!') {
		for i < len(s.src) && !isSpace(s.src[i]) {
			i++
		}
		for i < len(s.src) && (s.src[i] == ' ' || s.src[i] == '\t') {
			i++
		}
	}
	return i
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (s *source) scalarEnd(n *yaml.Node, sp span) (int, error) {
	i := sp.vstart
	src := s.src
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		for j := i + 1; j < len(src); j++ {
			switch src[j] {
			case '\\':
				j++
			case '"':
				return j + 1, nil
			}
		}
	case n.Style&yaml.SingleQuotedStyle != 0:
		for j := i + 1; j < len(src); j++ {
			if src[j] == '\'' {
				if j+1 < len(src) && src[j+1] == '\'' {
					j++
					continue
				}
				return j + 1, nil
			}
		}
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		end := s.lineEnd(i)
		content := -1 // indentation of the block's content
		for l := s.nextLine(i); l < len(src); l = s.nextLine(l) {
			le := s.lineEnd(l)
			if strings.TrimSpace(string(src[l:le])) == "" {
				// Spaces beyond the content indentation are content.
				if content >= 0 && le-l > content {
					end = le
				}
				continue
			}
			if s.indentOf(l) <= sp.indent {
				break
			}
			if content < 0 {
				content = s.indentOf(l)
			}
			end = le
		}
		return end, nil
	default:
		// A plain scalar on one line is its own text: yaml.v3 keeps it in Value.
		if bytes.HasPrefix(src[i:], []byte(n.Value)) {
			return i + len(n.Value), nil
		}
		// A plain scalar folded over several lines: collect lines until
		// their folded text is the value.
		var parts []string
		for l := i; l < len(src); l = s.nextLine(l) {
			le := s.lineEnd(l)
			line := string(src[l:le])
			if c := strings.Index(line, " #"); c >= 0 {
				line = line[:c]
			}
			line = strings.TrimSpace(line)
			parts = append(parts, line)
			if strings.Join(parts, " ") == n.Value {
				return l + strings.Index(string(src[l:le]), line) + len(line), nil
			}
			if len(strings.Join(parts, " ")) > len(n.Value) {
				break
			}
		}
	}
	return 0, fmt.Errorf("cannot find the end of the value at line %d column %d", n.Line, n.Column)
}

// flowEnd finds the bracket closing the flow collection opening at i,
// stepping over quoted strings and comments.
func (s *source) flowEnd(i int) (int, error) {
	src := s.src
	depth := 0
	for j := i; j < len(src); j++ {
		switch c := src[j]; c {
		case '[', '{':
			depth++
		case ']', '}':
			depth--
			if depth == 0 {
				return j + 1, nil
			}
		case '"':
			for j++; j < len(src) && src[j] != '"'; j++ {
				if src[j] == '\\' {
					j++
				}
			}
		case '\'':
			for j++; j < len(src); j++ {
				if src[j] == '\'' {
					if j+1 < len(src) && src[j+1] == '\'' {
						j++
						continue
					}
					break
				}
			}
		case '#':
			if j > 0 && isSpace(src[j-1]) {
				j = s.lineEnd(j)
			}
		}
	}
	return 0, fmt.Errorf("unclosed flow collection at byte %d", i)
}

// colonAfter returns the offset just past the ':' that follows a key.
func (s *source) colonAfter(keyEnd int) int {
	i := keyEnd
	for i < len(s.src) && (s.src[i] == ' ' || s.src[i] == '\t') {
		i++
	}
	if i < len(s.src) && s.src[i] == ':' {
		return i + 1
	}
	return keyEnd
}

func countNodes(n *yaml.Node) int {
	c := 1
	for _, x := range n.Content {
		c += countNodes(x)
	}
	return c
}
