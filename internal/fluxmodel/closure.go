package fluxmodel

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// changes are the paths a range of commits changes (both names of a
// rename), relative to the root and slash-separated: what decides which
// Flux Kustomizations a diff of the range must build.
type changes struct {
	files map[string]bool
	// dirs holds every folder that has a changed path under it.
	dirs map[string]bool
	// links remembers, by absolute path, whether a folder is a symbolic
	// link; kusts and scans the kustomization files and the files read:
	// the closures of both sides read the same folders (a base shared by
	// every cluster) again and again.
	links map[string]bool
	kusts map[string]kustRead
	scans map[string]*fileScan
}

type kustRead struct {
	rel  string
	node *yaml.Node
}

// fileScan is what the closure takes from one file.
type fileScan struct {
	unsure   string
	provides map[string][]string
	text     []byte
}

func newChanges(paths []string) *changes {
	c := &changes{files: map[string]bool{}, dirs: map[string]bool{}, links: map[string]bool{}, kusts: map[string]kustRead{}, scans: map[string]*fileScan{}}
	for _, p := range paths {
		p = path.Clean(filepath.ToSlash(p))
		c.files[p] = true
		for d := path.Dir(p); ; d = path.Dir(d) {
			c.dirs[d] = true
			if d == "." || d == "/" {
				break
			}
		}
	}
	return c
}

// touchesDir reports whether a changed path is directly in dir (a file
// of a folder kustomize reads the kustomization file of), or anywhere under
// it when whole is set (a folder read as a whole).
func (c *changes) touchesDir(dir string, whole bool) bool {
	if whole {
		return c.dirs[dir]
	}
	if dir == "." {
		for f := range c.files {
			if !strings.Contains(f, "/") {
				return true
			}
		}
		return false
	}
	for f := range c.files {
		if path.Dir(f) == dir {
			return true
		}
	}
	return false
}

// closure is what a build of one Flux Kustomization can read, found
// without kustomize from the kustomization files alone, and what its
// documents declare: the static input closure a diff compares with the
// range's changed paths.
type closure struct {
	// touched is set when the range changes a path of the closure.
	touched bool
	// unsure says why the closure is not known (a kustomization file that
	// does not parse, a symlink, a path out of the repository, helm
	// charts, a document the kind scan cannot read): the Kustomization is
	// then built.
	unsure string
	// provides are the names of the documents of the kinds other builds
	// look up (sources, ConfigMaps, Secrets, HelmReleases), by kind, and
	// the names of generated ConfigMaps and Secrets.
	provides map[string][]string
	// text is every file of the closure, to search for a name.
	text [][]byte
	// topRead is set once the kustomization file of spec.path was read
	// (or found missing); remote are its remote resources, which the
	// model does not fetch (noteRemote).
	topRead bool
	remote  []string
}

// lookupKinds are the kinds another build or a diff looks up by name:
// chart sources, postBuild's ConfigMaps and Secrets, and HelmReleases (a
// release applied twice).
var lookupKinds = map[string]bool{
	"HelmRepository": true, "GitRepository": true, "OCIRepository": true, "Bucket": true, "HelmChart": true, "ExternalArtifact": true,
	"ConfigMap": true, "Secret": true, "HelmRelease": true,
}

// levelKinds keep a Kustomization built whatever the range changes: it
// applies Flux Kustomizations (the next level: what it follows must be
// known), or objects the levels themselves look up while following
// (GitRepository for isSelf and elsewhere, ArtifactGenerator and
// ExternalArtifact for artifactPath). levelMarkers are the same, searched
// in a file that does not parse as YAML.
var (
	levelKinds   = map[string]bool{"Kustomization": true, "GitRepository": true, "ArtifactGenerator": true, "ExternalArtifact": true}
	levelMarkers = []string{"kustomize.toolkit.fluxcd.io", "GitRepository", "ArtifactGenerator", "ExternalArtifact"}
)

// provider reports whether the closure may hold an object of kind whose
// applied name is name: a document of that kind whose written name is in
// name (a namePrefix or nameSuffix may be added), or one whose name the
// scan cannot know (a ${VAR}).
func (cl *closure) provider(kind, name string) bool {
	for _, n := range cl.provides[kind] {
		if n == "" || strings.Contains(n, "$") || strings.Contains(name, n) || strings.Contains(name, "$") {
			return true
		}
	}
	return false
}

// mentions reports whether a file of the closure holds s, or a variable
// that could become it.
func (cl *closure) mentions(s string) bool {
	for _, t := range cl.text {
		if bytes.Contains(t, []byte(s)) || bytes.Contains(t, []byte("${")) {
			return true
		}
	}
	return false
}

