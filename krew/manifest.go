// Package krew holds the krew plugin manifest (gitops.yaml) and the checks
// krew's own validator leaves out: the krew index's review rules (a
// shortDescription of at most 50 characters, a description wrapped at 80
// columns) and agreement between the checked-in manifest, .goreleaser.yaml's
// krews section and the manifest goreleaser generates at release.
package krew

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"unicode/utf8"

	"sigs.k8s.io/yaml"
)

// Limits from the krew index's plugin naming and description guide.
const (
	MaxShortDescription = 50
	MaxColumns          = 80
)

// Manifest is the part of a krew plugin manifest these checks read.
type Manifest struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string     `json:"version"`
		Homepage         string     `json:"homepage"`
		ShortDescription string     `json:"shortDescription"`
		Description      string     `json:"description"`
		Caveats          string     `json:"caveats"`
		Platforms        []Platform `json:"platforms"`
	} `json:"spec"`
}

// Platform is one platforms entry.
type Platform struct {
	Selector struct {
		MatchLabels map[string]string `json:"matchLabels"`
	} `json:"selector"`
	URI    string `json:"uri"`
	Sha256 string `json:"sha256"`
	Bin    string `json:"bin"`
	Files  []struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"files"`
}

// Key is the platform's "os/arch".
func (p Platform) Key() string {
	return p.Selector.MatchLabels["os"] + "/" + p.Selector.MatchLabels["arch"]
}

// Load reads a krew manifest.
func Load(path string) (Manifest, error) {
	var m Manifest
	data, err := os.ReadFile(path)
	if err != nil {
		return m, fmt.Errorf("reading krew manifest: %w", err)
	}
	if err := yaml.UnmarshalStrict(data, &m); err != nil {
		return m, fmt.Errorf("parsing krew manifest %s: %w", path, err)
	}
	return m, nil
}

// CheckText applies the krew index's text rules to a short description and a
// description (and caveats, which krew prints to the terminal too).
func CheckText(short, description, caveats string) []error {
	var errs []error
	if n := utf8.RuneCountInString(short); n == 0 || n > MaxShortDescription {
		errs = append(errs, fmt.Errorf("shortDescription %q has %d characters; krew allows 1 to %d", short, n, MaxShortDescription))
	}
	if strings.Contains(short, "\n") {
		errs = append(errs, fmt.Errorf("shortDescription must be one line"))
	}
	for field, text := range map[string]string{"description": description, "caveats": caveats} {
		for i, line := range strings.Split(text, "\n") {
			if n := utf8.RuneCountInString(line); n > MaxColumns {
				errs = append(errs, fmt.Errorf("%s line %d is %d columns wide (max %d): %q", field, i+1, n, MaxColumns, line))
			}
		}
	}
	if strings.TrimSpace(description) == "" {
		errs = append(errs, fmt.Errorf("description is empty"))
	}
	return errs
}

// Check applies CheckText and the structural rules this project keeps: the
// name, and a bin on every platform.
func (m Manifest) Check() []error {
	errs := CheckText(m.Spec.ShortDescription, m.Spec.Description, m.Spec.Caveats)
	if m.Metadata.Name != "gitops" {
		errs = append(errs, fmt.Errorf("metadata.name is %q, want gitops", m.Metadata.Name))
	}
	for _, p := range m.Spec.Platforms {
		want := "kubectl-gitops"
		if p.Selector.MatchLabels["os"] == "windows" {
			want += ".exe"
		}
		if p.Bin != want {
			errs = append(errs, fmt.Errorf("platform %s: bin is %q, want %q", p.Key(), p.Bin, want))
		}
	}
	return errs
}

// PlatformKeys lists the manifest's platforms as sorted "os/arch" keys.
func (m Manifest) PlatformKeys() []string {
	var keys []string
	for _, p := range m.Spec.Platforms {
		keys = append(keys, p.Key())
	}
	sort.Strings(keys)
	return keys
}

// SameText reports where two manifests differ in the fields a release must
// not change by accident: name, homepage, descriptions, caveats.
func SameText(a, b Manifest) []error {
	var errs []error
	for _, f := range []struct{ name, a, b string }{
		{"metadata.name", a.Metadata.Name, b.Metadata.Name},
		{"homepage", a.Spec.Homepage, b.Spec.Homepage},
		{"shortDescription", a.Spec.ShortDescription, b.Spec.ShortDescription},
		{"description", a.Spec.Description, b.Spec.Description},
		{"caveats", a.Spec.Caveats, b.Spec.Caveats},
	} {
		if f.a != f.b {
			errs = append(errs, fmt.Errorf("%s differs:\n  %q\n  %q", f.name, f.a, f.b))
		}
	}
	return errs
}
