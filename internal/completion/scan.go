package completion

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// ScanHelmReleases is the HelmReleaseLister used until the shared manifest
// scanner is wired in: it walks dir for *.yaml/*.yml files and reads the
// apiVersion, kind and metadata of every document. Files that do not parse
// (Helm chart templates, for one) are skipped, since completion offers what
// it can find rather than failing on a repo it half understands.
func ScanHelmReleases(dir string) ([]HelmRelease, error) {
	var out []HelmRelease
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		ext := filepath.Ext(path)
		if ext != ".yaml" && ext != ".yml" {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		out = append(out, helmReleasesIn(data, filepath.ToSlash(rel))...)
		return nil
	})
	return out, err
}

func helmReleasesIn(data []byte, path string) []HelmRelease {
	var out []HelmRelease
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc struct {
			APIVersion string `yaml:"apiVersion"`
			Kind       string `yaml:"kind"`
			Metadata   struct {
				Name      string `yaml:"name"`
				Namespace string `yaml:"namespace"`
			} `yaml:"metadata"`
		}
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) || err != nil {
			// A parse error ends this file: later documents cannot be
			// found reliably after one that does not parse.
			return out
		}
		if doc.Kind == "HelmRelease" && strings.HasPrefix(doc.APIVersion, "helm.toolkit.fluxcd.io/") && doc.Metadata.Name != "" {
			out = append(out, HelmRelease{Name: doc.Metadata.Name, Namespace: doc.Metadata.Namespace, Path: path})
		}
	}
}
