package printer

import (
	"bytes"
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
