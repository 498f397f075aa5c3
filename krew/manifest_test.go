package krew

import (
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// goreleaserConfig is the part of .goreleaser.yaml the krew manifest must
// agree with.
type goreleaserConfig struct {
	Builds []struct {
		ID     string   `json:"id"`
		Binary string   `json:"binary"`
		Goos   []string `json:"goos"`
		Goarch []string `json:"goarch"`
	} `json:"builds"`
	Krews []struct {
		Name             string `json:"name"`
		Homepage         string `json:"homepage"`
		ShortDescription string `json:"short_description"`
		Description      string `json:"description"`
		Caveats          string `json:"caveats"`
		URLTemplate      string `json:"url_template"`
		SkipUpload       any    `json:"skip_upload"`
	} `json:"krews"`
}

func loadGoreleaser(t *testing.T) goreleaserConfig {
	t.Helper()
	data, err := os.ReadFile("../.goreleaser.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c goreleaserConfig
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatalf("parsing .goreleaser.yaml: %v", err)
	}
	if len(c.Krews) != 1 {
		t.Fatalf(".goreleaser.yaml has %d krews entries, want 1", len(c.Krews))
	}
	return c
}

func TestCheckedInManifest(t *testing.T) {
	m, err := Load("gitops.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range m.Check() {
		t.Error(err)
	}
	version := strings.TrimPrefix(m.Spec.Version, "v")
	for _, p := range m.Spec.Platforms {
		goos, goarch := p.Selector.MatchLabels["os"], p.Selector.MatchLabels["arch"]
		format, ext := "tar.gz", ""
		if goos == "windows" {
			format, ext = "zip", ".exe"
		}
		wantURI := fmt.Sprintf("https://github.com/kubectl-gitops/kubectl-gitops/releases/download/%s/kubectl-gitops_%s_%s_%s.%s",
			m.Spec.Version, version, goos, goarch, format)
		if p.URI != wantURI {
			t.Errorf("%s: uri %s, want %s", p.Key(), p.URI, wantURI)
		}
		var from []string
		for _, f := range p.Files {
			from = append(from, f.From)
		}
		if want := []string{"kubectl-gitops" + ext, "kubectl_complete-gitops" + ext, "LICENSE"}; !reflect.DeepEqual(from, want) {
			t.Errorf("%s: files %v, want %v", p.Key(), from, want)
		}
	}
}

func TestGoreleaserKrewsSectionMatches(t *testing.T) {
	c := loadGoreleaser(t)
	k := c.Krews[0]
	for _, err := range CheckText(k.ShortDescription, k.Description, k.Caveats) {
		t.Errorf(".goreleaser.yaml krews: %v", err)
	}
	if fmt.Sprint(k.SkipUpload) != "true" {
		t.Errorf(".goreleaser.yaml krews.skip_upload is %v, want true (the index is updated by pull request)", k.SkipUpload)
	}
	var fromConfig Manifest
	fromConfig.Metadata.Name = k.Name
	fromConfig.Spec.Homepage = k.Homepage
	fromConfig.Spec.ShortDescription = k.ShortDescription
	fromConfig.Spec.Description = k.Description
	fromConfig.Spec.Caveats = k.Caveats
	m, err := Load("gitops.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range SameText(m, fromConfig) {
		t.Errorf("krew/gitops.yaml vs .goreleaser.yaml: %v", err)
	}

	// Every platform goreleaser builds is in the manifest, and no other.
	var want []string
	for _, b := range c.Builds {
		if b.Binary != "kubectl-gitops" {
			continue
		}
		for _, goos := range b.Goos {
			for _, goarch := range b.Goarch {
				want = append(want, goos+"/"+goarch)
			}
		}
	}
	sort.Strings(want)
	if got := m.PlatformKeys(); !reflect.DeepEqual(got, want) {
		t.Errorf("krew/gitops.yaml platforms %v, goreleaser builds %v", got, want)
	}
	if len(want) != 6 {
		t.Errorf("goreleaser builds %d platforms, want linux/darwin/windows x amd64/arm64", len(want))
	}
}

// The rules must catch what they are for.
func TestCheckTextRejects(t *testing.T) {
	ok := "Override, promote and trace Flux HelmReleases"
	tests := []struct {
		name                 string
		short, desc, caveats string
	}{
		{name: "short of 51", short: strings.Repeat("x", 51), desc: "d"},
		{name: "empty short", short: "", desc: "d"},
		{name: "two-line short", short: "a\nb", desc: "d"},
		{name: "description line of 81", short: ok, desc: "fine\n" + strings.Repeat("y", 81) + "\n"},
		{name: "caveats line of 81", short: ok, desc: "d", caveats: strings.Repeat("z", 81)},
		{name: "empty description", short: ok, desc: " \n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if errs := CheckText(tt.short, tt.desc, tt.caveats); len(errs) == 0 {
				t.Error("accepted")
			}
		})
	}
	if errs := CheckText(strings.Repeat("x", 50), strings.Repeat("y", 80), ""); len(errs) != 0 {
		t.Errorf("rejected text at the limits: %v", errs)
	}
}
