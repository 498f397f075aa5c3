package fluxmodel

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/kubectl-gitops/kubectl-gitops/internal/envs"
)

// entryPoint is where one cluster starts.
type entryPoint struct {
	name string
	dirs []string
}

var kustomizationFiles = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

func hasKustomization(dir string) bool {
	for _, f := range kustomizationFiles {
		if st, err := os.Stat(filepath.Join(dir, f)); err == nil && !st.IsDir() {
			return true
		}
	}
	return false
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// entryPoints finds the clusters of the checkout, in this order:
//   - the environments of .gitops.yaml (their paths);
//   - clusters/<name>/, one cluster each;
//   - the layouts internal/envs infers (apps/base + apps/<env>, overlays);
//   - a root base/ with sibling <env>/ folders that have a kustomization.yaml;
//   - the folders holding Flux Kustomizations that no other Kustomization's
//     path covers (a single-cluster repository's entry point);
//   - a kustomization.yaml at the root.
//
// None of them: no entry point, and the model is the files.
func entryPoints(root string) (string, []entryPoint, error) {
	if _, err := os.Stat(filepath.Join(root, envs.FileName)); err == nil {
		cfg, err := envs.Load(root)
		if err != nil {
			return "", nil, err
		}
		var out []entryPoint
		for _, e := range cfg.Environments {
			out = append(out, entryPoint{name: e.Name, dirs: e.Paths})
		}
		return envs.FileName, out, nil
	}
	boots, roots, err := fluxRoots(root)
	if err != nil {
		return "", nil, err
	}
	if len(boots) > 0 {
		var out []entryPoint
		for _, b := range boots {
			out = append(out, entryPoint{name: clusterName(b), dirs: []string{b}})
		}
		return "the paths of the bootstrap (flux-system) Kustomizations", out, nil
	}
	if isDir(filepath.Join(root, "clusters")) {
		var out []entryPoint
		for _, d := range subdirs(root, "clusters") {
			out = append(out, entryPoint{name: d, dirs: []string{"clusters/" + d}})
		}
		if len(out) > 0 {
			return "the clusters/<name> folders", out, nil
		}
	}
	if cfg, err := envs.Infer(os.DirFS(root)); err == nil {
		var out []entryPoint
		for _, e := range cfg.Environments {
			out = append(out, entryPoint{name: e.Name, dirs: e.Paths})
		}
		return cfg.Source, out, nil
	}
	if isDir(filepath.Join(root, "base")) {
		var out []entryPoint
		for _, d := range subdirs(root, ".") {
			if d != "base" && hasKustomization(filepath.Join(root, d)) {
				out = append(out, entryPoint{name: d, dirs: []string{d}})
			}
		}
		if len(out) > 0 {
			return "the base/ + <env>/ layout", out, nil
		}
	}
	if len(roots) > 0 {
		var out []entryPoint
		for _, r := range roots {
			out = append(out, entryPoint{name: clusterName(r), dirs: []string{r}})
		}
		return "the folder(s) holding the top Flux Kustomization", out, nil
	}
	if hasKustomization(root) {
		return "the kustomization.yaml at the root", []entryPoint{{name: "default", dirs: []string{"."}}}, nil
	}
	return "", nil, nil
}

func subdirs(root, dir string) []string {
	entries, err := os.ReadDir(filepath.Join(root, dir))
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// yamlFiles lists the YAML files under root (slash paths), skipping hidden
// folders.
func yamlFiles(root string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if ext := filepath.Ext(p); ext == ".yaml" || ext == ".yml" {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out, err
}

func clusterName(dir string) string {
	if dir == "." {
		return "default"
	}
	return path.Base(dir)
}

// fluxRoots returns the paths of the bootstrap Kustomizations (one whose
// path holds its own file, as flux bootstrap writes flux-system), and the
// folders holding a Flux Kustomization that is not inside the path of
// another one: where a single-cluster repository starts.
func fluxRoots(root string) (boots, roots []string, err error) {
	files, err := yamlFiles(root)
	if err != nil {
		return nil, nil, err
	}
	bootSet := map[string]bool{}
	holders := map[string]bool{}
	var paths []string
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if err != nil || !bytes.Contains(data, []byte("kustomize.toolkit.fluxcd.io")) {
			continue
		}
		for _, d := range decodeAll(data) {
			if d.kind != "Kustomization" || group(d.apiVersion) != "kustomize.toolkit.fluxcd.io" {
				continue
			}
			holders[path.Dir(f)] = true
			p := path.Clean(strings.TrimPrefix(d.specPath, "./"))
			paths = append(paths, p)
			if fd := path.Dir(f); p != "." && (fd == p || strings.HasPrefix(fd, p+"/")) {
				bootSet[p] = true
			}
		}
	}
	for h := range holders {
		covered := false
		for _, p := range paths {
			// A Kustomization whose path is its own folder is the
			// bootstrap one: it does not hide its folder.
			if p != h && (p == "." || h == p || strings.HasPrefix(h, p+"/")) {
				covered = true
				break
			}
		}
		if !covered {
			roots = append(roots, h)
		}
	}
	for b := range bootSet {
		boots = append(boots, b)
	}
	sort.Strings(roots)
	sort.Strings(boots)
	return boots, roots, nil
}

type rawDoc struct {
	apiVersion, kind, name, namespace, specPath string
	node                                        *yaml.Node
	line                                        int
}

// decodeAll decodes the documents of a YAML file, stopping at the first that
// does not parse.
func decodeAll(data []byte) []rawDoc {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []rawDoc
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			return out
		}
		if len(n.Content) == 0 || n.Content[0].Kind != yaml.MappingNode {
			continue
		}
		doc := n.Content[0]
		d := rawDoc{node: doc, line: doc.Line}
		d.apiVersion = scalar(doc, "apiVersion")
		d.kind = scalar(doc, "kind")
		if md := child(doc, "metadata"); md != nil {
			d.name, d.namespace = scalar(md, "name"), scalar(md, "namespace")
		}
		if sp := child(doc, "spec"); sp != nil {
			d.specPath = scalar(sp, "path")
		}
		out = append(out, d)
	}
}

