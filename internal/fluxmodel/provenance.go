package fluxmodel

import (
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// patchDoc is one patch that a build applies, with where it is written.
type patchDoc struct {
	file string
	// line is added to the node lines of an inline patch (its offset in
	// the file that holds it).
	line       int
	node       *yaml.Node
	targetKind string
	targetName string
	hasTarget  bool
}

// patchChain lists the patches a build applies, in the order kustomize
// applies them: a base's before the overlay's, the Flux Kustomization's
// spec.patches last.
func patchChain(fl *files, o output) []patchDoc {
	var out []patchDoc
	seen := map[string]bool{}
	var walk func(dir string)
	walk = func(dir string) {
		if seen[dir] {
			return
		}
		seen[dir] = true
		kfile, k := readKustomization(fl, dir)
		if k == nil {
			return
		}
		for _, key := range []string{"resources", "components", "bases"} {
			for _, r := range seqStrings(child(k, key)) {
				p := path.Clean(path.Join(dir, r))
				if fl.isDir(fl.abs(p)) {
					walk(p)
				}
			}
		}
		if ps := child(k, "patches"); ps != nil && ps.Kind == yaml.SequenceNode {
			for _, p := range ps.Content {
				tk, tn, has := target(child(p, "target"))
				if file := scalar(p, "path"); file != "" {
					out = append(out, fileDocs(fl, path.Join(dir, file), tk, tn, has)...)
				} else if inline := child(p, "patch"); inline != nil {
					out = append(out, inlineDocs(kfile, inline, tk, tn, has)...)
				}
			}
		}
		if ps := child(k, "patchesStrategicMerge"); ps != nil && ps.Kind == yaml.SequenceNode {
			for _, p := range ps.Content {
				if strings.Contains(p.Value, "\n") {
					out = append(out, inlineDocs(kfile, p, "", "", false)...)
				} else {
					out = append(out, fileDocs(fl, path.Join(dir, p.Value), "", "", false)...)
				}
			}
		}
	}
	walk(o.dir)
	if o.ks != nil && o.obj != nil {
		if ps, ok := nested(o.obj, "spec", "patches").([]any); ok {
			for _, p := range ps {
				pm, _ := p.(map[string]any)
				s, _ := pm["patch"].(string)
				var n yaml.Node
				if yaml.Unmarshal([]byte(s), &n) != nil || len(n.Content) == 0 {
					continue
				}
				tm, _ := pm["target"].(map[string]any)
				tk, _ := tm["kind"].(string)
				tn, _ := tm["name"].(string)
				out = append(out, patchDoc{file: o.ks.File, line: o.ks.Line, node: n.Content[0], targetKind: tk, targetName: tn, hasTarget: tm != nil})
			}
		}
	}
	return out
}

func target(t *yaml.Node) (kind, name string, ok bool) {
	if t == nil {
		return "", "", false
	}
	return scalar(t, "kind"), scalar(t, "name"), true
}

func readKustomization(fl *files, dir string) (string, *yaml.Node) {
	for _, f := range kustomizationFiles {
		rel := path.Join(dir, f)
		data, err := fl.readFile(fl.abs(rel))
		if err != nil {
			continue
		}
		var n yaml.Node
		if yaml.Unmarshal(data, &n) != nil || len(n.Content) == 0 {
			return rel, nil
		}
		return rel, n.Content[0]
	}
	return "", nil
}

func seqStrings(n *yaml.Node) []string {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	var out []string
	for _, c := range n.Content {
		if c.Kind == yaml.ScalarNode {
			out = append(out, c.Value)
		}
	}
	return out
}

func fileDocs(fl *files, file, tk, tn string, has bool) []patchDoc {
	file = path.Clean(file)
	data, err := fl.readFile(fl.abs(file))
	if err != nil {
		return nil
	}
	var out []patchDoc
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	for {
		var n yaml.Node
		if dec.Decode(&n) != nil {
			return out
		}
		if len(n.Content) > 0 {
			out = append(out, patchDoc{file: file, node: n.Content[0], targetKind: tk, targetName: tn, hasTarget: has})
		}
	}
}

func inlineDocs(kfile string, inline *yaml.Node, tk, tn string, has bool) []patchDoc {
	var n yaml.Node
	if yaml.Unmarshal([]byte(inline.Value), &n) != nil || len(n.Content) == 0 {
		return nil
	}
	// A block scalar starts on the line after its indicator: node line 1
	// is file line inline.Line+1. A one-line scalar is on its own line.
	off := inline.Line - 1
	if inline.Style == yaml.LiteralStyle || inline.Style == yaml.FoldedStyle {
		off = inline.Line
	}
	return []patchDoc{{file: kfile, line: off, node: n.Content[0], targetKind: tk, targetName: tn, hasTarget: has}}
}

// applies reports whether a patch applies to the HelmRelease name (its name
// before any prefix or suffix).
func (p patchDoc) applies(name string) bool {
	if p.hasTarget {
		if p.targetKind != "" && p.targetKind != "HelmRelease" {
			return false
		}
		if p.targetName == "" {
			return true
		}
		re, err := regexp.Compile("^(?:" + p.targetName + ")$")
		return err == nil && re.MatchString(name)
	}
	if p.node.Kind != yaml.MappingNode {
		return false
	}
	md := child(p.node, "metadata")
	return scalar(p.node, "kind") == "HelmRelease" && scalar(md, "name") == name
}

// provenance maps every field of a release to the file and line that set
// it: the base document first, then every patch that applies, in order.
func provenance(fl *files, baseFile, name string, chain []patchDoc, o output) map[string]Setter {
	out := map[string]Setter{}
	if baseFile != "" {
		if d := fl.findDoc(fl.abs(baseFile), "HelmRelease", name); d != nil {
			name = d.name // the name patches target: before any prefix or suffix
			walkLines(d.node, "", func(p string, line int) { out[p] = Setter{File: baseFile, Line: line} })
		}
	}
	for _, p := range chain {
		if !p.applies(name) {
			continue
		}
		set := func(fp string, line int) { out[fp] = Setter{File: p.file, Line: p.line + line, Patch: true} }
		if p.node.Kind == yaml.SequenceNode { // a JSON 6902 patch
			for _, op := range p.node.Content {
				if ptr := scalar(op, "path"); ptr != "" {
					fp := strings.ReplaceAll(strings.TrimPrefix(ptr, "/"), "/", ".")
					set(fp, op.Line)
					walkLines(child(op, "value"), fp, set)
				}
			}
			continue
		}
		walkLines(p.node, "", func(fp string, line int) {
			if fp == "apiVersion" || fp == "kind" || strings.HasPrefix(fp, "metadata") {
				return
			}
			set(fp, line)
		})
	}
	return out
}

// walkLines calls fn for every key of a mapping (recursively), with its
// dotted path and line. Lists are one value: a patch replaces them whole.
func walkLines(n *yaml.Node, prefix string, fn func(path string, line int)) {
	if n == nil || n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		fn(p, n.Content[i].Line)
		walkLines(n.Content[i+1], p, fn)
	}
}