// staticClosure is the closure of a build of dir (relative to root) with
// the Flux Kustomization spec components comps, checked against ch.
// Over-inclusion only builds more; under-inclusion would be a wrong
// answer, so every scalar of a kustomization file that names a path is
// taken as read (resources, bases, components, patches, generators'
// files and envs, replacements, transformers, crds, openapi, ...), a
// folder with a kustomization file counts every change directly in it (a
// new kustomization.yml), and a folder without one counts every change
// under it (the generated kustomization lists what is there).
func staticClosure(fl *files, dir string, comps []string, ch *changes) *closure {
	cl := &closure{provides: map[string][]string{}}
	s := &closureScan{fl: fl, ch: ch, cl: cl, seenDir: map[string]bool{}, seenFile: map[string]bool{}}
	s.dir(dir, true)
	for _, c := range comps {
		if cl.unsure != "" {
			break
		}
		p, ok := s.rel(path.Join(dir, c))
		if !ok {
			break
		}
		if s.ch.files[p] || s.ch.dirs[p] {
			cl.touched = true
		}
		if fl.isDir(s.abs(p)) {
			s.dir(p, false)
		}
	}
	return cl
}

type closureScan struct {
	fl                *files
	ch                *changes
	cl                *closure
	seenDir, seenFile map[string]bool
}

func (s *closureScan) abs(rel string) string { return s.fl.abs(rel) }

// rel cleans a path relative to the root; false (and unsure) when it
// leaves the repository.
func (s *closureScan) rel(p string) (string, bool) {
	p = path.Clean(p)
	if p == ".." || strings.HasPrefix(p, "../") || path.IsAbs(p) {
		s.cl.unsure = "path " + p + " is outside the repository"
		return "", false
	}
	return p, true
}

// real checks that rel is not reached through a symbolic link, whose
// target's changes the range would list under another name.
func (s *closureScan) real(rel string) bool {
	if rel == "." {
		return true
	}
	for p := rel; p != "."; p = path.Dir(p) {
		abs := s.abs(p)
		link, ok := s.ch.links[abs]
		if !ok {
			st, err := s.fl.lstat(abs)
			link = err == nil && st.Mode()&os.ModeSymlink != 0
			s.ch.links[abs] = link
		}
		if link {
			s.cl.unsure = rel + " is reached through a symbolic link"
			return false
		}
	}
	return true
}

func (s *closureScan) dir(dir string, top bool) {
	if s.cl.unsure != "" || s.seenDir[dir] {
		return
	}
	s.seenDir[dir] = true
	if !s.real(dir) {
		return
	}
	kr, ok := s.ch.kusts[s.abs(dir)]
	if !ok {
		kr.rel, kr.node = readKustomization(s.fl, dir)
		s.ch.kusts[s.abs(dir)] = kr
	}
	kfile, k := kr.rel, kr.node
	if top {
		s.cl.topRead = true
		for _, r := range seqStrings(child(k, "resources")) {
			if isRemote(r) {
				s.cl.remote = append(s.cl.remote, r)
			}
		}
	}
	if kfile == "" {
		// Flux generates a kustomization for spec.path; below it a folder
		// without one is an error kustomize gives on both sides, unless
		// the range adds one: either way, all of it counts.
		if s.ch.touchesDir(dir, true) {
			s.cl.touched = true
		}
		s.whole(dir)
		return
	}
	if s.ch.touchesDir(dir, false) {
		s.cl.touched = true
	}
	if k == nil || k.Kind != yaml.MappingNode {
		s.cl.unsure = kfile + " does not parse"
		return
	}
	if child(k, "helmCharts") != nil || child(k, "helmChartInflationGenerator") != nil {
		s.cl.unsure = kfile + " inflates Helm charts"
		return
	}
	for _, g := range []string{"configMapGenerator", "secretGenerator"} {
		kind := "ConfigMap"
		if g == "secretGenerator" {
			kind = "Secret"
		}
		if n := child(k, g); n != nil && n.Kind == yaml.SequenceNode {
			for _, e := range n.Content {
				s.cl.provides[kind] = append(s.cl.provides[kind], scalar(e, "name"))
			}
		}
	}
	s.paths(dir, k)
}

// notPath are the keys of a kustomization file whose values never name a
// file (asking the disk about each costs a system call per scalar).
var notPath = map[string]bool{
	"apiVersion": true, "kind": true, "namespace": true, "namePrefix": true, "nameSuffix": true, "target": true,
	"labels": true, "commonLabels": true, "commonAnnotations": true, "images": true, "replicas": true,
	"literals": true, "generatorOptions": true, "sortOptions": true, "buildMetadata": true, "metadata": true,
}