func child(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func scalar(n *yaml.Node, key string) string {
	c := child(n, key)
	if c == nil || c.Kind != yaml.ScalarNode {
		return ""
	}
	return c.Value
}

// docLine is the line of the document of kind named name (as applied: a
// prefix or suffix may have been added) in file; 0 when not found.
func docLine(file, kind, name string) int {
	d := findDoc(file, kind, name)
	if d == nil {
		return 0
	}
	return d.line
}

// findDoc finds the document of kind in file whose name is name, or is
// contained in name (a namePrefix/nameSuffix added to it), longest first.
func findDoc(file, kind, name string) *rawDoc {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var best *rawDoc
	for _, d := range decodeAll(data) {
		if d.kind != kind || d.name == "" || !strings.Contains(name, d.name) {
			continue
		}
		if d.name == name {
			return &d
		}
		if best == nil || len(d.name) > len(best.name) {
			best = &d
		}
	}
	return best
}

// plainCluster is the model of a repository with no entry point: every
// HelmRelease document of its YAML files, as written.
func plainCluster(root string) (*Cluster, error) {
	c := &Cluster{Entry: []string{"."}}
	files, err := yamlFiles(root)
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(f)))
		if err != nil {
			return nil, err
		}
		if !bytes.Contains(data, []byte("helm.toolkit.fluxcd.io")) && !bytes.Contains(data, []byte("source.toolkit.fluxcd.io")) {
			continue
		}
		if err := checkYAML(data); err != nil {
			c.Errors = append(c.Errors, &BuildError{File: f, Line: errLine(err), Err: err})
		}
		for _, d := range decodeAll(data) {
			if group(d.apiVersion) == "source.toolkit.fluxcd.io" {
				// The chart sources the releases name: without a
				// Kustomization, every one in the files counts.
				var obj map[string]any
				if err := d.node.Decode(&obj); err == nil {
					c.Objects = append(c.Objects, &Object{APIVersion: d.apiVersion, Kind: d.kind, Namespace: d.namespace, Name: d.name, File: f, Line: d.line, Data: obj})
				}
				continue
			}
			if d.kind != "HelmRelease" || group(d.apiVersion) != "helm.toolkit.fluxcd.io" {
				continue
			}
			var obj map[string]any
			if err := d.node.Decode(&obj); err != nil {
				c.Errors = append(c.Errors, &BuildError{File: f, Line: d.line, Err: err})
				continue
			}
			// Without a Kustomization nothing says where a namespace-less
			// release goes: it stays unknown ("<no namespace>") rather
			// than guessed.
			ns := d.namespace
			rel := &Release{Namespace: ns, Name: d.name, File: f, Line: d.line, Object: obj, Provenance: map[string]Setter{}}
			walkLines(d.node, "", func(p string, line int) { rel.Provenance[p] = Setter{File: f, Line: line} })
			hr, err := decode(obj)
			if err != nil {
				rel.Err = &BuildError{File: f, Line: d.line, Err: err}
			} else {
				hr.Namespace = ns
				rel.HR = hr
			}
			if prev := c.Release(ns, d.name); prev != nil {
				c.Errors = append(c.Errors, &BuildError{File: f, Line: d.line, Err: errors.New("HelmRelease " + rel.Key() + " is also written in " + prev.File + ": keep one")})
				continue
			}
			c.Releases = append(c.Releases, rel)
		}
	}
	sort.Slice(c.Releases, func(i, j int) bool { return c.Releases[i].Key() < c.Releases[j].Key() })
	return c, nil
}

func checkYAML(data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if err != nil {
			if err.Error() == "EOF" {
				return nil
			}
			return err
		}
	}
}