var lineRE = regexp.MustCompile(`line (\d+)`)

func errLine(err error) int {
	if m := lineRE.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

// fileInError finds the file (under root) a kustomize error is about, and
// the line when the message has one.
func fileInError(fl *files, err error) (string, int) {
	root := fl.root
	msg := err.Error()
	re := regexp.MustCompile(regexp.QuoteMeta(root+string(filepath.Separator)) + `([^\s'":]+)`)
	all := re.FindAllStringSubmatch(msg, -1)
	if len(all) == 0 {
		return "", 0
	}
	// The innermost file is the last one named.
	f := strings.TrimRight(all[len(all)-1][1], ".,;)")
	return filepath.ToSlash(f), errLine(err)
}

// diagnose looks for what kustomize refused under dir, to name the file and
// line: a resources entry that does not exist, a file that is not YAML, a
// kustomization.yaml that does not parse. It returns nil when it finds
// nothing (the kustomize message is then the error).
func diagnose(fl *files, dir string) *BuildError {
	seen := map[string]bool{}
	var walk func(dir string) *BuildError
	walk = func(dir string) *BuildError {
		if seen[dir] {
			return nil
		}
		seen[dir] = true
		kfile, k := readKustomization(fl, dir)
		if kfile == "" {
			return nil
		}
		data, _ := fl.readFile(fl.abs(kfile))
		if err := checkYAML(data); err != nil {
			return &BuildError{File: kfile, Line: errLine(err), Err: err}
		}
		if k == nil {
			return nil
		}
		for _, key := range []string{"resources", "components", "bases"} {
			seq := child(k, key)
			if seq == nil || seq.Kind != yaml.SequenceNode {
				continue
			}
			for _, n := range seq.Content {
				if strings.Contains(n.Value, "://") || strings.HasPrefix(n.Value, "github.com/") {
					continue
				}
				p := path.Clean(path.Join(dir, n.Value))
				abs := fl.abs(p)
				st, err := fl.stat(abs)
				switch {
				case err != nil:
					return &BuildError{File: kfile, Line: n.Line, Err: fmt.Errorf("%s %q: %s does not exist", key, n.Value, p)}
				case st.IsDir():
					if be := walk(p); be != nil {
						return be
					}
				default:
					b, _ := fl.readFile(abs)
					if err := checkYAML(b); err != nil {
						return &BuildError{File: p, Line: errLine(err), Err: fmt.Errorf("not valid YAML: %w", err)}
					}
				}
			}
		}
		// Patch files: kustomize's own message names the patch entry, not
		// the file's line.
		for _, f := range patchFiles(k) {
			p := path.Clean(path.Join(dir, f))
			b, err := fl.readFile(fl.abs(p))
			if err != nil {
				continue // kustomize's message says it is missing
			}
			if err := checkYAML(b); err != nil {
				return &BuildError{File: p, Line: errLine(err), Err: fmt.Errorf("not valid YAML: %w", err)}
			}
		}
		return nil
	}
	return walk(dir)
}

// patchFiles lists the files a kustomization's patches read: `patches`
// entries with a path, and `patchesStrategicMerge` entries that are files.
func patchFiles(k *yaml.Node) []string {
	var out []string
	if seq := child(k, "patches"); seq != nil && seq.Kind == yaml.SequenceNode {
		for _, n := range seq.Content {
			if pn := child(n, "path"); pn != nil && pn.Value != "" {
				out = append(out, pn.Value)
			}
		}
	}
	if seq := child(k, "patchesStrategicMerge"); seq != nil && seq.Kind == yaml.SequenceNode {
		for _, n := range seq.Content {
			if n.Kind == yaml.ScalarNode && !strings.Contains(n.Value, "\n") { // not an inline patch
				out = append(out, n.Value)
			}
		}
	}
	return out
}
