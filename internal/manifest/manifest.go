// Package manifest finds Kubernetes objects in a Git checkout: every tracked
// YAML file, every document in it, with kind, API group, name, namespace,
// file, document index and line.
//
// It is built for one question asked fast ("where is HelmRelease podinfo in
// this 5,000-file repo?"): Find lets `git grep --all-match` pick the files
// that contain both the kind and the name, and parses only those. Scan, for
// callers that want every object of a kind, reads files in parallel and
// parses only those containing the bytes asked for. Parsing is the
// expensive part; most files of a GitOps repo never get that far.
//
// What counts as "in the repo": the files git tracks (`git ls-files`), as
// they are in the work tree now. Untracked files are left out on purpose:
// Flux only ever sees committed files, and an override committed into a file
// git does not know would be committed into nothing. A tracked file deleted
// from the work tree is skipped.
package manifest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/yamledit"
)

// Doc is one YAML document that looks like a Kubernetes object.
type Doc struct {
	// Path is the file, relative to the repo root, with forward slashes.
	Path string
	// Index is the 0-based position of the document in its file.
	Index int
	// Line is the 1-based line where the document's content starts.
	Line int

	APIVersion string
	// Group is the API group of APIVersion ("" for the core group).
	Group string
	Kind  string
	Name  string
	// Namespace comes from metadata.namespace, else from the nearest
	// kustomization file (see Namespaces and NamespaceFrom), else "".
	Namespace string
	// NamespaceFrom is "metadata", the repo-relative path of the
	// kustomization file the namespace came from, or "" when unknown.
	NamespaceFrom string
}

// Ref renders the document as "kind namespace/name (path, document N, line L)"
// for candidate lists and error messages.
func (d Doc) Ref() string {
	ns := d.Namespace
	if ns == "" {
		ns = "<no namespace>"
	}
	return fmt.Sprintf("%s %s/%s (%s, document %d, line %d)", d.Kind, ns, d.Name, d.Path, d.Index+1, d.Line)
}

// SyntaxError is a file that could not be parsed as YAML.
type SyntaxError struct {
	Path string
	Line int // 1-based, 0 when yaml.v3 did not say
	Err  error
}

func (e *SyntaxError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: malformed YAML: %v", e.Path, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: malformed YAML: %v", e.Path, e.Err)
}

func (e *SyntaxError) Unwrap() error { return e.Err }

// Index is the result of a scan.
type Index struct {
	// Root is the absolute directory the paths are relative to.
	Root string
	// Files is how many YAML files were considered.
	Files int
	// Parsed is how many of them passed the pre-filter and were parsed.
	Parsed int
	// Docs are the documents found, ordered by path and index.
	Docs []Doc
	// Malformed lists the files that passed the pre-filter but are not
	// valid YAML. The documents before the error are still in Docs.
	Malformed []*SyntaxError
}

// IsYAML reports whether a path names a YAML file by its extension.
func IsYAML(p string) bool {
	ext := strings.ToLower(path.Ext(p))
	return ext == ".yaml" || ext == ".yml"
}

// TrackedFiles lists the YAML files git tracks in r, relative to r.Root with
// forward slashes. pathspecs (optional) narrow the listing like they do for
// `git ls-files`.
func TrackedFiles(ctx context.Context, r *gitrepo.Repo, pathspecs ...string) ([]string, error) {
	args := []string{"-c", "core.quotePath=off", "ls-files", "-z", "--cached", "--"}
	out, err := r.Git(ctx, yamlPathspecs(args, pathspecs)...)
	if err != nil {
		return nil, fmt.Errorf("listing tracked files: %w", err)
	}
	var files []string
	seen := map[string]bool{}
	for _, f := range strings.Split(out, "\x00") {
		if f == "" || seen[f] || !IsYAML(f) {
			continue
		}
		seen[f] = true
		files = append(files, f)
	}
	sort.Strings(files)
	return files, nil
}

