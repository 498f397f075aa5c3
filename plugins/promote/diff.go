package promote

import (
	"fmt"
	"io"
	"strings"
)

const (
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiBold   = "\x1b[1m"
	ansiReset  = "\x1b[0m"
)

func paint(on bool, code, s string) string {
	if !on {
		return s
	}
	return code + s + ansiReset
}

// printDiff prints the changed lines of a file. Promote's edits replace
// values inside lines and never add or remove lines, so comparing line by
// line is exact.
func printDiff(w io.Writer, file string, old, new []byte, color bool) {
	a := strings.Split(string(old), "\n")
	b := strings.Split(string(new), "\n")
	fmt.Fprintln(w, paint(color, ansiBold, "--- a/"+file))
	fmt.Fprintln(w, paint(color, ansiBold, "+++ b/"+file))
	if len(a) != len(b) {
		fmt.Fprintln(w, "(line count changed; see git diff)")
		return
	}
	for i := range a {
		if a[i] == b[i] {
			continue
		}
		fmt.Fprintf(w, "@@ -%d +%d @@\n", i+1, i+1)
		fmt.Fprintln(w, paint(color, ansiRed, "-"+a[i]))
		fmt.Fprintln(w, paint(color, ansiGreen, "+"+b[i]))
	}
}
