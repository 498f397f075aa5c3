// Command fluxcatalog writes the Flux CLI plugin catalog entries for a
// goreleaser dist directory: <dist>/flux/gitops.yaml (the plugin manifest that
// `flux plugin install gitops` reads) and <dist>/flux/catalog.yaml (the index
// `flux plugin search` reads). goreleaser has no Flux plugin publisher, so
// `make release-check` and the release workflow run this after goreleaser:
//
//	go run ./hack/fluxcatalog -dist dist \
//	  -url 'https://github.com/kubectl-gitops/kubectl-gitops/releases/download/{tag}/{name}'
//
// The manifest uses the Flux CLI's own types (github.com/fluxcd/flux2/v2/pkg/plugin).
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	fluxplugin "github.com/fluxcd/flux2/v2/pkg/plugin"
	"sigs.k8s.io/yaml"
)

const (
	pluginName  = "gitops"
	description = "Override, promote and trace Flux HelmReleases through Git"
	homepage    = "https://github.com/kubectl-gitops/kubectl-gitops"
	license     = "Apache-2.0"
	// The binary in the archives is kubectl-gitops; Flux installs it as
	// flux-gitops, and the program reads its name to say "flux gitops".
	archiveBinary = "kubectl-gitops"
)

// artifact is the part of goreleaser's dist/artifacts.json read here.
type artifact struct {
	Name   string `json:"name"`
	Path   string `json:"path"`
	Goos   string `json:"goos"`
	Goarch string `json:"goarch"`
	Type   string `json:"type"`
	Extra  struct {
		ID string `json:"ID"`
	} `json:"extra"`
}

// metadata is the part of goreleaser's dist/metadata.json read here.
type metadata struct {
	Tag     string `json:"tag"`
	Version string `json:"version"`
}

func main() {
	dist := flag.String("dist", "dist", "goreleaser dist directory")
	url := flag.String("url", homepage+"/releases/download/{tag}/{name}",
		"download URL of an archive; {tag}, {version} and {name} are replaced")
	flag.Parse()
	if err := run(*dist, *url); err != nil {
		fmt.Fprintf(os.Stderr, "fluxcatalog: %v\n", err)
		os.Exit(1)
	}
}

func run(dist, urlTemplate string) error {
	m, err := Generate(dist, urlTemplate)
	if err != nil {
		return err
	}
	catalog := fluxplugin.Catalog{
		APIVersion: fluxplugin.APIVersion,
		Kind:       fluxplugin.CatalogKind,
		Plugins: []fluxplugin.CatalogEntry{{
			Name: m.Name, Description: m.Description, Homepage: m.Homepage, Source: m.Source, License: license,
		}},
	}
	out := filepath.Join(dist, "flux")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for file, v := range map[string]any{pluginName + ".yaml": m, "catalog.yaml": catalog} {
		b, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, file), b, 0o644); err != nil {
			return fmt.Errorf("writing the Flux plugin catalog: %w", err)
		}
		fmt.Println(filepath.Join(out, file))
	}
	return nil
}

// Generate builds the plugin manifest from the archives goreleaser listed in
// dist/artifacts.json. Checksums are computed from the files, so the manifest
// always matches the bytes that will be uploaded.
func Generate(dist, urlTemplate string) (fluxplugin.Manifest, error) {
	var meta metadata
	if err := readJSON(filepath.Join(dist, "metadata.json"), &meta); err != nil {
		return fluxplugin.Manifest{}, err
	}
	var arts []artifact
	if err := readJSON(filepath.Join(dist, "artifacts.json"), &arts); err != nil {
		return fluxplugin.Manifest{}, err
	}
	v := fluxplugin.Version{Version: strings.TrimPrefix(meta.Version, "v")}
	for _, a := range arts {
		if a.Type != "Archive" || a.Extra.ID != "kubectl-gitops" {
			continue
		}
		sum, err := sha256File(filepath.Join(filepath.Dir(dist), a.Path), filepath.Join(dist, a.Name))
		if err != nil {
			return fluxplugin.Manifest{}, err
		}
		extract := archiveBinary
		if a.Goos == "windows" {
			extract += ".exe"
		}
		v.Platforms = append(v.Platforms, fluxplugin.Platform{
			OS:          a.Goos,
			Arch:        a.Goarch,
			URL:         strings.NewReplacer("{tag}", meta.Tag, "{version}", meta.Version, "{name}", a.Name).Replace(urlTemplate),
			Checksum:    "sha256:" + sum,
			ExtractPath: extract,
		})
	}
	if len(v.Platforms) == 0 {
		return fluxplugin.Manifest{}, fmt.Errorf("no kubectl-gitops archives in %s/artifacts.json: run goreleaser first", dist)
	}
	sort.Slice(v.Platforms, func(i, j int) bool {
		return v.Platforms[i].OS+"/"+v.Platforms[i].Arch < v.Platforms[j].OS+"/"+v.Platforms[j].Arch
	})
	return fluxplugin.Manifest{
		APIVersion:  fluxplugin.APIVersion,
		Kind:        fluxplugin.PluginKind,
		Name:        pluginName,
		Description: description,
		Homepage:    homepage,
		Source:      homepage,
		Bin:         "flux-" + pluginName,
		Versions:    []fluxplugin.Version{v},
	}, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading goreleaser output: %w (run goreleaser release first)", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("parsing %s: %w", path, err)
	}
	return nil
}

// sha256File hashes the first of paths that exists: goreleaser records paths
// relative to the directory it ran in, which is dist's parent.
func sha256File(paths ...string) (string, error) {
	var lastErr error
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			lastErr = err
			continue
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return "", err
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	}
	return "", fmt.Errorf("archive not found: %w", lastErr)
}