// yamlPathspecs appends pathspecs to git's args, or, when there are none,
// the ones that match YAML files.
func yamlPathspecs(args, pathspecs []string) []string {
	if len(pathspecs) == 0 {
		return append(args, "*.yaml", "*.yml", "*.YAML", "*.YML")
	}
	return append(args, pathspecs...)
}

// GrepFiles lists the tracked YAML files (under pathspecs, when given) whose
// work-tree content contains every one of the fixed strings, using
// `git grep --all-match`. It is the fast pre-filter for a lookup.
func GrepFiles(ctx context.Context, r *gitrepo.Repo, all []string, pathspecs ...string) ([]string, error) {
	args := []string{"-c", "grep.fallbackToNoIndex=false", "grep", "-l", "-z", "-F", "--all-match", "--no-color"}
	for _, s := range all {
		args = append(args, "-e", s)
	}
	args = append(args, "--")
	out, err := r.Git(ctx, yamlPathspecs(args, pathspecs)...)
	if err != nil {
		// git grep exits 1 when nothing matches.
		var ge *gitrepo.Error
		var ee *exec.ExitError
		if errors.As(err, &ge) && errors.As(ge.Err, &ee) && ee.ExitCode() == 1 && ge.Stderr == "" {
			return nil, nil
		}
		return nil, fmt.Errorf("searching tracked files: %w", err)
	}
	var files []string
	for _, f := range strings.Split(out, "\x00") {
		if f != "" && IsYAML(f) {
			files = append(files, f)
		}
	}
	sort.Strings(files)
	return files, nil
}

// ScanOptions tune Scan.
type ScanOptions struct {
	// MustContain is the cheap pre-filter: a file is parsed only when its
	// bytes contain every one of these strings. Empty parses every file.
	MustContain []string
	// Workers bounds parallel reads and parses; 0 means GOMAXPROCS.
	Workers int
}

// Scan reads files (relative to root) and returns every document that has a
// kind. Files that do not exist are skipped (a tracked file deleted in the
// work tree). The namespace of a document without metadata.namespace is
// the one its kustomization sets (see Namespaces).
func Scan(ctx context.Context, root string, files []string, opts ScanOptions) (*Index, error) {
	type result struct {
		docs   []Doc
		bad    *SyntaxError
		parsed bool
	}
	results := make([]result, len(files))
	err := ReadFiles(ctx, root, files, opts, func(i int, data []byte) error {
		docs, bad := parseDocs(files[i], data)
		results[i] = result{docs: docs, bad: bad, parsed: true}
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, fmt.Errorf("reading manifests: %w", err)
	}
	ix := &Index{Root: root, Files: len(files)}
	for _, r := range results {
		if r.parsed {
			ix.Parsed++
		}
		ix.Docs = append(ix.Docs, r.docs...)
		if r.bad != nil {
			ix.Malformed = append(ix.Malformed, r.bad)
		}
	}
	ns := NewNamespaces(root)
	for i := range ix.Docs {
		d := &ix.Docs[i]
		if d.Namespace == "" {
			d.Namespace, d.NamespaceFrom = ns.Lookup(path.Dir(d.Path))
		}
	}
	return ix, nil
}

// ReadFiles is the reading half of Scan, for callers that parse files their
// own way: it reads files (relative to root) on opts.Workers goroutines and
// calls fn(i, data) for each files[i] whose bytes contain every one of
// opts.MustContain. A file that does not exist is skipped (tracked, but
// deleted in the work tree).
//
// fn runs on several goroutines at once, each call with its own i, and data
// is reused once fn returns: keep what it parses, not the bytes. The error
// returned is ctx's, or else the read error or fn error of the first file
// (in the order of files) that had one.
func ReadFiles(ctx context.Context, root string, files []string, opts ScanOptions, fn func(i int, data []byte) error) error {
	workers := opts.Workers
	if workers <= 0 {
		// Reading is mostly waiting on syscalls, which do not hold a P:
		// more readers than cores keeps the cores busy.
		workers = max(4, 2*runtime.GOMAXPROCS(0))
	}
	needles := make([][]byte, len(opts.MustContain))
	for i, s := range opts.MustContain {
		needles[i] = []byte(s)
	}
	errs := make([]error, len(files))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte // reused: only what fn parses outlives a file
			for i := range jobs {
				if ctx.Err() != nil {
					continue
				}
				data, err := readInto(ctx, filepath.Join(root, filepath.FromSlash(files[i])), buf)
				if len(data) > 0 {
					buf = data
				}
				if err != nil {
					if !errors.Is(err, os.ErrNotExist) {
						errs[i] = err
					}
					continue
				}
				if !containsAll(data, needles) {
					continue
				}
				errs[i] = fn(i, data)
			}
		}()
	}
	for i := range files {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func containsAll(data []byte, needles [][]byte) bool {
	for _, n := range needles {
		if !bytes.Contains(data, n) {
			return false
		}
	}
	return true
}

// header is the part of an object every lookup needs. Decoding into it from
// a node is cheap compared with the parse itself.
type header struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name      string `yaml:"name"`
		Namespace string `yaml:"namespace"`
	} `yaml:"metadata"`
}

