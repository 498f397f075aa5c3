package promote

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// Values are shown as a user can paste them: JSON (which YAML reads), not
// Go's map[...] syntax.
func TestEditChangeShowsPasteableValues(t *testing.T) {
	ingress := []any{map[string]any{"host": "radarr.example.com", "paths": []any{map[string]any{"path": "/", "pathType": "Prefix"}}}}
	for _, c := range []struct {
		e    edit
		want string
	}{
		{edit{New: ingress}, `set to [{"host":"radarr.example.com","paths":[{"path":"/","pathType":"Prefix"}]}]`},
		{edit{New: map[string]any{"memory": "256Mi"}}, `set to {"memory":"256Mi"}`},
		{edit{Old: "v0.1.2", New: "v0.1.3"}, "v0.1.2 -> v0.1.3"},
		{edit{New: "a > b"}, "set to a > b"},
	} {
		if got := c.e.change(); got != c.want {
			t.Errorf("change() = %q, want %q", got, c.want)
		}
	}
}

// promote status's VALUES column: lists as one line of JSON, multi-line
// strings as their first line, never a literal \n.
func TestStatusValuesCell(t *testing.T) {
	var n yaml.Node
	src := "hosts:\n  - host: radarr.example.com\n    paths: [/]\nconfig: |\n  [server]\n  port = 7878\n  debug = false\n"
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatal(err)
	}
	leaves := map[string]string{}
	for _, op := range flatten("", n.Content[0], nil) {
		if !op.del {
			leaves[op.key] = op.value
		}
	}
	if got, want := leaves["hosts"], `[{"host":"radarr.example.com","paths":["/"]}]`; got != want {
		t.Errorf("hosts = %q, want %q", got, want)
	}
	cell := cellValue(leaves["config"])
	if strings.Contains(cell, `\n`) || strings.Contains(cell, "\n") || cell != "[server] … (+2 lines)" {
		t.Errorf("config cell = %q", cell)
	}
}