// paths takes every scalar of a kustomization file that could name a path
// (relative to dir) as read: existing folders are followed, files read,
// and a path that does not exist still counts if the range adds it.
func (s *closureScan) paths(dir string, n *yaml.Node) {
	// Once touched the Kustomization is built: the rest of its closure
	// is not needed (per cluster, an overlay of 500 patches).
	if s.cl.unsure != "" || s.cl.touched || n == nil {
		return
	}
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			s.paths(dir, c)
		}
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			if notPath[n.Content[i-1].Value] {
				continue
			}
			s.paths(dir, n.Content[i])
		}
	case yaml.ScalarNode:
		v := n.Value
		if v == "" || strings.ContainsAny(v, "\n") || isRemote(v) {
			return
		}
		if _, after, ok := strings.Cut(v, "="); ok { // generator "key=path"
			s.ref(dir, after)
		}
		s.ref(dir, v)
	}
}

func (s *closureScan) ref(dir, v string) {
	p := path.Clean(path.Join(dir, v))
	if p == ".." || strings.HasPrefix(p, "../") {
		// A scalar that is not a path (a label value, "../") can point
		// out of the repository: it counts only when something is there.
		if _, err := s.fl.lstat(s.abs(p)); err == nil {
			s.cl.unsure = "path " + p + " is outside the repository"
		}
		return
	}
	if s.ch.files[p] || s.ch.dirs[p] {
		s.cl.touched = true
	}
	st, err := s.fl.lstat(s.abs(p))
	switch {
	case err != nil:
	case st.Mode()&os.ModeSymlink != 0:
		s.cl.unsure = p + " is a symbolic link"
	case st.IsDir():
		if p != dir {
			s.dir(p, false)
		}
	default:
		s.file(p)
	}
}

// whole takes every file under dir (a folder read as a whole), following
// the kustomization files of its sub-folders.
func (s *closureScan) whole(dir string) {
	_ = s.fl.walkDir(s.abs(dir), func(p string, d fs.DirEntry, err error) error {
		if s.cl.unsure != "" || s.cl.touched {
			return filepath.SkipAll
		}
		if err != nil {
			s.cl.unsure = "cannot read " + p
			return filepath.SkipAll
		}
		rel, _ := filepath.Rel(s.fl.root, p)
		rel = filepath.ToSlash(rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			s.cl.unsure = rel + " is a symbolic link"
		case d.IsDir() && d.Name() == ".git":
			// Git's own folder (spec.path "./" of the checkout itself):
			// never in a range's changed paths, never built.
			return filepath.SkipDir
		case d.IsDir():
			if rel != dir && s.fl.hasKustomization(p) {
				s.dir(rel, false)
				return filepath.SkipDir
			}
		default:
			s.file(rel)
		}
		return nil
	})
}

// file reads one file of the closure: its text for mentions, and the
// names of the documents other builds look up.
func (s *closureScan) file(rel string) {
	if s.seenFile[rel] || s.cl.touched {
		return
	}
	s.seenFile[rel] = true
	fs, ok := s.ch.scans[s.abs(rel)]
	if !ok {
		fs = scanFile(s.fl, s.abs(rel), rel)
		s.ch.scans[s.abs(rel)] = fs
	}
	if fs.unsure != "" {
		s.cl.unsure = fs.unsure
		return
	}
	s.cl.text = append(s.cl.text, fs.text)
	for k, names := range fs.provides {
		s.cl.provides[k] = append(s.cl.provides[k], names...)
	}
}

// scanFile reads one file for closures: its text, and the names of the
// documents other builds look up, or why it keeps its Kustomization built.
func scanFile(fl *files, abs, rel string) *fileScan {
	fs := &fileScan{provides: map[string][]string{}}
	data, err := fl.readFile(abs)
	if err != nil {
		fs.unsure = "cannot read " + rel
		return fs
	}
	fs.text = data
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return fs
		}
		if err != nil {
			// Not YAML (an env file, a JSON patch written oddly): kustomize
			// may still read it, so the level markers are searched in its
			// text.
			for _, m := range levelMarkers {
				if bytes.Contains(data, []byte(m)) {
					fs.unsure = rel + " holds " + m + " and does not parse as YAML"
				}
			}
			return fs
		}
		if len(n.Content) == 0 || n.Content[0].Kind != yaml.MappingNode {
			continue
		}
		doc := n.Content[0]
		kind := scalar(doc, "kind")
		if levelKinds[kind] && (kind != "Kustomization" || group(scalar(doc, "apiVersion")) == "kustomize.toolkit.fluxcd.io") {
			fs.unsure = rel + " holds a " + kind + " (a level the model follows)"
			return fs
		}
		if !lookupKinds[kind] {
			continue
		}
		name := ""
		if md := child(doc, "metadata"); md != nil {
			name = scalar(md, "name")
		}
		fs.provides[kind] = append(fs.provides[kind], name)
	}
}