// parseDocs parses every document of one file. A syntax error stops the
// file there: yaml.v3 cannot resynchronise after one.
//
// Only each document's header is needed: a large document (a values map
// of tens of MB) is skimmed to its apiVersion, kind and metadata first
// (yamledit.Skim, which still checks the syntax of the rest piece by
// piece), rather than built into a node tree of 15 times its size.
func parseDocs(p string, data []byte) ([]Doc, *SyntaxError) {
	if s, ok := yamledit.Skim(data, "apiVersion", "kind", "metadata"); ok {
		if nodes, bad := ParseFile(p, s.Text); bad == nil {
			docs := make([]Doc, len(nodes))
			for i, n := range nodes {
				docs[i] = n.Doc
				docs[i].Line = s.Line(n.Doc.Line)
			}
			return docs, nil
		}
		// A syntax error is reported from the whole file, at its line.
	}
	nodes, bad := ParseFile(p, data)
	docs := make([]Doc, len(nodes))
	for i, n := range nodes {
		docs[i] = n.Doc
	}
	return docs, bad
}

// Node is a document with its parsed tree, for callers that read more of
// an object than its header.
type Node struct {
	Doc
	// Root is the document's top-level mapping.
	Root *yaml.Node
}

// ParseFile parses every document of one file that has a kind, keeping
// each one's tree. A syntax error stops the file there (yaml.v3 cannot
// resynchronise after one): the documents before it are returned with the
// error. The namespace is only metadata.namespace; see Namespaces for the
// kustomization's.
func ParseFile(p string, data []byte) ([]Node, *SyntaxError) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []Node
	for idx := 0; ; idx++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if err == io.EOF {
			return docs, nil
		}
		if err != nil {
			return docs, &SyntaxError{Path: p, Line: ErrorLine(err), Err: err}
		}
		if len(n.Content) == 0 || n.Content[0].Kind != yaml.MappingNode {
			continue
		}
		var h header
		// A document whose header does not fit (say, kind is a map) is not
		// an object we can look up; skip it rather than fail the file.
		if n.Content[0].Decode(&h) != nil || h.Kind == "" {
			continue
		}
		docs = append(docs, Node{Root: n.Content[0], Doc: Doc{
			Path: p, Index: idx, Line: n.Content[0].Line,
			APIVersion: h.APIVersion, Group: Group(h.APIVersion), Kind: h.Kind,
			Name: h.Metadata.Name, Namespace: h.Metadata.Namespace,
			NamespaceFrom: map[bool]string{true: "metadata"}[h.Metadata.Namespace != ""],
		}})
	}
}

