package yamledit

import (
	"reflect"
	"testing"
)

// TestFindDoc: the chunk findDoc cuts for each document decodes to what
// yaml.v3 decodes that document of the whole file to, with the same line
// numbers.
func TestFindDoc(t *testing.T) {
	for _, src := range []string{
		"a: 1\n",
		"a: 1\n---\nb: 2\n",
		"---\na: 1\n---\nb: 2\n...\n---\nc: 3",
		"# only a comment\n---\na: 1\n---\n---\nb: 2\n",
		"\ufeffa: 1\n--- # two\nb: |\n  ---x\n  text\n",
		"---\n---\na: 1\n",
		"a: 1\r\n---\r\nb: [\r\n  1]\r\n",
		"---x: 1\n",
		"--- {a: 1}\n--- [2]\n---\t|\n  s\n",
		"a: 1\n...\n# c\n---\nb: 2\n",
		"a: \"q\n  ---x\"\n---\nb: 1\n",
	} {
		all, err := decodeAll([]byte(src))
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		for doc := range all {
			c, ok := findDoc([]byte(src), doc)
			if !ok {
				t.Errorf("%q doc %d: not found", src, doc)
				continue
			}
			text := c.text([]byte(src))
			got, err := decodeAll(text)
			if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], all[doc]) {
				t.Errorf("%q doc %d: chunk %q decodes to %v (%v), want %v", src, doc, text, got, err, all[doc])
			}
			whole, _ := parse([]byte(src))
			part, _ := parse(text)
			if whole.docs[doc].Line != part.docs[0].Line || len(part.docs[0].Content) > 0 && whole.docs[doc].Content[0].Line != part.docs[0].Content[0].Line {
				t.Errorf("%q doc %d: lines differ", src, doc)
			}
		}
		if _, ok := findDoc([]byte(src), len(all)); ok {
			t.Errorf("%q: found document %d of %d", src, len(all), len(all))
		}
	}
	for _, src := range []string{"%YAML 1.1\n---\na: 1\n", "#\r0\n---", "a: 1\u2028---\nb: 2\n", "a: 1\u0085---\n"} {
		if _, ok := findDoc([]byte(src), 0); ok {
			t.Errorf("%q is cut: it has directives or line breaks other than \\n", src)
		}
	}
}
