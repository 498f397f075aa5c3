// Package term answers the questions printers ask about where their output
// goes: is it a terminal, and may it be colored.
package term

import (
	"io"
	"os"

	xterm "golang.org/x/term"
)

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && xterm.IsTerminal(int(f.Fd()))
}

// Color reports whether output to w should be colored: only on a terminal,
// never when NO_COLOR is set to anything (https://no-color.org), never when
// TERM is "dumb". getenv reads the environment (the factory's Getenv;
// nil reads none).
func Color(w io.Writer, getenv func(string) string) bool {
	if getenv != nil && (getenv("NO_COLOR") != "" || getenv("TERM") == "dumb") {
		return false
	}
	return IsTerminal(w)
}

// The SGR sequences the printers color with.
const (
	Reset  = "\x1b[0m"
	Bold   = "\x1b[1m"
	Red    = "\x1b[31m"
	Green  = "\x1b[32m"
	Yellow = "\x1b[33m"
	Gray   = "\x1b[90m"
)

// Paint wraps s in code, and a reset after it, when on (Color's answer).
func Paint(on bool, code, s string) string {
	if !on {
		return s
	}
	return code + s + Reset
}
