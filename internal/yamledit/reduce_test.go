package yamledit

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// smallReductions lowers the sizes from which documents are reduced, so
// that test inputs of a few lines are.
func smallReductions(tb testing.TB) {
	tb.Helper()
	r, e, p := reduceMin, elideMin, pieceMax
	reduceMin, elideMin, pieceMax = 0, 1, 40
	tb.Cleanup(func() { reduceMin, elideMin, pieceMax = r, e, p })
}

// focusOf is the focus that reads the paths: their string keys up to the
// first index, whose value is kept whole.
func focusOf(paths ...Path) map[string]any {
	f := map[string]any{}
	for _, p := range paths {
		m := f
		for i, el := range p {
			k, ok := el.(string)
			if !ok {
				break
			}
			last := i == len(p)-1
			if _, isIdx := func() (any, bool) {
				if !last {
					_, ok := p[i+1].(int)
					return nil, ok
				}
				return nil, false
			}(); last || isIdx {
				m[k] = nil
				break
			}
			sub, ok := m[k].(map[string]any)
			if !ok {
				if v, there := m[k]; there && v == nil {
					break // already whole
				}
				sub = map[string]any{}
				m[k] = sub
			}
			m = sub
		}
	}
	return f
}

// sameEdit runs ops on document doc of src through the whole tree (Open)
// and through the reduced path (OpenFocused), and fails unless both give
// the same bytes, changes and errors. It reports whether the reduction
// was used.
func sameEdit(t *testing.T, src []byte, doc int, base Path, ops []Op) bool {
	t.Helper()
	paths := make([]Path, len(ops))
	for i, op := range ops {
		paths[i] = op.Path
	}
	focus := focusOf(paths...)
	whole, err1 := Open(src, doc)
	red, err2 := OpenFocused(src, doc, base, focus)
	if (err1 == nil) != (err2 == nil) || (err1 != nil && err1.Error() != err2.Error()) {
		t.Fatalf("Open: %v, OpenFocused: %v\nsrc: %q", err1, err2, clip(src))
	}
	if err1 != nil {
		return false
	}
	reduced := red.red != nil
	for _, p := range paths {
		full := append(append(Path{}, base...), p...)
		v1, ok1 := whole.Get(full)
		v2, ok2 := red.Get(full)
		if ok1 != ok2 || !equal(normalize(v1), normalize(v2)) {
			t.Fatalf("Get(%s): whole %v %v, reduced %v %v\nsrc: %q\nreduced: %q", full, v1, ok1, v2, ok2, clip(src), clip(red.red.text))
		}
	}
	var redText []byte
	if red.red != nil {
		redText = red.red.text
	}
	out1, ch1, err1 := whole.Apply(base, ops)
	out2, ch2, err2 := red.Apply(base, ops)
	if (err1 == nil) != (err2 == nil) || (err1 != nil && err1.Error() != err2.Error()) {
		t.Fatalf("Apply: whole %v, reduced %v\nsrc: %q\nreduced: %q", err1, err2, clip(src), clip(redText))
	}
	if !bytes.Equal(out1, out2) {
		t.Fatalf("Apply: the reduced edit differs\nsrc: %q\nreduced: %q\n%s", clip(src), clip(redText), firstDiff(out1, out2))
	}
	for i := range ch1 {
		ch1[i].Op.Rank, ch2[i].Op.Rank = nil, nil
		if !reflect.DeepEqual(normalize(ch1[i].Old), normalize(ch2[i].Old)) {
			t.Fatalf("change %d: old %v, reduced %v", i, ch1[i].Old, ch2[i].Old)
		}
		ch1[i].Old, ch2[i].Old = nil, nil
		if !reflect.DeepEqual(ch1[i], ch2[i]) {
			t.Fatalf("change %d: whole %+v, reduced %+v\nsrc: %q", i, ch1[i], ch2[i], clip(src))
		}
	}
	return reduced
}

