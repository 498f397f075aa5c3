// Package version holds build information, set at link time by the Makefile
// and goreleaser:
//
//	-X github.com/kubectl-gitops/kubectl-gitops/internal/version.version=v0.1.0
package version

import "runtime"

var (
	version = "dev"
	commit  = "unknown"
	date    = "unknown"
)

// Info is what `kubectl gitops version` prints.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// Get returns the build information of this binary.
func Get() Info {
	return Info{
		Version:   version,
		Commit:    commit,
		Date:      date,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
}
