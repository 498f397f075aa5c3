package helmvalues

import (
	"fmt"
	"reflect"
	"testing"
)

// prune cuts v down to focus, as yamledit.OpenFocused reads it.
func prune(v any, focus any) any {
	f, ok := focus.(map[string]any)
	m, isMap := v.(map[string]any)
	if !ok || !isMap {
		return v
	}
	out := map[string]any{}
	for k, sub := range f {
		if x, there := m[k]; there {
			out[k] = prune(x, sub)
		}
	}
	return out
}

// TestFocusGivesSameResult: Compute on the values cut down to Focus gives
// what it gives on all of them: the same operations, warnings and errors.
func TestFocusGivesSameResult(t *testing.T) {
	cur := `
image:
  repository: nginx
  tag: "1.21"
  other: {a: 1}
replicaCount: 2
list:
  - name: a
    v: 1
  - name: b
debug: true
tenants:
  a: {replicas: 1, owner: x}
  b: {replicas: 2, owner: y}
  c: {replicas: 3}
resources:
  limits: {cpu: 1, memory: 1Gi}
  requests: {cpu: 1}
name: plain
`
	inputs := []Input{
		{Set: []string{"image.tag=1.22", "replicaCount=5", "debug=false", "n=null"}},
		{Set: []string{"tenants.b.replicas=9"}},
		{Set: []string{"tenants.b.replicas=2"}},
		{Set: []string{"tenants.b.new.x=1", "tenants.z.replicas=1"}},
		{Set: []string{"name.x=1"}},
		{Set: []string{"tenants.a.replicas.x=1"}},
		{Set: []string{"list[1].v=2"}, String: []string{"image.tag=1.0"}},
		{Set: []string{"list={x}", "tenants=null"}},
		{JSON: []string{`resources={"limits":{"cpu":"500m"}}`}},
		{JSON: []string{`tenants={"b":{"owner":"z"}}`, `list[0]={"v":2}`}},
		{Replace: []string{`resources={"limits":{"cpu":"1"}}`}},
		{Replace: []string{`tenants.a={"replicas":4}`}},
		{Unset: []string{"tenants.c", "image.other.a", "missing.x"}, Set: []string{"tenants.c.replicas=1"}},
		{Unset: []string{"list[0]"}},
		{Files: []File{{"f.yaml", []byte("tenants:\n  b:\n    replicas: 4\n  d: {x: 1}\nimage: {}\nlist: []\n")}}},
		{Files: []File{{"f.yaml", []byte("name:\n  x: 1\n")}}},
		{Set: []string{"a=b=c,=x"}},
	}
	for i, in := range inputs {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			whole, err1 := Compute(values(t, cur), in)
			focus, ok := Focus(in)
			if !ok {
				if err1 == nil {
					t.Fatalf("Focus refused flags that Compute takes")
				}
				return
			}
			part, err2 := Compute(prune(values(t, cur), focus).(map[string]any), in)
			if (err1 == nil) != (err2 == nil) || (err1 != nil && err1.Error() != err2.Error()) {
				t.Fatalf("errors: whole %v, focused %v", err1, err2)
			}
			if err1 != nil {
				return
			}
			for _, r := range []*Result{whole, part} {
				for i := range r.Ops {
					r.Ops[i].Rank = nil
				}
			}
			if !reflect.DeepEqual(whole.Ops, part.Ops) || !reflect.DeepEqual(whole.NoEffect, part.NoEffect) || !reflect.DeepEqual(whole.Replaced, part.Replaced) {
				t.Fatalf("whole %+v\nfocused %+v\nfocus %v", whole, part, focus)
			}
		})
	}
}
