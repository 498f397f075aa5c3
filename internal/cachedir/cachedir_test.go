package cachedir

import (
	"path/filepath"
	"testing"
)

func TestRoot(t *testing.T) {
	env := map[string]string{"HOME": "/home/u"}
	got, err := Root(func(k string) string { return env[k] })
	if err != nil || got != filepath.Join("/home/u", ".cache", "kubectl-gitops") {
		t.Errorf("Root = %q, %v", got, err)
	}
	env["XDG_CACHE_HOME"] = "/xdg"
	if got, _ := Root(func(k string) string { return env[k] }); got != filepath.Join("/xdg", "kubectl-gitops") {
		t.Errorf("Root with XDG_CACHE_HOME = %q", got)
	}
	if _, err := Root(func(string) string { return "" }); err == nil {
		t.Error("no HOME and no XDG_CACHE_HOME gave a directory")
	}
}
