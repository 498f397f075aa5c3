package commitcache

import (
	"fmt"
	"os"
	"testing"
)

type answer struct {
	Paths []string `json:"paths"`
}

func TestPutGet(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var got answer
	if s.Get("k", "abc", &got) {
		t.Fatal("an empty store answered")
	}
	if err := s.Put("k", "abc", answer{Paths: []string{"a.yaml"}}); err != nil {
		t.Fatal(err)
	}
	if !s.Get("k", "abc", &got) || len(got.Paths) != 1 || got.Paths[0] != "a.yaml" {
		t.Fatalf("got %v", got)
	}
	if s.Get("other-kind", "abc", &got) || s.Get("k", "abd", &got) {
		t.Error("an entry answered for another kind or commit")
	}
	// Another executable (a rebuilt binary) does not read this one's entries.
	rebuilt := &Store{dir: s.dir, exe: s.exe + "x"}
	if rebuilt.Get("k", "abc", &got) {
		t.Error("an entry of another executable answered")
	}
	// A damaged file is no answer.
	if err := os.WriteFile(s.file("k", "abc"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s.Get("k", "abc", &got) {
		t.Error("a truncated entry answered")
	}
	var nilStore *Store
	if nilStore.Get("k", "abc", &got) || nilStore.Put("k", "abc", got) != nil {
		t.Error("a nil store (no cache directory) must answer nothing and accept writes")
	}
}

func TestPruneKeepsTheDirectoryBounded(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i <= maxEntries+1; i++ {
		if err := s.Put("k", fmt.Sprint(i), answer{}); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) > maxEntries || len(entries) < maxEntries/2 {
		t.Errorf("%d entries after %d writes; want between %d and %d", len(entries), maxEntries+2, maxEntries/2, maxEntries)
	}
}
