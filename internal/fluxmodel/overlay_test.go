package fluxmodel

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// A checkout whose absolute path has characters kustomize's in-memory file
// system refuses in a folder name ('@', '+', a space) builds as any other.
func TestCheckoutPathWithAnyCharacters(t *testing.T) {
	root := filepath.Join(t.TempDir(), "j.doe@corp", "my repos+1", "fleet")
	if err := os.CopyFS(root, os.DirFS(filepath.Join("testdata", "overlay"))); err != nil {
		t.Fatal(err)
	}
	m, err := Load(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	noErrors(t, m)
	want := []string{"production/podinfo/podinfo", "staging/podinfo/podinfo"}
	if got := ids(m); !reflect.DeepEqual(got, want) {
		t.Errorf("releases = %v, want %v", got, want)
	}
}
