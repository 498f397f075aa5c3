package validate

import (
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
)

func TestValuesSchema(t *testing.T) {
	sub := &chart.Chart{Metadata: &chart.Metadata{Name: "db", Version: "1.0.0", APIVersion: "v2"},
		Schema: []byte(`{"type":"object","properties":{"port":{"type":"integer"}}}`)}
	ch := &chart.Chart{
		Metadata: &chart.Metadata{Name: "app", Version: "1.0.0", APIVersion: "v2"},
		Values:   map[string]any{"replicaCount": 1},
		Schema: []byte(`{"type":"object","properties":{
			"replicaCount":{"type":"integer","minimum":1},
			"resources":{"type":"object","properties":{"limits":{"type":"object","properties":{"memory":{"type":"string","pattern":"^[0-9]+(Mi|Gi)$"}}}}}}}`),
	}
	ch.AddDependency(sub)
	tests := []struct {
		name   string
		values map[string]any
		want   []string // "field|message part"
	}{
		{name: "valid", values: map[string]any{"replicaCount": 3}},
		{name: "wrong type", values: map[string]any{"replicaCount": "three"}, want: []string{"replicaCount|want integer"}},
		{name: "pattern", values: map[string]any{"resources": map[string]any{"limits": map[string]any{"memory": "lots"}}},
			want: []string{"resources.limits.memory|does not match pattern"}},
		{name: "subchart", values: map[string]any{"db": map[string]any{"port": "x"}}, want: []string{"db.port|chart db"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			probs, err := Values(ch, tt.values)
			if err != nil {
				t.Fatal(err)
			}
			if len(probs) != len(tt.want) {
				t.Fatalf("got %v, want %v", probs, tt.want)
			}
			for i, w := range tt.want {
				field, msg, _ := strings.Cut(w, "|")
				if probs[i].Field != field || !strings.Contains(probs[i].Message, msg) {
					t.Errorf("problem %d = %s, want field %s with %q", i, probs[i], field, msg)
				}
			}
		})
	}
}

// The problems come from the validation library's structured errors, not
// from its message: a key holding '/', '.' or a quote (label keys like
// app.kubernetes.io/name) is named as it is, and nested subcharts are
// found under both names.
func TestValuesSchemaStructuredLocations(t *testing.T) {
	inner := &chart.Chart{Metadata: &chart.Metadata{Name: "cache", Version: "1.0.0", APIVersion: "v2"},
		Schema: []byte(`{"type":"object","properties":{"size":{"type":"integer"}}}`)}
	sub := &chart.Chart{Metadata: &chart.Metadata{Name: "db", Version: "1.0.0", APIVersion: "v2"}}
	sub.AddDependency(inner)
	ch := &chart.Chart{
		Metadata: &chart.Metadata{Name: "app", Version: "1.0.0", APIVersion: "v2"},
		Schema: []byte(`{"type":"object","properties":{"labels":{"type":"object","properties":{
			"app.kubernetes.io/name":{"type":"string"},"it's":{"type":"string"}}}}}`),
	}
	ch.AddDependency(sub)
	probs, err := Values(ch, map[string]any{
		"labels": map[string]any{"app.kubernetes.io/name": 1, "it's": 2},
		"db":     map[string]any{"cache": map[string]any{"size": "big"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"labels.app.kubernetes.io/name": "want string",
		"labels.it's":                   "want string",
		"db.cache.size":                 "chart cache",
	}
	got := map[string]string{}
	for _, p := range probs {
		got[p.Field] = p.Message
	}
	for field, msg := range want {
		if !strings.Contains(got[field], msg) {
			t.Errorf("no problem at %s saying %q; got %v", field, msg, probs)
		}
	}
	if len(probs) != len(want) {
		t.Errorf("got %d problems, want %d: %v", len(probs), len(want), probs)
	}
}
