package yamledit

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// anchorIndex lists a document's anchors and aliases in document order,
// and the parent of every node, so that an edit that removes an anchor
// other places still use can move it to the first of them.
type anchorIndex struct {
	defs    map[string][]*yaml.Node
	aliases map[string][]*yaml.Node
	parent  map[*yaml.Node]*yaml.Node
}

func indexAnchors(doc *yaml.Node) *anchorIndex {
	ix := &anchorIndex{defs: map[string][]*yaml.Node{}, aliases: map[string][]*yaml.Node{}, parent: map[*yaml.Node]*yaml.Node{}}
	var visit func(n *yaml.Node)
	visit = func(n *yaml.Node) {
		if n.Kind == yaml.AliasNode {
			ix.aliases[n.Value] = append(ix.aliases[n.Value], n)
		} else if n.Anchor != "" {
			ix.defs[n.Anchor] = append(ix.defs[n.Anchor], n)
		}
		for _, c := range n.Content {
			ix.parent[c] = n
			visit(c)
		}
	}
	visit(doc)
	return ix
}

// aliased reports whether some alias uses the anchor name.
func (ix *anchorIndex) aliased(name string) bool { return len(ix.aliases[name]) > 0 }

// textEdit replaces src[start:end] with text.
type textEdit struct {
	start, end int
	text       string
}

// change replaces src[start:end] with text. An anchor defined in that
// range (other than keep, which text writes again) that aliases outside it
// still use moves to the first of those aliases: the alias becomes the
// anchored value, and the later aliases now refer to it. The document
// then decodes to the same values everywhere except at the edit. YAML
// lets an alias refer only to an anchor before it, and the first
// remaining alias is the earliest place that can hold it, so this is the
// one move that keeps every other alias valid without reordering keys.
func (e *editor) change(start, end int, text, keep string) ([]byte, error) {
	edits := []textEdit{{start, end, text}}
	inRange := func(n *yaml.Node) bool { s := e.sp[n].start; return s >= start && s < end }
	var lost []*yaml.Node
	for name, defs := range e.anchors.defs {
		if name == keep {
			continue
		}
		for _, d := range defs {
			if !inRange(d) {
				continue
			}
			for _, a := range e.anchors.aliases[name] {
				if !inRange(a) {
					lost = append(lost, d)
					break
				}
			}
		}
	}
	sort.Slice(lost, func(i, j int) bool { return e.sp[lost[i]].start < e.sp[lost[j]].start })
	for i, d := range lost {
		name := d.Anchor
		var users []*yaml.Node
		for _, a := range e.anchors.aliases[name] {
			if !inRange(a) {
				users = append(users, a)
			}
		}
		refuse := func(why string) error {
			lines := make([]string, len(users))
			for i, a := range users {
				lines[i] = fmt.Sprint(a.Line)
			}
			return &PathError{e.full, fmt.Sprintf("holds the anchor &%s (line %d) that *%s on line %s still uses; %s, so move the anchor there by hand first",
				name, d.Line, name, strings.Join(lines, ", "), why)}
		}
		if len(e.anchors.defs[name]) > 1 {
			return nil, refuse("the anchor is defined more than once")
		}
		if i > 0 && e.sp[lost[i-1]].end > e.sp[d].start {
			return nil, refuse("it sits inside another anchored value that moves too")
		}
		ed, err := e.moveTo(d, users[0])
		if err != nil {
			return nil, refuse(err.Error())
		}
		edits = append(edits, ed)
		e.moved = append(e.moved, fmt.Sprintf("&%s from line %d to line %d", name, d.Line, users[0].Line))
	}
	return e.spliceAll(edits), nil
}

// moveTo writes the anchored node def in place of alias a.
func (e *editor) moveTo(def, a *yaml.Node) (textEdit, error) {
	dsp, asp := e.sp[def], e.sp[a]
	text := string(e.s.src[dsp.start:dsp.end])
	if !strings.Contains(text, "\n") {
		return textEdit{asp.start, asp.end, text}, nil
	}
	if asp.inFlow {
		return textEdit{}, fmt.Errorf("the value spans several lines and the alias is inside a flow collection")
	}
	p := e.anchors.parent[a]
	var indent int
	switch {
	case p == nil:
		return textEdit{}, fmt.Errorf("the alias is the whole document")
	case p.Kind == yaml.MappingNode:
		j := 0
		for j < len(p.Content) && p.Content[j] != a {
			j++
		}
		if j%2 == 0 {
			return textEdit{}, fmt.Errorf("the alias is a key")
		}
		indent = p.Content[j-1].Column - 1 + e.layout.unit
		if def.Kind == yaml.SequenceNode {
			indent = p.Content[j-1].Column - 1 + e.layout.seq
		}
	default:
		indent = a.Column - 1
	}
	if e.s.lineEnd(asp.end) == len(e.s.src) && !bytes.HasSuffix(e.s.src, []byte("\n")) {
		return textEdit{}, fmt.Errorf("the alias ends the file without a final newline, which a block value there would change")
	}
	rest := e.s.src[asp.end:e.s.lineEnd(asp.end)]
	if t := strings.TrimSpace(string(rest)); t != "" && !strings.HasPrefix(t, "#") {
		return textEdit{}, fmt.Errorf("something follows the alias on its line")
	}
	lines := strings.Split(text, "\n")
	old := -1
	for _, l := range lines[1:] {
		if strings.TrimSpace(l) == "" {
			continue
		}
		if n := len(l) - len(strings.TrimLeft(l, " ")); old < 0 || n < old {
			old = n
		}
	}
	delta := indent - old
	for i := 1; i < len(lines); i++ {
		l := lines[i]
		if strings.TrimRight(l, "\r") == "" {
			continue
		}
		if delta >= 0 {
			lines[i] = strings.Repeat(" ", delta) + l
		} else {
			n := min(-delta, len(l)-len(strings.TrimLeft(l, " ")))
			lines[i] = l[n:]
		}
	}
	out := lines[0] + string(rest) + e.s.eol + strings.Join(lines[1:], "\n")
	return textEdit{asp.start, asp.start + (e.s.lineEnd(asp.end) - asp.start), out}, nil
}

// spliceAll applies non-overlapping edits; the first is the edit itself
// (its line is the one reported), the others move anchors after it.
func (e *editor) spliceAll(edits []textEdit) []byte {
	main := edits[0]
	sort.Slice(edits, func(i, j int) bool { return edits[i].start < edits[j].start })
	src := e.s.src
	size := len(src)
	for _, ed := range edits {
		size += len(ed.text) - (ed.end - ed.start)
	}
	out := make([]byte, 0, size)
	at := 0
	for _, ed := range edits {
		out = append(out, src[at:ed.start]...)
		out = append(out, ed.text...)
		at = ed.end
	}
	out = append(out, src[at:]...)
	e.line = e.s.lineOf(main.start)
	if strings.HasPrefix(main.text, e.s.eol) {
		e.line++
	}
	return out
}
