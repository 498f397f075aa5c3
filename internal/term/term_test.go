package term

import (
	"bytes"
	"testing"
)

func TestColor(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if Color(&bytes.Buffer{}, env(nil)) {
		t.Error("a buffer is not a terminal")
	}
	if IsTerminal(&bytes.Buffer{}) {
		t.Error("IsTerminal(buffer)")
	}
	// NO_COLOR wins before the terminal check; os.Stdout under go test is
	// not a terminal either way, so only the negative can be asserted here.
	if Color(nil, env(map[string]string{"NO_COLOR": "1"})) {
		t.Error("NO_COLOR must disable color")
	}
}
