// Package diff prints unified diffs of two versions of a text file, the
// way `git diff` shows them, optionally colored.
package diff

import (
	"fmt"
	"io"
	"strings"
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

// maxCells bounds the quadratic table for the changed middle of a file;
// beyond it the middle is shown as one removal and one addition.
const maxCells = 4 << 20

func lineEdits(a, b []string) []edit {
	p := 0
	for p < len(a) && p < len(b) && a[p] == b[p] {
		p++
	}
	s := 0
	for s < len(a)-p && s < len(b)-p && a[len(a)-1-s] == b[len(b)-1-s] {
		s++
	}
	var out []edit
	for _, l := range a[:p] {
		out = append(out, edit{' ', l})
	}
	ma, mb := a[p:len(a)-s], b[p:len(b)-s]
	if len(ma)*len(mb) > maxCells {
		for _, l := range ma {
			out = append(out, edit{'-', l})
		}
		for _, l := range mb {
			out = append(out, edit{'+', l})
		}
	} else {
		out = append(out, lcs(ma, mb)...)
	}
	for _, l := range a[len(a)-s:] {
		out = append(out, edit{' ', l})
	}
	return out
}

// lcs diffs by longest common subsequence.
func lcs(a, b []string) []edit {
	n, m := len(a), len(b)
	t := make([][]int32, n+1)
	for i := range t {
		t[i] = make([]int32, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				t[i][j] = t[i+1][j+1] + 1
			} else {
				t[i][j] = max(t[i+1][j], t[i][j+1])
			}
		}
	}
	var out []edit
	i, j := 0, 0
	for i < n && j < m {
		switch {
		case a[i] == b[j]:
			out = append(out, edit{' ', a[i]})
			i, j = i+1, j+1
		case t[i+1][j] >= t[i][j+1]:
			out = append(out, edit{'-', a[i]})
			i++
		default:
			out = append(out, edit{'+', b[j]})
			j++
		}
	}
	for ; i < n; i++ {
		out = append(out, edit{'-', a[i]})
	}
	for ; j < m; j++ {
		out = append(out, edit{'+', b[j]})
	}
	return out
}

// Unified writes the diff from old to new, labelled with path, and returns
// whether there was any difference.
func Unified(w io.Writer, path string, old, new []byte, o Options) (bool, error) {
	ctx := o.Context
	if ctx <= 0 {
		ctx = 3
	}
	edits := lineEdits(splitLines(string(old)), splitLines(string(new)))
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
	// Walk the edits, cutting them into hunks with ctx lines of context.
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
		oldStart, newStart := 1, 1
		for _, e := range edits[:start] {
			if e.op != '+' {
				oldStart++
			}
			if e.op != '-' {
				newStart++
			}
		}
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
