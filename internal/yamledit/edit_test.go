package yamledit

import (
	"errors"
	"strings"
	"testing"
)

func set(v any, p ...any) Op { return Op{Path: Path(p), Value: v} }
func unset(p ...any) Op      { return Op{Path: Path(p), Unset: true} }

func TestApply(t *testing.T) {
	cases := []struct {
		name string
		src  string
		doc  int
		ops  []Op
		want string
	}{
		{"replace plain", "a: 1\nb: 2\n", 0, []Op{set(int64(3), "a")}, "a: 3\nb: 2\n"},
		{"keep double quotes", "tag: \"1.21\" # pinned\n", 0, []Op{set("1.22", "tag")}, "tag: \"1.22\" # pinned\n"},
		{"keep single quotes", "tag: '1.21'\n", 0, []Op{set("it's", "tag")}, "tag: 'it''s'\n"},
		{"string that reads as number gets quotes", "tag: latest\n", 0, []Op{set("1.22", "tag")}, "tag: \"1.22\"\n"},
		{"yaml 1.1 bool word gets quotes", "a: x\n", 0, []Op{set("on", "a")}, "a: \"on\"\n"},
		{"int replaces quoted string", "n: \"5\"\n", 0, []Op{set(int64(5), "n")}, "n: 5\n"},
		{"new key indented like siblings", "v:\n    a: 1\n    b: 2\nz: 0\n", 0, []Op{set(true, "v", "c")}, "v:\n    a: 1\n    b: 2\n    c: true\nz: 0\n"},
		{"new nested maps use file indent", "v:\n    a: 1\n", 0, []Op{set("x", "v", "image", "tag")}, "v:\n    a: 1\n    image:\n        tag: x\n"},
		{"missing base created", "spec:\n  interval: 5m\n", 0, []Op{set(int64(2), "spec", "values", "replicaCount")}, "spec:\n  interval: 5m\n  values:\n    replicaCount: 2\n"},
		{"empty flow map placeholder becomes block", "spec:\n  values: {}\n  x: 1\n", 0, []Op{set("v", "spec", "values", "a")}, "spec:\n  values:\n    a: v\n  x: 1\n"},
		{"flow map stays flow", "v: {a: 1, b: \"x\"}\n", 0, []Op{set(int64(2), "v", "c")}, "v: {a: 1, b: \"x\", c: 2}\n"},
		{"flow map value replaced", "v: {a: 1, b: \"x\"}\n", 0, []Op{set("y", "v", "b")}, "v: {a: 1, b: \"y\"}\n"},
		{"null value becomes map", "spec:\n  values:\n  x: 1\n", 0, []Op{set(int64(1), "spec", "values", "a")}, "spec:\n  values:\n    a: 1\n  x: 1\n"},
		{"explicit null becomes map", "values: null # none yet\n", 0, []Op{set(int64(1), "values", "a")}, "values: # none yet\n  a: 1\n"},
		{"through scalar is an error", "a: 1\n", 0, []Op{set(int64(1), "a", "b")}, "error:is the int \"1\""},
		{"through list with key is an error", "a: [1]\n", 0, []Op{set(int64(1), "a", "b")}, "error:not a map"},
		{"comments and blank lines kept", "# head\na: 1 # one\n\n# about b\nb: 2\n", 0, []Op{set(int64(9), "b")}, "# head\na: 1 # one\n\n# about b\nb: 9\n"},
		{"crlf kept", "a:\r\n  b: 1\r\nc: 2\r\n", 0, []Op{set(int64(2), "a", "b"), set("no", "a", "d")}, "a:\r\n  b: 2\r\n  d: \"no\"\r\nc: 2\r\n"},
		{"no trailing newline kept", "a:\n  b: 1", 0, []Op{set(int64(2), "a", "c")}, "a:\n  b: 1\n  c: 2"},
		{"other documents untouched", "a: 1\n---\na: 1\n---\na: 1\n", 1, []Op{set(int64(2), "a")}, "a: 1\n---\na: 2\n---\na: 1\n"},
		{"list index", "l:\n- name: a\n  v: 1\n- name: b\n  v: 2\n", 0, []Op{set(int64(5), "l", 1, "v")}, "l:\n- name: a\n  v: 1\n- name: b\n  v: 5\n"},
		{"list append", "l:\n  - a\n  - b\n", 0, []Op{set("c", "l", 2)}, "l:\n  - a\n  - b\n  - c\n"},
		{"list append map", "l:\n  - name: a\n", 0, []Op{set("b", "l", 1, "name")}, "l:\n  - name: a\n  - name: b\n"},
		{"list pad with null like helm", "l: [a]\n", 0, []Op{set("c", "l", 2)}, "l: [a, null, c]\n"},
		{"list replaced whole", "l:\n  - a\n  - b\nx: 1\n", 0, []Op{set([]any{"z"}, "l")}, "l:\n  - z\nx: 1\n"},
		{"map replaced by null", "r:\n  limits:\n    cpu: 1\nx: 1\n", 0, []Op{set(nil, "r")}, "r: null\nx: 1\n"},
		{"block scalar replaced", "s: |\n  one\n  two\nx: 1\n", 0, []Op{set("three", "s")}, "s: three\nx: 1\n"},
		{"value after block scalar", "s: |\n  one\n\n  two\nx: 1\n", 0, []Op{set(int64(2), "x")}, "s: |\n  one\n\n  two\nx: 2\n"},
		{"insert after block scalar", "v:\n  s: >-\n    folded\n    text\n# tail\n", 0, []Op{set(int64(1), "v", "num")}, "v:\n  s: >-\n    folded\n    text\n  num: 1\n# tail\n"},
		{"unset key", "a: 1\nb: 2 # two\nc: 3\n", 0, []Op{unset("b")}, "a: 1\nc: 3\n"},
		{"unset nested block", "v:\n  a:\n    x: 1\n    y: 2\n  b: 1\n", 0, []Op{unset("v", "a")}, "v:\n  b: 1\n"},
		{"unset last key leaves empty map", "v:\n  a: 1\nz: 1\n", 0, []Op{unset("v", "a")}, "v: {}\nz: 1\n"},
		{"unset last line without newline", "a: 1\nb: 2", 0, []Op{unset("b")}, "a: 1"},
		{"unset in flow", "v: {a: 1, b: 2, c: 3}\n", 0, []Op{unset("v", "b"), unset("v", "c")}, "v: {a: 1}\n"},
		{"unset missing is no-op", "a: 1\n", 0, []Op{unset("b")}, "a: 1\n"},
		{"unset list item", "l:\n  - a\n  - b\n  - c\n", 0, []Op{unset("l", 1)}, "l:\n  - a\n  - c\n"},
		{"unset first key of list item", "l:\n  - name: a\n    v: 1\n", 0, []Op{unset("l", 0, "name")}, "l:\n  - v: 1\n"},
		{"alias key matched", "name: &app web\nv:\n  *app :\n    tag: 1\n  other: 2\n", 0, []Op{set(int64(2), "v", "web", "tag")}, "name: &app web\nv:\n  *app :\n    tag: 2\n  other: 2\n"},
		{"alias key value replaced", "name: &app web\nv:\n  *app : old\n", 0, []Op{set("new", "v", "web")}, "name: &app web\nv:\n  *app : new\n"},
		{"alias key removed", "name: &app web\nv:\n  *app : old\n  b: 1\n", 0, []Op{unset("v", "web")}, "name: &app web\nv:\n  b: 1\n"},
		{"alias key beside new key", "name: &app web\nv:\n  *app :\n    tag: 1\n", 0, []Op{set(int64(3), "v", "replicas")}, "name: &app web\nv:\n  *app :\n    tag: 1\n  replicas: 3\n"},
		{"alias path refused", "base: &b\n  x: 1\nv: *b\n", 0, []Op{set(int64(2), "v", "x")}, "error:alias"},
		{"anchored value refused", "a: &t 1\nb: *t\n", 0, []Op{set(int64(2), "a")}, "error:anchor &t"},
		{"merge key: leaf set overrides", "base: &b\n  x: 1\nv:\n  <<: *b\n  y: 2\n", 0, []Op{set(int64(5), "v", "x")}, "base: &b\n  x: 1\nv:\n  <<: *b\n  y: 2\n  x: 5\n"},
		{"merge key: deeper set refused", "base: &b\n  x:\n    a: 1\nv:\n  <<: *b\n", 0, []Op{set(int64(5), "v", "x", "b")}, "error:merge"},
		{"unused anchor is kept", "a: &t 1\nb: 2\n", 0, []Op{set(int64(2), "a")}, "a: &t 2\nb: 2\n"},
		{"below a shared anchor refused", "d: &r\n  cpu: 1\nw: *r\n", 0, []Op{set(int64(2), "d", "cpu")}, "error:anchor &r"},
		{"tagged value", "a: !!str 2\n", 0, []Op{set(int64(3), "a")}, "a: 3\n"},
		{"unicode before value", "ä: {é: 1, f: x}\n", 0, []Op{set("z", "ä", "f")}, "ä: {é: 1, f: z}\n"},
		{"same value is no-op", "a: \"1\"\n", 0, []Op{set("1", "a")}, "a: \"1\"\n"},
		{"multiline string is a block scalar", "a: x\n", 0, []Op{set("l1\nl2", "a")}, "a: |-\n  l1\n  l2\n"},
		{"multiline string keeps quotes", "a: \"x\"\n", 0, []Op{set("l1\nl2", "a")}, "a: \"l1\\nl2\"\n"},
		{"multiline string, final newline: |", "v:\n  a: 1\n", 0, []Op{set("l1\n\n  l3\n", "v", "s")}, "v:\n  a: 1\n  s: |\n    l1\n\n      l3\n"},
		{"multiline string as list item", "l:\n  - a\n", 0, []Op{set("x\ny\n", "l", 1)}, "l:\n  - a\n  - |\n    x\n    y\n"},
		{"multiline string, leading space stays quoted", "a: x\n", 0, []Op{set(" l1\nl2", "a")}, "a: \" l1\\nl2\"\n"},
		{"multiline string at end of file without newline stays quoted", "a: x", 0, []Op{set("l1\nl2", "a")}, "a: \"l1\\nl2\""},
		{"empty list item set", "l:\n-\n- b\n", 0, []Op{set("a", "l", 0)}, "l:\n- a\n- b\n"},
		{"indentless sequence kept", "a:\n  b: 1\n  l:\n  - x\n", 0, []Op{set([]any{"z"}, "a", "m")}, "a:\n  b: 1\n  l:\n  - x\n  m:\n  - z\n"},
		{"multi-line plain", "a: one\n  two\nb: 1\n", 0, []Op{set("x", "a")}, "a: x\nb: 1\n"},
		{"double quoted multi-line", "a: \"one\n  two\"\nb: 1\n", 0, []Op{set("x", "a")}, "a: \"x\"\nb: 1\n"},
		{"flow list multi-line", "a: [\n  1, 2\n]\nb: 1\n", 0, []Op{set(int64(3), "a", 2)}, "a: [\n  1, 2, 3\n]\nb: 1\n"},
		{"unset block moves its anchor to the first alias", "probes:\n  readiness:\n    port: &port 8123\n    path: /ready\n  liveness:\n    path: /live\nservice:\n  port: *port\nother: *port\n", 0, []Op{unset("probes", "readiness")}, "probes:\n  liveness:\n    path: /live\nservice:\n  port: &port 8123\nother: *port\n"},
		{"null over block moves its anchor", "probes:\n  readiness:\n    port: &port 8123 # http\nservice:\n  port: *port # same\n", 0, []Op{set(nil, "probes", "readiness")}, "probes:\n  readiness: null # http\nservice:\n  port: &port 8123 # same\n"},
		{"unset anchored scalar moves it", "a: &t 1\nb: *t\n", 0, []Op{unset("a")}, "b: &t 1\n"},
		{"unset anchored map moves it, re-indented", "defaults: &res\n    cpu: 1\n    memory: 1Gi\nweb:\n  resources: *res # shared\nworker:\n  resources: *res\n", 0, []Op{unset("defaults")},
			"web:\n  resources: &res # shared\n    cpu: 1\n    memory: 1Gi\nworker:\n  resources: *res\n"},
		{"anchored map moves into a list item", "d: &r\n  cpu: 1\n  mem: 2\nl:\n  - *r\n", 0, []Op{unset("d")}, "l:\n  - &r\n    cpu: 1\n    mem: 2\n"},
		{"anchored map moves to a merge key", "base: &b\n  x: 1\nv:\n  <<: *b\n  y: 2\n", 0, []Op{unset("base")}, "v:\n  <<: &b\n    x: 1\n  y: 2\n"},
		{"anchored list moves", "a: &l\n- x\n- y\nb: *l\n", 0, []Op{unset("a")}, "b: &l\n  - x\n  - y\n"},
		{"unset list item moves its anchor", "l:\n  - &i one\n  - two\nx: *i\n", 0, []Op{unset("l", 0)}, "l:\n  - two\nx: &i one\n"},
		{"aliases inside the removed block need no move", "a:\n  p: &p 1\n  q: *p\nb: 2\n", 0, []Op{unset("a")}, "b: 2\n"},
		{"multi-line anchor into flow is refused", "d: &r\n  cpu: 1\nw: {r: *r}\n", 0, []Op{unset("d")}, "error:d: holds the anchor &r (line 1) that *r on line 3 still uses"},
		{"block value to an alias ending the file without newline is refused", "a: &s |\n 0\nb: *s", 0, []Op{unset("a")}, "error:ends the file without a final newline"},
		{"block scalar at column 1 before a new key is refused", "0: !\n>\n", 0, []Op{set(int64(0), "1")}, "error:block scalar (| or >) at the start of line 2"},
		{"anchor defined twice is refused", "a: &x 1\nb: *x\nc: &x 2\nd: *x\n", 0, []Op{unset("a")}, "error:defined more than once"},
		{"replace anchored scalar keeps the anchor", "env:\n  QBT_TORRENTING_PORT: &torrentPort 59936\n  TZ: UTC\n", 0, []Op{set(int64(50413), "env", "QBT_TORRENTING_PORT")}, "env:\n  QBT_TORRENTING_PORT: &torrentPort 50413\n  TZ: UTC\n"},
		{"replace anchored quoted string keeps anchor and quotes", "a: &v \"1.0\"\n", 0, []Op{set("1.1", "a")}, "a: &v \"1.1\"\n"},
		{"replace anchored map keeps the anchor", "r: &r\n  cpu: 1\nx: 1\n", 0, []Op{set([]any{"a"}, "r")}, "r: &r\n  - a\nx: 1\n"},
		{"replace anchored scalar by a map keeps the anchor", "r: &r 1 # c\n", 0, []Op{set(map[string]any{"a": int64(1)}, "r")}, "r: &r # c\n  a: 1\n"},
		{"replace shared anchored scalar is refused, naming the aliases", "env:\n  P: &p 1\nsvc:\n  port: *p\n", 0, []Op{set(int64(2), "env", "P")}, "error:aliases on line 4 share"},
		{"BOM before the first key", "\ufeffapiVersion: v1\nspec:\n  values:\n    a: 1\n", 0, []Op{set(int64(2), "spec", "values", "a"), set("x", "spec", "values", "b")}, "\ufeffapiVersion: v1\nspec:\n  values:\n    a: 2\n    b: x\n"},
		{"BOM: replace the first value", "\ufeffa: 1\nb: 2\n", 0, []Op{set(int64(3), "a")}, "\ufeffa: 3\nb: 2\n"},
		{"BOM: unset the first key", "\ufeffa: 1\nb: 2\n", 0, []Op{unset("a")}, "\ufeffb: 2\n"},
		{"BOM before a comment", "\ufeff# c\na: 1\n", 0, []Op{set(int64(3), "a")}, "\ufeff# c\na: 3\n"},
		{"BOM and CRLF", "\ufeffa:\r\n  b: 1\r\n", 0, []Op{set(int64(3), "a", "c")}, "\ufeffa:\r\n  b: 1\r\n  c: 3\r\n"},
		{"BOM: new key in a flow document", "\ufeff{a: 1}\n", 0, []Op{set(int64(3), "b")}, "\ufeff{a: 1, b: 3}\n"},
		{"flow map key without a value", "a: {y, z: 1}\n", 0, []Op{set(int64(0), "a", "y")}, "a: {y: 0, z: 1}\n"},
		{"flow map key with an empty value", "a: {y: , z: 1}\n", 0, []Op{set(int64(0), "a", "y")}, "a: {y: 0, z: 1}\n"},
		{"imagepolicy marker kept", "image:\n  tag: 1.0 # {\"$imagepolicy\": \"flux-system:app:tag\"}\n", 0, []Op{set("2.0", "image", "tag")}, "image:\n  tag: \"2.0\" # {\"$imagepolicy\": \"flux-system:app:tag\"}\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, _, err := Apply([]byte(c.src), c.doc, nil, c.ops)
			if want, ok := strings.CutPrefix(c.want, "error:"); ok {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("want error containing %q, got %v\n%s", want, err, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if string(got) != c.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, c.want)
			}
		})
	}
}

