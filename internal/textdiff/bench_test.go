package textdiff

import (
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// quadraticEdits is the hand-written line diff the library replaced
// (kept here only as the benchmark's baseline): the common prefix and
// suffix, then a full LCS table over the middle, or, past 4M cells, the
// whole middle as one removal and one addition.
func quadraticEdits(a, b []string) []edit {
	const maxCells = 4 << 20
	p, s := affixes(a, b)
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
		n, m := len(ma), len(mb)
		t := make([][]int32, n+1)
		for i := range t {
			t[i] = make([]int32, m+1)
		}
		for i := n - 1; i >= 0; i-- {
			for j := m - 1; j >= 0; j-- {
				if ma[i] == mb[j] {
					t[i][j] = t[i+1][j+1] + 1
				} else {
					t[i][j] = max(t[i+1][j], t[i][j+1])
				}
			}
		}
		i, j := 0, 0
		for i < n && j < m {
			switch {
			case ma[i] == mb[j]:
				out = append(out, edit{' ', ma[i]})
				i, j = i+1, j+1
			case t[i+1][j] >= t[i][j+1]:
				out = append(out, edit{'-', ma[i]})
				i++
			default:
				out = append(out, edit{'+', mb[j]})
				j++
			}
		}
		for ; i < n; i++ {
			out = append(out, edit{'-', ma[i]})
		}
		for ; j < m; j++ {
			out = append(out, edit{'+', mb[j]})
		}
	}
	for _, l := range a[len(a)-s:] {
		out = append(out, edit{' ', l})
	}
	return out
}

// valuesFile is a values file of about size bytes, and the same file with
// n values changed at places spread over it (a seeded random choice).
func valuesFile(size, n int) (old, new string) {
	var b strings.Builder
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "service%d:\n  image:\n    repository: registry.example.com/team/service-%d\n    tag: \"1.%d.0\"\n  replicaCount: %d\n", i, i, i%97, i%5+1)
	}
	old = b.String()
	lines := strings.SplitAfter(old, "\n")
	r := rand.New(rand.NewPCG(1, 2))
	for range n {
		k := r.IntN(len(lines) - 1)
		lines[k] = strings.TrimSuffix(lines[k], "\n") + " # changed\n"
	}
	return old, strings.Join(lines, "")
}

// The library's line diff is not slower than the quadratic one it
// replaced on a 50 MB values file with a few changes spread over it; the
// hand-written one falls back to "everything changed" there, so it prints
// the whole file twice. new/old is the ratio of their times in this run.
func BenchmarkUnified50MB(b *testing.B) {
	for _, changes := range []int{1, 10} {
		b.Run(fmt.Sprintf("changes=%d", changes), func(b *testing.B) {
			old, new := valuesFile(50<<20, changes)
			b.SetBytes(int64(len(old)))
			var tNew, tOld time.Duration
			for b.Loop() {
				start := time.Now()
				if _, err := Unified(io.Discard, "values.yaml", []byte(old), []byte(new), Options{}); err != nil {
					b.Fatal(err)
				}
				tNew += time.Since(start)
				start = time.Now()
				if _, err := unified(io.Discard, "values.yaml", []byte(old), []byte(new), Options{}, quadraticEdits); err != nil {
					b.Fatal(err)
				}
				tOld += time.Since(start)
			}
			b.ReportMetric(float64(tNew)/float64(tOld), "new/old")
		})
	}
}

// A change at each end of a long file is two small hunks, not the whole
// file removed and added (what the quadratic diff fell back to).
func TestUnifiedLongFileDistantChanges(t *testing.T) {
	var lines []string
	for i := range 20000 {
		lines = append(lines, fmt.Sprintf("key%d: %d\n", i, i))
	}
	old := strings.Join(lines, "")
	lines[10], lines[19990] = "key10: changed\n", "key19990: changed\n"
	var b strings.Builder
	if _, err := Unified(&b, "v.yaml", []byte(old), []byte(strings.Join(lines, "")), Options{}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(b.String(), "\n-"); got != 2 || strings.Count(b.String(), "@@ -") != 2 {
		t.Fatalf("want two hunks removing one line each, got %d removed lines:\n%.2000s", got, b.String())
	}
}

// The edits, whatever the inputs, give back both sides: ' ' and '-' lines
// are the old text, ' ' and '+' lines the new.
func TestLineEditsRebuildBothSides(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	words := []string{"a\n", "b\n", "c\n", "d\n", "e"}
	for range 2000 {
		gen := func() []string {
			out := make([]string, r.IntN(30))
			for i := range out {
				out[i] = words[r.IntN(len(words)-1)]
			}
			if len(out) > 0 && r.IntN(3) == 0 {
				out[len(out)-1] = words[len(words)-1]
			}
			return out
		}
		a, b := gen(), gen()
		var ga, gb []string
		for _, e := range lineEdits(a, b) {
			if e.op != '+' {
				ga = append(ga, e.line)
			}
			if e.op != '-' {
				gb = append(gb, e.line)
			}
		}
		if strings.Join(ga, "") != strings.Join(a, "") || strings.Join(gb, "") != strings.Join(b, "") {
			t.Fatalf("%q -> %q: edits rebuild %q and %q", a, b, ga, gb)
		}
	}
}
