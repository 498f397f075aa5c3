package validate

import (
	"testing"

	"sigs.k8s.io/yaml"
)

// FuzzObject feeds arbitrary YAML (what a chart may render) to the schema
// walk: it must never panic, and every problem must name a field.
func FuzzObject(f *testing.F) {
	f.Add([]byte(deployment))
	f.Add([]byte("apiVersion: v1\nkind: Secret\ndata: {a: '!!'}\n"))
	f.Add([]byte("apiVersion: v1\nkind: Service\nspec: {ports: [{port: x, targetPort: [1]}]}\n"))
	f.Add([]byte("apiVersion: apps/v1\nkind: Deployment\nspec: [1, 2]\nmetadata: 3\n"))
	s, err := Bundled()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var obj map[string]any
		if yaml.Unmarshal(data, &obj) != nil || obj == nil {
			return
		}
		probs, _ := s.Object(obj)
		for _, p := range probs {
			if p.Field == "" || p.Message == "" {
				t.Fatalf("problem without field or message: %+v", p)
			}
		}
	})
}
