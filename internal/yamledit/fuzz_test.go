package yamledit

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzEdit checks the editor's promise on arbitrary input: after any edit
// that succeeds, decoding the file gives exactly the requested value at the
// path and every other value of every document unchanged, and the lines
// that changed all lie within the edited node (or the map it was added
// to). An edit may be refused, but never with ErrVerify: that would be the
// editor producing something other than what was asked.
//
// Run: go test ./internal/yamledit -run '^$' -fuzz FuzzEdit -fuzztime 60s
// (plain `go test` runs the seeds below).
func FuzzEdit(f *testing.F) {
	seeds := []struct {
		src, path, value string
		doc              uint8
		unset            bool
	}{
		{"a: 1\nb: 2\n", "a", "3", 0, false},
		{"a:\n  b: 1 # c\n\nd: x\n", "a.c", "true", 0, false},
		{"a: {x: 1, y: [1, 2]}\n", "a.y[2]", "z", 0, false},
		{"l:\n- a\n- b\n", "l[0]", "", 0, true},
		{"a: 1\r\nb:\r\n  c: 2\r\n", "b.d.e", "null", 0, false},
		{"k: |\n  text\n\nz: 1", "k", "v", 0, false},
		{"x: 1\n---\ny: &a {p: 1}\nz: *a\n", "y.p", "2", 1, false},
		{"v:\n  - name: a\n    on: true\n", "v[0].on", "yes", 0, false},
		{"a: 'q' # c\n", "a", "it's", 0, false},
		{"a:\n", "a.b[1]", "[]", 0, false},
		{"a: b\n", "a.c", "1", 0, false},
		{"m:\n  <<: {a: 1}\n  b: 2\n", "m.a", "5", 0, false},
		// Anchors: removing or replacing a block that holds one aliases
		// elsewhere use moves it to the first remaining alias.
		{"probes:\n  readiness:\n    port: &port 8123\n    path: /\nservice:\n  port: *port\nx: *port\n", "probes.readiness", "", 0, true},
		{"probes:\n  readiness:\n    port: &port 8123\nservice:\n  port: *port\n", "probes.readiness", "null", 0, false},
		{"d: &r\n  cpu: 1\n  mem: [1, 2]\nw:\n  r: *r\nl:\n- *r\n", "d", "", 0, true},
		{"d: &r\n  cpu: 1\nw: {r: *r}\n", "d", "", 0, true},
		{"base: &b\n  x: 1\nv:\n  <<: *b\n  y: 2\n", "base", "", 0, true},
		{"env:\n  P: &p 59936\n  T: x\n", "env.P", "50413", 0, false},
		{"a: &s |\n  one\n  two\nb: *s\n", "a", "", 0, true},
		{"a: &x 1\nb: *x\nc: &x 2\nd: *x\n", "a", "", 0, true},
		// BOMs before a key, a comment, a marker, a flow map.
		{"\ufeffapiVersion: v1\nspec:\n  values:\n    a: 1\n", "spec.values.b", "l1\nl2\n", 0, false},
		{"\ufeffa: 1\nb: 2\n", "a", "", 0, true},
		{"\ufeff# c\n---\na: 1\n---\nb: 2\n", "b", "x", 1, false},
		{"\ufeff{a: 1}\n", "b", "k=v", 0, false},
		{"\ufeff---\na: &a 1\n---\nb: 1\n", "a", "", 0, true},
		// Alias keys (`*app :`), as HelmReleases reuse one name.
		{"name: &app web\nv:\n  *app :\n    tag: 1\n  other: 2\n", "v.web.tag", "2", 0, false},
		{"name: &app web\nv:\n  *app : old\n  b: 1\n", "v.web", "", 0, true},
		{"name: &app web\nv: {*app : 1, b: 2}\n", "v.c", "3", 0, false},
		{"n: &k 9000\nv:\n  *k : x\n", "v.9000", "y", 0, false},
		{"m: &m {a: 1}\nv:\n  *m : x\n", "v.a", "y", 0, false},
		// SOPS-encrypted documents: ENC[...] values and the sops: block.
		{"apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nspec:\n  values:\n    password: ENC[AES256_GCM,data:Zm9v,iv:YmFy,tag:YmF6,type:str]\nsops:\n  mac: ENC[AES256_GCM,data:bWFj,iv:aXY=,tag:dGFn,type:str]\n  age:\n    - recipient: age1x\n      enc: |\n        -----BEGIN AGE ENCRYPTED FILE-----\n        YWJj\n        -----END AGE ENCRYPTED FILE-----\n  version: 3.9.0\n", "spec.values.password", "plain", 0, false},
		{"spec:\n  values:\n    a: ENC[AES256_GCM,data:eA==,iv:eQ==,tag:eg==,type:int]\nsops:\n  mac: ENC[x]\n  lastmodified: \"2024-01-01T00:00:00Z\"\n", "sops.mac", "", 0, true},
	}
	for _, s := range seeds {
		f.Add(s.src, s.path, s.value, s.doc, s.unset)
	}
	// The golden HelmRelease files, with a path that exists in most of them.
	files, _ := filepath.Glob(filepath.Join("testdata", "golden", "*.yaml"))
	for i, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		paths := []string{"spec.values.image.tag", "spec.values.replicaCount", "spec.interval", "metadata.labels.new"}
		f.Add(string(data), paths[i%len(paths)], strconv.Itoa(i), uint8(0), i%5 == 4)
	}
	f.Fuzz(func(t *testing.T, src, pathStr, value string, doc uint8, unsetOp bool) {
		path, ok := fuzzPath(pathStr)
		if !ok {
			return
		}
		op := Op{Path: path, Unset: unsetOp, Value: fuzzValue(value)}
		// Apply reads only the edited document; callers parse the whole
		// file first and refuse a malformed one.
		all, err := decodeAll([]byte(src))
		if err != nil {
			return
		}
		// The document findDoc cuts out reads as that document of the
		// whole file.
		{
			for i := range all {
				if c, ok := findDoc([]byte(src), i); ok {
					got, err := decodeAll(c.text([]byte(src)))
					if err != nil || len(got) != 1 || !equal(normalize(got[0]), normalize(all[i])) {
						t.Fatalf("document %d cut as %q decodes to %v (%v), want %v\nsrc: %q", i, c.text([]byte(src)), got, err, all[i], src)
					}
				}
			}
		}
		out, changes, err := Apply([]byte(src), int(doc), nil, []Op{op})
		if err != nil {
			if errors.Is(err, ErrVerify) {
				t.Fatalf("edit produced the wrong values: %v\nsrc: %q\nop: %s %v unset=%v", err, src, path, op.Value, op.Unset)
			}
			return
		}
		before, err1 := decodeDocs([]byte(src))
		after, err2 := decodeDocs(out)
		if err1 != nil || err2 != nil {
			t.Fatalf("decode: %v / %v\nout: %q", err1, err2, out)
		}
		if len(before) != len(after) {
			t.Fatalf("document count %d -> %d", len(before), len(after))
		}
		for i := range before {
			if i == int(doc) {
				continue
			}
			if !reflect.DeepEqual(normalize(before[i]), normalize(after[i])) {
				t.Fatalf("document %d changed\nsrc: %q\nout: %q", i, src, out)
			}
		}
		if op.Unset && !hasKey(before[doc], path) {
			if !bytes.Equal(out, []byte(src)) {
				t.Fatalf("unset of a missing %s changed the file\nsrc: %q\nout: %q", path, src, out)
			}
			return
		}
		got, found := Lookup(after[doc], path)
		_, index := path[len(path)-1].(int)
		switch {
		case op.Unset && found && !index:
			t.Fatalf("%s still set after unset\nout: %q", path, out)
		case !op.Unset && (!found || !equal(normalize(got), normalize(op.Value))):
			t.Fatalf("%s = %#v (found %v), want %#v\nsrc: %q\nout: %q", path, got, found, op.Value, src, out)
		}
		if want := setIn(before[doc], path, op); !equal(normalize(want), normalize(after[doc])) {
			t.Fatalf("other values changed\nsrc: %q\nout: %q", src, out)
		}
		if len(changes[0].Moved) == 0 { // a moved anchor changes the alias's line too
			checkLines(t, []byte(src), out, int(doc), path)
		}
	})
}

