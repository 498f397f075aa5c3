// Package textdiff prints unified diffs of two versions of a text file, the
// way `git diff` shows them, optionally colored.
package textdiff

import (
	"fmt"
	"io"
	"strings"

	"github.com/aymanbagabas/go-udiff/lcs"
)

// Options control Unified.
type Options struct {
	// Context is the number of unchanged lines around each change (3 when 0).
	Context int
	// Color adds ANSI colors (decide with term.Color).
	Color bool
}

const (
	red   = "\x1b[31m"
	green = "\x1b[32m"
	cyan  = "\x1b[36m"
	bold  = "\x1b[1m"
	reset = "\x1b[0m"
)

type edit struct {
	op   byte // ' ', '-', '+'
	line string
}

// splitLines keeps each line's ending, so a changed line ending (or a missing
// final newline) shows as a change.
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// affixes counts the lines a and b share at their start (p) and, after
// those, at their end (s).
func affixes(a, b []string) (p, s int) {
	for p < len(a) && p < len(b) && a[p] == b[p] {
		p++
	}
	for s < len(a)-p && s < len(b)-p && a[len(a)-1-s] == b[len(b)-1-s] {
		s++
	}
	return p, s
}

// lineEdits is the line diff of a and b: the common prefix and suffix as
// they are, and the middle by the LCS of golang.org/x/tools' diff (as
// packaged in go-udiff), which is exact for up to 50 changed runs and,
// beyond, gives a valid, near-minimal edit script in linear time.
func lineEdits(a, b []string) []edit {
	p, s := affixes(a, b)
	out := make([]edit, 0, len(a)+len(b)-p-s)
	for _, l := range a[:p] {
		out = append(out, edit{' ', l})
	}
	ma, mb := a[p:len(a)-s], b[p:len(b)-s]
	i := 0 // next line of ma
	for _, d := range lcs.DiffLines(ma, mb) {
		for ; i < d.Start; i++ {
			out = append(out, edit{' ', ma[i]})
		}
		for _, l := range ma[d.Start:d.End] {
			out = append(out, edit{'-', l})
		}
		for _, l := range mb[d.ReplStart:d.ReplEnd] {
			out = append(out, edit{'+', l})
		}
		i = d.End
	}
	for ; i < len(ma); i++ {
		out = append(out, edit{' ', ma[i]})
	}
	for _, l := range a[len(a)-s:] {
		out = append(out, edit{' ', l})
	}
	return out
}

// Unified writes the diff from old to new, labelled with path, and returns
// whether there was any difference.
func Unified(w io.Writer, path string, old, new []byte, o Options) (bool, error) {
	return unified(w, path, old, new, o, lineEdits)
}

// unified is Unified with the line diff given (the benchmark compares two).
func unified(w io.Writer, path string, old, new []byte, o Options, diff func(a, b []string) []edit) (bool, error) {
	ctx := o.Context
	if ctx <= 0 {
		ctx = 3
	}
	edits := diff(splitLines(string(old)), splitLines(string(new)))
	changed := false
	for _, e := range edits {
		if e.op != ' ' {
			changed = true
			break
		}
	}
	if !changed {
		return false, nil
	}
	paint := func(color, s string) string {
		if !o.Color {
			return s
		}
		return color + s + reset
	}
	var b strings.Builder
	b.WriteString(paint(bold, fmt.Sprintf("--- a/%s\n+++ b/%s", path, path)) + "\n")
	// Walk the edits, cutting them into hunks with ctx lines of context;
	// before counts the old and new lines of edits[:seen].
	seen, oldBefore, newBefore := 0, 0, 0
	for i := 0; i < len(edits); {
		if edits[i].op == ' ' {
			i++
			continue
		}
		start := max(0, i-ctx)
		end := i
		for end < len(edits) {
			if edits[end].op != ' ' {
				end++
				continue
			}
			run := end
			for run < len(edits) && edits[run].op == ' ' {
				run++
			}
			if run == len(edits) || run-end > 2*ctx {
				end = min(len(edits), end+ctx)
				break
			}
			end = run
		}
		for ; seen < start; seen++ {
			if edits[seen].op != '+' {
				oldBefore++
			}
			if edits[seen].op != '-' {
				newBefore++
			}
		}
		oldStart, newStart := oldBefore+1, newBefore+1
		oldN, newN := 0, 0
		for _, e := range edits[start:end] {
			if e.op != '+' {
				oldN++
			}
			if e.op != '-' {
				newN++
			}
		}
		if oldN == 0 {
			oldStart--
		}
		if newN == 0 {
			newStart--
		}
		b.WriteString(paint(cyan, fmt.Sprintf("@@ -%s +%s @@", hunkRange(oldStart, oldN), hunkRange(newStart, newN))) + "\n")
		for _, e := range edits[start:end] {
			line := strings.TrimSuffix(strings.TrimSuffix(e.line, "\n"), "\r")
			text := string(e.op) + line
			switch e.op {
			case '-':
				text = paint(red, text)
			case '+':
				text = paint(green, text)
			}
			b.WriteString(text + "\n")
			if !strings.HasSuffix(e.line, "\n") {
				b.WriteString("\\ No newline at end of file\n")
			}
		}
		i = end
	}
	_, err := io.WriteString(w, b.String())
	return true, err
}

func hunkRange(start, n int) string {
	if n == 1 {
		return fmt.Sprint(start)
	}
	return fmt.Sprintf("%d,%d", start, n)
}
