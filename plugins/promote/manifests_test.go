package promote

import (
	"reflect"
	"testing"
)

// TestFlattenValues checks the leaves status compares: maps are walked,
// lists are one value (a patch replaces them whole), numbers and booleans
// read as written.
func TestFlattenValues(t *testing.T) {
	hr := &object{data: map[string]any{"spec": map[string]any{"values": map[string]any{
		"image":    map[string]any{"tag": "1.2"},
		"replicas": int64(3),
		"debug":    true,
		"hosts":    []any{"c"},
		"ingress":  []any{map[string]any{"host": "a.example.com"}},
	}}}}
	want := map[string]string{"image.tag": "1.2", "replicas": "3", "debug": "true", "hosts": `["c"]`, "ingress": `[{"host":"a.example.com"}]`}
	if got := flattenValues(hr); !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
	if got := flattenValues(&object{data: map[string]any{"spec": map[string]any{}}}); len(got) != 0 {
		t.Errorf("no values: got %v", got)
	}
}