func TestChanges(t *testing.T) {
	src := "image:\n  tag: 1.0 # {\"$imagepolicy\": \"flux-system:app:tag\"}\nn: 1\n"
	_, ch, err := Apply([]byte(src), 0, nil, []Op{set("2.0", "image", "tag"), set(int64(1), "n"), unset("gone")})
	if err != nil {
		t.Fatal(err)
	}
	if !ch[0].Changed || ch[0].Marker != `{"$imagepolicy": "flux-system:app:tag"}` || ch[0].Line != 2 || ch[0].Old != 1.0 {
		t.Errorf("change 0 = %+v", ch[0])
	}
	if ch[1].Changed || !ch[1].Existed {
		t.Errorf("change 1 (same value) = %+v", ch[1])
	}
	if ch[2].Changed || ch[2].Existed {
		t.Errorf("change 2 (unset missing) = %+v", ch[2])
	}
}

func TestErrors(t *testing.T) {
	if _, _, err := Apply([]byte("a: [1\n"), 0, nil, []Op{set(1, "a")}); !errors.As(err, new(*SyntaxError)) {
		t.Errorf("malformed: %v", err)
	}
	if _, _, err := Apply([]byte("a: 1\n"), 3, nil, []Op{set(1, "a")}); err == nil || !strings.Contains(err.Error(), "document 4") {
		t.Errorf("missing document: %v", err)
	}
	var pe *PathError
	if _, _, err := Apply([]byte("a: x\n"), 0, Path{"a"}, []Op{set(1, "b")}); !errors.As(err, &pe) || pe.Path.String() != "a" {
		t.Errorf("through scalar: %v", err)
	}
}

func TestPathString(t *testing.T) {
	if got := (Path{"a", "b.c", 0, "d"}).String(); got != `a.b\.c[0].d` {
		t.Errorf("got %s", got)
	}
}