// ErrorLine pulls the line number out of a yaml.v3 error ("yaml: line 7: ..."),
// 0 when there is none.
func ErrorLine(err error) int {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	i := strings.Index(msg, "line ")
	if i < 0 {
		return 0
	}
	n := 0
	for _, c := range msg[i+5:] {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// Group returns the API group of an apiVersion: "helm.toolkit.fluxcd.io" for
// "helm.toolkit.fluxcd.io/v2", "" for "v1".
func Group(apiVersion string) string {
	if i := strings.LastIndex(apiVersion, "/"); i >= 0 {
		return apiVersion[:i]
	}
	return ""
}

// Namespaces answers "which namespace does kustomize give an object of
// this directory that sets none itself?", reading each kustomization once.
// It is not safe for concurrent use.
//
// The rule, shared by every command: the nearest kustomization file in the
// directory or above it is the one that builds the file (Flux's
// kustomize-controller builds a Kustomization's path with the
// kustomization file found there); its namespace: is the answer. When it
// sets none, kustomize leaves the namespace to whatever includes that
// directory: a namespace comes through inclusion (resources, components),
// not through the directory tree. So the lookup climbs on only when the
// nearest kustomization above lists this one's directory among its
// resources or components, and otherwise answers unknown (""): a
// kustomization further up that does not include it (a repo-root one for
// another Flux Kustomization, say) is no evidence. An unknown namespace
// matches any -n (see Query), and promote takes the environment's.
type Namespaces struct {
	root  string
	files map[string]*kustomization // by directory; nil when it has none
	cache map[string][2]string      // dir -> {namespace, file}
}

type kustomization struct {
	file      string
	namespace string
	includes  map[string]bool // directories it lists, repo-relative
}

// NewNamespaces returns a resolver for the checkout at root.
func NewNamespaces(root string) *Namespaces {
	return &Namespaces{root: root, files: map[string]*kustomization{}, cache: map[string][2]string{}}
}

var kustomizationNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// at reads the kustomization file of exactly dir, nil when there is none.
// One that does not parse counts as setting nothing and including nothing.
func (k *Namespaces) at(dir string) *kustomization {
	if kz, ok := k.files[dir]; ok {
		return kz
	}
	var kz *kustomization
	for _, name := range kustomizationNames {
		rel := path.Join(dir, name)
		data, err := os.ReadFile(filepath.Join(k.root, filepath.FromSlash(rel)))
		if err != nil {
			continue
		}
		kz = &kustomization{file: rel, includes: map[string]bool{}}
		var doc struct {
			Namespace  string   `yaml:"namespace"`
			Resources  []string `yaml:"resources"`
			Components []string `yaml:"components"`
			Bases      []string `yaml:"bases"`
		}
		if yaml.Unmarshal(data, &doc) == nil {
			kz.namespace = doc.Namespace
			for _, r := range append(append(doc.Resources, doc.Components...), doc.Bases...) {
				kz.includes[path.Join(dir, r)] = true
			}
		}
		break
	}
	k.files[dir] = kz
	return kz
}

// nearest is the directory of the nearest kustomization at or above dir,
// and whether there is one.
func (k *Namespaces) nearest(dir string) (string, bool) {
	for {
		if k.at(dir) != nil {
			return dir, true
		}
		if dir == "." || dir == "/" || dir == "" {
			return "", false
		}
		dir = path.Dir(dir)
	}
}

// Lookup returns the namespace for objects in dir (repo-relative, forward
// slashes) and the kustomization file that sets it, or "", "" when
// unknown.
func (k *Namespaces) Lookup(dir string) (namespace, from string) {
	if v, ok := k.cache[dir]; ok {
		return v[0], v[1]
	}
	var v [2]string
	if kdir, ok := k.nearest(dir); ok {
		kz := k.at(kdir)
		switch {
		case kz.namespace != "":
			v = [2]string{kz.namespace, kz.file}
		case kdir != "." && kdir != "/" && kdir != "":
			if up, ok := k.nearest(path.Dir(kdir)); ok && k.at(up).includes[kdir] {
				v[0], v[1] = k.Lookup(up)
			}
		}
	}
	k.cache[dir] = v
	return v[0], v[1]
}