func hasKey(v any, p Path) bool { _, ok := Lookup(v, p); return ok }

// checkLines asserts that the old lines that changed all lie within the
// deepest node of the path that existed before the edit.
func checkLines(t *testing.T, src, out []byte, doc int, path Path) {
	// A kept BOM is not part of the first line's text.
	bom := func(b []byte) string { return strings.TrimPrefix(string(b), utf8BOM) }
	a := strings.SplitAfter(bom(src), "\n")
	b := strings.SplitAfter(bom(out), "\n")
	p := 0
	for p < len(a) && p < len(b) && a[p] == b[p] {
		p++
	}
	s := 0
	for s < len(a)-p && s < len(b)-p && a[len(a)-1-s] == b[len(b)-1-s] {
		s++
	}
	first, last := p, len(a)-s-1 // changed old lines, 0-based, inclusive
	if first > last {
		return
	}
	ps, err := parse(src)
	if err != nil {
		t.Fatal(err)
	}
	root := ps.docs[doc]
	sp, err := ps.spansOf(root)
	if err != nil {
		t.Fatal(err)
	}
	node, from := root.Content[0], sp[root.Content[0]].start
	for _, el := range path {
		var next, key *yaml.Node
		switch k := el.(type) {
		case string:
			if node.Kind == yaml.MappingNode {
				if j := findKey(node, k); j >= 0 {
					key, next = node.Content[2*j], node.Content[2*j+1]
				}
			}
		case int:
			if node.Kind == yaml.SequenceNode && k < len(node.Content) {
				next = node.Content[k]
			}
		}
		if next == nil {
			break
		}
		node = next
		from = sp[next].start
		if key != nil {
			from = sp[key].start
		}
	}
	lineOf := func(off int) int { return bytes.Count(src[:off], []byte("\n")) }
	lo, hi := lineOf(ps.lineStart(from)), lineOf(sp[node].end)
	// Removing the last line of a file without a final newline takes the
	// line break before it, so the file still ends without one.
	if first == lo-1 && first < len(b) && strings.TrimRight(a[first], "\r\n") == b[first] {
		first++
	}
	if first > last {
		return
	}
	if first < lo || last > hi {
		t.Fatalf("lines %d-%d changed, outside the edited node's lines %d-%d\nsrc: %q\nout: %q", first+1, last+1, lo+1, hi+1, src, out)
	}
}

func fuzzPath(s string) (Path, bool) {
	if s == "" || len(s) > 60 {
		return nil, false
	}
	var p Path
	for _, part := range strings.Split(s, ".") {
		name, rest, _ := strings.Cut(part, "[")
		if name == "" {
			return nil, false
		}
		p = append(p, name)
		for rest != "" {
			num, after, ok := strings.Cut(rest, "]")
			n, err := strconv.Atoi(num)
			if !ok || err != nil || n < 0 || n > 4 {
				return nil, false
			}
			p = append(p, n)
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return p, len(p) <= 6
}

func fuzzValue(s string) any {
	switch s {
	case "null":
		return nil
	case "true":
		return true
	case "false":
		return false
	case "{}":
		return map[string]any{}
	case "[]":
		return []any{}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && !strings.HasPrefix(s, "0") && !strings.HasPrefix(s, "+") {
		return n
	}
	if k, v, ok := strings.Cut(s, "="); ok && k != "" {
		return map[string]any{k: fuzzValue(v), "list": []any{v, int64(1)}}
	}
	return s
}

func decodeDocs(src []byte) ([]any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var out []any
	for {
		var v any
		err := dec.Decode(&v)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, stringKeys(v))
	}
}
