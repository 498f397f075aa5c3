package printer

import (
	"bytes"
	"strings"
	"testing"
)

func TestPrint(t *testing.T) {
	v := struct {
		Name  string `json:"name"`
		Count int    `json:"count,omitempty"`
	}{Name: "sample-app"}
	for _, tc := range []struct {
		format, want string
		handled      bool
	}{
		{"json", "{\n  \"name\": \"sample-app\"\n}\n", true},
		{"yaml", "name: sample-app\n", true},
		{"", "", false},
	} {
		var b bytes.Buffer
		handled, err := Print(&b, tc.format, v)
		if err != nil || handled != tc.handled || b.String() != tc.want {
			t.Errorf("%q: %v %v %q, want %v %q", tc.format, handled, err, b.String(), tc.handled, tc.want)
		}
	}
	for _, tc := range []struct {
		format, text string
		ok           bool
	}{
		{"", "", true}, {"json", "", true}, {"yaml", "", true}, {"table", "", false},
		{"table", "table", true}, {"wide", "table", false}, {"json", "table", true},
	} {
		if err := Check(tc.format, tc.text); (err == nil) != tc.ok {
			t.Errorf("Check(%q, %q) = %v", tc.format, tc.text, err)
		}
	}
	if err := Check("wide", "table"); err == nil || err.Error() != `unknown output format "wide": use -o table, json or yaml` {
		t.Errorf("message: %v", err)
	}
}

// JSON output shows <, > and & as themselves (a range like ">=1.2.0 <2"
// reads as written), and Inline never falls back to Go syntax.
func TestJSONDoesNotEscapeHTML(t *testing.T) {
	var b strings.Builder
	if _, err := Print(&b, "json", map[string]any{"version": ">=1.2.0 <2.0.0 && x"}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), `\u003`) || strings.Contains(b.String(), `\u0026`) || !strings.Contains(b.String(), `">=1.2.0 <2.0.0 && x"`) {
		t.Errorf("json:\n%s", b.String())
	}
	if got := Inline([]any{map[string]any{"a": 1}}); got != `[{"a":1}]` {
		t.Errorf("Inline = %q", got)
	}
}
