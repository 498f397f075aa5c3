package helmvalues

import (
	"errors"
	"reflect"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/kubectl-gitops/kubectl-gitops/internal/yamledit"
)

func values(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCompute(t *testing.T) {
	cur := `
image:
  repository: nginx
  tag: "1.21"
replicaCount: 2
list:
  - name: a
    v: 1
  - name: b
debug: true
`
	cases := []struct {
		name     string
		in       Input
		want     []yamledit.Op
		noEffect []string
	}{
		{"helm typing, command-line order", Input{Set: []string{"image.tag=1.22", "replicaCount=5", "debug=false", "n=null", "z=0", "o=010"}}, []yamledit.Op{
			{Path: yamledit.Path{"image", "tag"}, Value: "1.22"},
			{Path: yamledit.Path{"replicaCount"}, Value: int64(5)},
			{Path: yamledit.Path{"debug"}, Value: false},
			{Path: yamledit.Path{"n"}, Value: nil},
			{Path: yamledit.Path{"z"}, Value: int64(0)},
			{Path: yamledit.Path{"o"}, Value: "010"},
		}, nil},
		{"set-string", Input{String: []string{"replicaCount=5"}}, []yamledit.Op{{Path: yamledit.Path{"replicaCount"}, Value: "5"}}, nil},
		{"set-json", Input{JSON: []string{`resources={"limits":{"cpu":"1"}}`}}, []yamledit.Op{{Path: yamledit.Path{"resources"}, Value: map[string]any{"limits": map[string]any{"cpu": "1"}}}}, nil},
		{"set-json merges into a map", Input{JSON: []string{`image={"tag":"1.22","pullPolicy":"Always"}`}}, []yamledit.Op{
			{Path: yamledit.Path{"image", "tag"}, Value: "1.22"}, {Path: yamledit.Path{"image", "pullPolicy"}, Value: "Always"}}, nil},
		{"set-json: several pairs, list replaces", Input{JSON: []string{`image={"tag":"2"} ,list=[1]`}}, []yamledit.Op{
			{Path: yamledit.Path{"image", "tag"}, Value: "2"}, {Path: yamledit.Path{"list"}, Value: []any{float64(1)}}}, nil},
		{"set-json into a list item merges", Input{JSON: []string{`list[0]={"v":2}`}}, []yamledit.Op{{Path: yamledit.Path{"list", 0, "v"}, Value: float64(2)}}, nil},
		{"set-json null", Input{JSON: []string{`debug=null`}}, []yamledit.Op{{Path: yamledit.Path{"debug"}, Value: nil}}, nil},
		{"replace drops keys explicitly", Input{Replace: []string{`image={"tag":"2"}`}}, []yamledit.Op{
			{Path: yamledit.Path{"image", "tag"}, Value: "2"}, {Path: yamledit.Path{"image", "repository"}, Unset: true}}, nil},
		{"new keys in command-line order", Input{Set: []string{"zeta=1", "alpha.b=2,alpha.a=3"}, JSON: []string{`mid={"y":1,"x":2}`}}, []yamledit.Op{
			{Path: yamledit.Path{"mid"}, Value: map[string]any{"x": float64(2), "y": float64(1)}},
			{Path: yamledit.Path{"zeta"}, Value: int64(1)},
			{Path: yamledit.Path{"alpha"}, Value: map[string]any{"a": int64(3), "b": int64(2)}}}, nil},
		{"escaped dot", Input{Set: []string{`podAnnotations.prometheus\.io/scrape=true`}}, []yamledit.Op{{Path: yamledit.Path{"podAnnotations"}, Value: map[string]any{"prometheus.io/scrape": true}}}, nil},
		{"list index keeps the rest", Input{Set: []string{"list[1].v=2"}}, []yamledit.Op{{Path: yamledit.Path{"list", 1, "v"}, Value: int64(2)}}, nil},
		{"list append", Input{Set: []string{"list[2].name=c"}}, []yamledit.Op{{Path: yamledit.Path{"list", 2}, Value: map[string]any{"name": "c"}}}, nil},
		{"list literal replaces", Input{Set: []string{"list={x}"}}, []yamledit.Op{{Path: yamledit.Path{"list"}, Value: []any{"x"}}}, nil},
		{"no effect", Input{Set: []string{"replicaCount=2"}, String: []string{"image.tag=1.21"}}, nil, []string{"--set replicaCount=2", "--set-string image.tag=1.21"}},
		{"unset", Input{Unset: []string{"debug", "list[0]", "missing"}}, []yamledit.Op{{Path: yamledit.Path{"debug"}, Unset: true}, {Path: yamledit.Path{"list", 0}, Unset: true}}, []string{"--unset missing"}},
		{"unset then replace", Input{Unset: []string{"image.tag"}, Set: []string{"image.tag.x=1"}}, []yamledit.Op{{Path: yamledit.Path{"image", "tag"}, Unset: true}, {Path: yamledit.Path{"image", "tag"}, Value: map[string]any{"x": int64(1)}}}, nil},
		{"file deep merge", Input{Files: []File{{"f.yaml", []byte("image:\n  tag: \"2\"\nlist: []\n")}}}, []yamledit.Op{{Path: yamledit.Path{"image", "tag"}, Value: "2"}, {Path: yamledit.Path{"list"}, Value: []any{}}}, nil},
		{"order: set wins over file", Input{Files: []File{{"f.yaml", []byte("replicaCount: 3\n")}}, Set: []string{"replicaCount=4"}}, []yamledit.Op{{Path: yamledit.Path{"replicaCount"}, Value: int64(4)}}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := Compute(values(t, cur), c.in)
			if err != nil {
				t.Fatal(err)
			}
			for i := range res.Ops {
				res.Ops[i].Rank = nil // a func; its order shows in TestRanks
			}
			if !reflect.DeepEqual(res.Ops, c.want) {
				t.Errorf("ops = %#v\nwant  %#v", res.Ops, c.want)
			}
			if !reflect.DeepEqual(res.NoEffect, c.noEffect) {
				t.Errorf("no effect = %v, want %v", res.NoEffect, c.noEffect)
			}
		})
	}
}