// FuzzReduced is a differential test of the reduced path against the
// whole tree: for any document and any two operations, OpenFocused and
// Apply give the same bytes, changes and errors as Open and Apply.
//
// Run: go test ./internal/yamledit -run '^$' -fuzz FuzzReduced -fuzztime 3m
func FuzzReduced(f *testing.F) {
	seeds := []struct{ src, p1, v1, p2, v2 string }{
		{"a: 1\nb:\n  c: 2\n  d: 3\n  e: 4\nf: 5\n", "b.d", "9", "", ""},
		{"a: 1\nb:\n  c: 2\n  d: 3\n  e:\n    x: 1\n    y: 2\nf: 5\n", "b.e.z", "1", "b.q", "k=v"},
		{"a: 1\nb:\n  c: 2\n  d: |\n    text\n    more\n  e: 4\n", "b.c", "", "b.new", "l1\nl2\n"},
		{"a: 1\r\nb:\r\n  c: 2\r\n  d: 3\r\n  e: 4\r\n", "b.c", "x", "", ""},
		{"m:\n  a: \"x\n  b: y\"\n  c: 1\n  d: 2\n", "m.d", "3", "", ""},
		{"m:\n  a: [1,\n  2]\n  b: 1\n  c: 2\n", "m.c", "3", "", ""},
		{"m:\n  a: &x 1\n  b: *x\n  c: 1\n  d: 2\n", "m.d", "3", "", ""},
		{"m:\n  a:\n  - 1\n  - 2\n  b: 1\n  c:\n      deep: 1\n  d: 2\n", "m.new", "k=v", "", ""},
		{"m:\n  a: 1\n  a: 2\n  c: 1\n  d: 2\n", "m.d", "3", "", ""},
		{"---\nm:\n  a: 1\n  b: 2\n  c: 3\n...\n", "m.b", "", "", ""},
		{"m:\n  'a': 1\n  \"b\\\"\": 2\n  c: 3 # c\n  d: 4\n", "m.c", "5", "", ""},
		{"m:\n  # head\n  a: 1\n\n  b: 2\n  # tail\n  c: 3\nz: 1", "m.b", "", "m.c", ""},
	}
	for _, s := range seeds {
		f.Add(s.src, s.p1, s.v1, s.p2, s.v2, false)
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "golden", "*.yaml"))
	for i, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data), "spec.values.image.tag", fmt.Sprint(i), "spec.values.new.key", "v", i%2 == 0)
	}
	f.Fuzz(func(t *testing.T, src, p1, v1, p2, v2 string, unset bool) {
		smallReductions(t)
		var ops []Op
		for i, pv := range [][2]string{{p1, v1}, {p2, v2}} {
			p, ok := fuzzPath(pv[0])
			if !ok {
				continue
			}
			ops = append(ops, Op{Path: p, Value: fuzzValue(pv[1]), Unset: unset && i == 0})
		}
		if len(ops) == 0 {
			return
		}
		if _, err := decodeAll([]byte(src)); err != nil {
			return
		}
		sameEdit(t, []byte(src), 0, nil, ops)
	})
}

// TestReducedValuesMap edits a HelmRelease whose values map is large
// enough to be reduced: the reduction is used, only the edited keys are
// parsed, and the result is the whole tree's.
func TestReducedValuesMap(t *testing.T) {
	smallReductions(t)
	elideMin = 200
	var b strings.Builder
	b.WriteString("apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: big\nspec:\n  interval: 1m\n  values:\n    image:\n      tag: \"1.0\" # pinned\n    tenants:\n")
	for i := 0; i < 300; i++ {
		fmt.Fprintf(&b, "      svc-%04d:\n        replicas: %d\n        owner: \"team-%d\"\n        ports:\n          - 80\n", i, i%3, i%7)
	}
	b.WriteString("    last: true\n")
	src := []byte(b.String())
	base := Path{"spec", "values"}
	cases := [][]Op{
		{{Path: Path{"tenants", "svc-0100", "replicas"}, Value: int64(9)}},
		{{Path: Path{"tenants", "svc-0100", "new"}, Value: map[string]any{"a": []any{"x", int64(1)}}}},
		{{Path: Path{"tenants", "svc-0299"}, Unset: true}, {Path: Path{"tenants", "zzz", "replicas"}, Value: int64(1)}},
		{{Path: Path{"tenants", "svc-0000", "owner"}, Value: "x"}, {Path: Path{"image", "tag"}, Value: "2.0"}},
		{{Path: Path{"tenants", "svc-0150"}, Unset: true}},
		{{Path: Path{"tenants", "svc-0150", "replicas", "x"}, Value: int64(1)}}, // an error: replicas is a number
	}
	for i, ops := range cases {
		if !sameEdit(t, src, 0, base, ops) {
			t.Errorf("case %d: the document was not reduced", i)
		}
	}
	d, err := OpenFocused(src, 0, base, focusOf(Path{"tenants", "svc-0100", "replicas"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(d.red.text); got*10 > len(src) {
		t.Errorf("the reduced text is %d bytes of %d: not reduced much", got, len(src))
	}
	// A duplicate key among the elided entries is found, and reported by
	// the whole tree.
	dup := bytes.Replace(src, []byte("svc-0201:"), []byte("svc-0200:"), 1)
	if _, err := OpenFocused(dup, 0, base, focusOf(Path{"tenants", "svc-0100"})); err == nil || !strings.Contains(err.Error(), `"svc-0200" already defined`) {
		t.Errorf("duplicate elided key: %v", err)
	}
	bad := bytes.Replace(src, []byte("owner: \"team-3\""), []byte("owner: \"team-3"), 1)
	if _, err := OpenFocused(bad, 0, base, focusOf(Path{"tenants", "svc-0100"})); err == nil {
		t.Error("a syntax error in the elided text was not reported")
	}
}

func clip(b []byte) string {
	if len(b) > 600 {
		return string(b[:300]) + "..." + string(b[len(b)-300:])
	}
	return string(b)
}

// firstDiff shows where a and b first differ.
func firstDiff(a, b []byte) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	from := max(i-200, 0)
	return fmt.Sprintf("at byte %d:\nwhole:   %q\nreduced: %q", i, a[from:min(i+200, len(a))], b[from:min(i+200, len(b))])
}
