package textdiff

import (
	"strings"
	"testing"
)

func TestUnified(t *testing.T) {
	old := "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\n"
	new := "a\nB\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\nn"
	var b strings.Builder
	changed, err := Unified(&b, "x.yaml", []byte(old), []byte(new), Options{})
	if err != nil || !changed {
		t.Fatal(changed, err)
	}
	want := `--- a/x.yaml
+++ b/x.yaml
@@ -1,5 +1,5 @@
 a
-b
+B
 c
 d
 e
@@ -11,3 +11,4 @@
 k
 l
 m
+n
\ No newline at end of file
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if changed, _ := Unified(&b, "x", []byte(old), []byte(old), Options{}); changed || b.Len() != 0 {
		t.Error("equal inputs must print nothing")
	}
	b.Reset()
	Unified(&b, "x", []byte("a\n"), []byte("b\n"), Options{Color: true})
	if !strings.Contains(b.String(), "\x1b[31m-a\x1b[0m") || !strings.Contains(b.String(), "\x1b[32m+b\x1b[0m") {
		t.Errorf("colored diff: %q", b.String())
	}
	b.Reset()
	Unified(&b, "x", []byte("a\r\nb\r\n"), []byte("a\r\nc\r\n"), Options{})
	if !strings.Contains(b.String(), "-b\n+c\n") {
		t.Errorf("CRLF diff: %q", b.String())
	}
}
