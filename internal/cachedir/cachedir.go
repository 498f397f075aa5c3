// Package cachedir is where kubectl-gitops keeps what it may throw away:
// ${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-gitops, with a folder per kind
// of content (charts/, commits/).
package cachedir

import (
	"errors"
	"path/filepath"
)

// Root is ${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-gitops, the variables
// read with getenv (USERPROFILE is the home on Windows).
func Root(getenv func(string) string) (string, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	base := getenv("XDG_CACHE_HOME")
	if base == "" {
		home := getenv("HOME")
		if home == "" {
			home = getenv("USERPROFILE")
		}
		if home == "" {
			return "", errors.New("finding the cache directory: set XDG_CACHE_HOME or HOME")
		}
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "kubectl-gitops"), nil
}
