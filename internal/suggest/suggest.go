// Package suggest answers "did you mean ...?" for names the user typed: one
// edit distance and one idea of "close enough", for every command.
package suggest

import "strings"

// Distance is the Levenshtein distance between a and b, in runes.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// Near reports whether candidate is close enough to name to be what the
// user meant, and how close (lower is closer): names that differ only in
// case are closest after the same name, then one containing the other,
// then those within a third of the name's length (at least 2) edits.
func Near(name, candidate string) (int, bool) {
	if candidate == name {
		return -1, true
	}
	d := Distance(strings.ToLower(candidate), strings.ToLower(name))
	if strings.Contains(candidate, name) || strings.Contains(name, candidate) {
		d = min(d, 2)
	}
	return d, d <= max(2, len([]rune(name))/3)
}

// Closest returns the candidate nearest to name when it is near enough
// (see Near), else "". Ties go to the earlier candidate.
func Closest(name string, candidates []string) string {
	best, bestD := "", 0
	for _, c := range candidates {
		if d, ok := Near(name, c); ok && (best == "" || d < bestD) {
			best, bestD = c, d
		}
	}
	return best
}