// TestReplaced: --replace says which keys it drops, --set-json drops none.
func TestReplaced(t *testing.T) {
	cur := map[string]any{"resources": map[string]any{"requests": map[string]any{"cpu": "1"}, "limits": map[string]any{"cpu": "2", "memory": "1Gi"}}}
	res, err := Compute(cur, Input{Replace: []string{`resources={"limits":{"cpu":"500m"}}`}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`--replace resources={"limits":{"cpu":"500m"}} removes resources.limits.memory, resources.requests`}
	if !reflect.DeepEqual(res.Replaced, want) {
		t.Errorf("Replaced = %q, want %q", res.Replaced, want)
	}
	res, err = Compute(cur, Input{JSON: []string{`resources={"limits":{"cpu":"500m"}}`}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Replaced) != 0 || len(res.Ops) != 1 || res.Ops[0].Unset || res.Ops[0].Path.String() != "resources.limits.cpu" {
		t.Errorf("--set-json ops = %+v, replaced %q; want the one leaf resources.limits.cpu", res.Ops, res.Replaced)
	}
}

// TestRanks: the keys of new maps rank in the order the flags name them.
func TestRanks(t *testing.T) {
	res, err := Compute(nil, Input{
		Files: []File{{"f.yaml", []byte("script: |\n  a\nimage:\n  tag: x\n  repository: r\n")}},
		JSON:  []string{`resources={"limits":{"memory":"1Gi","cpu":"1"}}`},
		Set:   []string{"replicaCount=2,image.pullPolicy=Always"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, op := range res.Ops {
		order = append(order, op.Path.String())
	}
	if want := []string{"script", "image", "resources", "replicaCount"}; !reflect.DeepEqual(order, want) {
		t.Errorf("op order %v, want %v", order, want)
	}
	rank := res.Ops[0].Rank
	less := func(a, b yamledit.Path) bool { x, _ := rank(a); y, _ := rank(b); return x < y }
	if !less(yamledit.Path{"image", "tag"}, yamledit.Path{"image", "repository"}) || !less(yamledit.Path{"image", "repository"}, yamledit.Path{"image", "pullPolicy"}) ||
		!less(yamledit.Path{"resources", "limits", "memory"}, yamledit.Path{"resources", "limits", "cpu"}) {
		t.Errorf("ranks do not follow the command line")
	}
}

// TestCommandLineOrder: with Order, new keys follow the command line
// across flag kinds, not the order the kinds apply in.
func TestCommandLineOrder(t *testing.T) {
	in := Input{
		Files: []File{{"f.yaml", []byte("fromFile: 1\n")}},
		JSON:  []string{`json={"b":1,"a":2}`},
		Set:   []string{"set1=1", "set2=2"},
		Order: []string{"set", "set-json", "values", "set"},
	}
	res, err := Compute(nil, in)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, op := range res.Ops {
		order = append(order, op.Path.String())
	}
	if want := []string{"set1", "json", "fromFile", "set2"}; !reflect.DeepEqual(order, want) {
		t.Errorf("op order %v, want %v", order, want)
	}
}

func TestComputeErrors(t *testing.T) {
	cur := map[string]any{"image": map[string]any{"tag": "x"}, "l": []any{"a"}}
	for _, c := range []struct {
		in       Input
		conflict bool
	}{
		{Input{Set: []string{"image.tag.x=1"}}, true},
		{Input{Set: []string{"image=1"}}, true},
		{Input{Set: []string{"l.x=1"}}, true},
		{Input{Set: []string{"image.tag[0]=1"}}, true},
		{Input{Set: []string{"novalue"}}, false},
		{Input{Set: []string{"a[x]=1"}}, false},
		{Input{JSON: []string{"a={bad"}}, false},
		{Input{Replace: []string{"a={bad"}}, false},
		{Input{JSON: []string{`image="x"`}}, true},
		{Input{Unset: []string{"a=b"}}, false},
		{Input{Files: []File{{"f", []byte("- a list")}}}, false},
		// Empty key segments: Helm writes a key "" (or nothing) silently.
		{Input{Set: []string{"=x"}}, false},
		{Input{Set: []string{".a=x"}}, false},
		{Input{Set: []string{"a..b=x"}}, false},
		{Input{Set: []string{"a.=x"}}, false},
		{Input{String: []string{"=x"}}, false},
		{Input{JSON: []string{`.a=1`}}, false},
		{Input{Unset: []string{".a"}}, false},
	} {
		_, err := Compute(cur, c.in)
		var ce *ConflictError
		var ue *UsageError
		if c.conflict && !errors.As(err, &ce) || !c.conflict && !errors.As(err, &ue) {
			t.Errorf("%+v: got %v (%T)", c.in, err, err)
		}
	}
	// A null may replace a map: that is how Helm users drop a default.
	if res, err := Compute(cur, Input{Set: []string{"image=null"}}); err != nil || len(res.Ops) != 1 || res.Ops[0].Value != nil {
		t.Errorf("image=null: %v %v", res, err)
	}
}

func TestParsePath(t *testing.T) {
	for in, want := range map[string]yamledit.Path{
		"a":         {"a"},
		"a.b":       {"a", "b"},
		`a\.b.c`:    {"a.b", "c"},
		"l[2].name": {"l", 2, "name"},
		"l[0][1]":   {"l", 0, 1},
	} {
		got, err := ParsePath(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParsePath(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}

func TestSummary(t *testing.T) {
	ops := []yamledit.Op{{Path: yamledit.Path{"image", "tag"}, Value: "1.22"}, {Path: yamledit.Path{"replicaCount"}, Value: int64(5)},
		{Path: yamledit.Path{"db", "password"}, Value: "s3cret"}, {Path: yamledit.Path{"debug"}, Unset: true},
		{Path: yamledit.Path{"r"}, Value: map[string]any{"a": []any{int64(1)}, "b": map[string]any{"c": "x"}}}}
	got := Summary(ops, func(p yamledit.Path) bool { return p[0] == "db" })
	if want := "image.tag=1.22, replicaCount=5, db.password=<redacted>, unset debug, r.a=[1], r.b.c=x"; got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
}
