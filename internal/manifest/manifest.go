// Package manifest reads the documents of one YAML file: each one's kind,
// API group, name, namespace, index and line (Doc), with its node tree when
// asked (ParseFile). It finds nothing in a repository: which files and
// documents a cluster applies is the model's answer (internal/fluxmodel),
// and so is where a document no cluster applies is written
// (fluxmodel.Model.Unapplied). A command that has the file in hand (the
// one the model pointed at, about to be edited) reads it here.
package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"gopkg.in/yaml.v3"

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
	// Namespace is metadata.namespace, or the one the model gives the
	// document (fluxmodel), else "".
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

// IsYAML reports whether a path names a YAML file by its extension.
func IsYAML(p string) bool {
	ext := strings.ToLower(path.Ext(p))
	return ext == ".yaml" || ext == ".yml"
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

// Headers parses the header (apiVersion, kind, metadata) of every document
// of one file that has a kind. A syntax error stops the
// file there: yaml.v3 cannot resynchronise after one.
//
// Only each document's header is needed: a large document (a values map
// of tens of MB) is skimmed to its apiVersion, kind and metadata first
// (yamledit.Skim, which still checks the syntax of the rest piece by
// piece), rather than built into a node tree of 15 times its size.
func Headers(p string, data []byte) ([]Doc, *SyntaxError) {
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
// error. The namespace is only metadata.namespace.
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

// DocAtLine is the document of src (the file named file) that starts last
// at or before line: the object the model says starts there, read as a map.
func DocAtLine(file string, src []byte, line int) (map[string]any, error) {
	docs, bad := Headers(file, src)
	if bad != nil {
		return nil, bad
	}
	idx := -1
	for _, d := range docs {
		if d.Line <= line {
			idx = d.Index
		}
	}
	if idx < 0 {
		return nil, errors.New("no document there")
	}
	v, _, err := yamledit.Get(src, idx, yamledit.Path{})
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("not a map")
	}
	return m, nil
}
