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
