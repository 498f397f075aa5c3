package validate

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/openapi"
)

// FromCluster fetches, from the cluster's /openapi/v3, the documents of the
// group-versions gvs (those of the objects to check; each document carries
// every type it refers to). A group-version the cluster does not serve is
// left out: its objects then report *ErrNoSchema.
func FromCluster(c openapi.Client, gvs []schema.GroupVersion) (*Schemas, error) {
	paths, err := c.Paths()
	if err != nil {
		return nil, fmt.Errorf("listing the cluster's OpenAPI v3 documents: %w", err)
	}
	s := NewSchemas("the cluster's /openapi/v3")
	seen := map[string]bool{}
	for _, gv := range gvs {
		key := PathOf(gv)
		if seen[key] {
			continue
		}
		seen[key] = true
		p, ok := paths[key]
		if !ok {
			continue
		}
		data, err := p.Schema("application/json")
		if err != nil {
			return nil, fmt.Errorf("fetching /openapi/v3/%s: %w", key, err)
		}
		if err := s.AddDocument(data); err != nil {
			return nil, fmt.Errorf("/openapi/v3/%s: %w", key, err)
		}
	}
	return s, nil
}

// PathOf is the /openapi/v3 path of a group-version: api/v1, apis/apps/v1.
func PathOf(gv schema.GroupVersion) string {
	if gv.Group == "" {
		return "api/" + gv.Version
	}
	return "apis/" + gv.Group + "/" + gv.Version
}

// BundledVersion is the Kubernetes version whose built-in API schemas are
// bundled, used when no cluster is reachable.
const BundledVersion = "v1.34.4"

//go:embed bundled/openapi-v1.34.json.gz
var bundledGz []byte

// bundle is the bundled form: the schemas, reduced to what the walk reads,
// and the kinds they define.
type bundle struct {
	Kinds   map[string]string          `json:"kinds"` // group/version/Kind -> schema name
	Schemas map[string]json.RawMessage `json:"schemas"`
}

var (
	bundledOnce sync.Once
	bundled     *bundle
	bundledErr  error
)

// Bundled returns the schemas of the built-in API groups of Kubernetes
// BundledVersion (no custom resources); the embedded file is read once
// per process.
func Bundled() (*Schemas, error) {
	bundledOnce.Do(func() { bundled, bundledErr = decodeBundle() })
	if bundledErr != nil {
		return nil, fmt.Errorf("reading the bundled OpenAPI schema: %w", bundledErr)
	}
	return bundled.schemas(), nil
}

// DecodeBundled is Bundled without the per-process cache (benchmarks).
func DecodeBundled() (*Schemas, error) {
	b, err := decodeBundle()
	if err != nil {
		return nil, err
	}
	return b.schemas(), nil
}

func (b *bundle) schemas() *Schemas {
	s := NewSchemas("the bundled Kubernetes " + BundledVersion + " schema")
	for name, raw := range b.Schemas {
		s.raw[name] = raw
	}
	for k, name := range b.Kinds {
		parts := strings.SplitN(k, "/", 3)
		if len(parts) == 3 {
			s.byGVK[schema.GroupVersionKind{Group: parts[0], Version: parts[1], Kind: parts[2]}] = name
		}
	}
	return s
}

func decodeBundle() (*bundle, error) {
	zr, err := gzip.NewReader(bytes.NewReader(bundledGz))
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	var b bundle
	return &b, json.Unmarshal(data, &b)
}

// WriteBundle writes the schemas of the built-in group-versions among
// docs (path -> /openapi/v3 document) in the bundled form: only the fields
// the walk reads, gzipped. It is how bundled/ is generated (hack/openapi-bundle).
func WriteBundle(w io.Writer, docs map[string][]byte) error {
	out := bundle{Kinds: map[string]string{}, Schemas: map[string]json.RawMessage{}}
	keys := make([]string, 0, len(docs))
	for k := range docs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !BuiltIn(k) {
			continue
		}
		var doc struct {
			Components struct {
				Schemas map[string]*Schema `json:"schemas"`
			} `json:"components"`
		}
		if err := json.Unmarshal(docs[k], &doc); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
		for n, sc := range doc.Components.Schemas {
			raw, err := json.Marshal(sc)
			if err != nil {
				return err
			}
			out.Schemas[n] = raw
			for _, g := range sc.GVK {
				out.Kinds[g.Group+"/"+g.Version+"/"+g.Kind] = n
			}
		}
	}
	data, err := json.Marshal(out)
	if err != nil {
		return err
	}
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := zw.Write(data); err != nil {
		return err
	}
	return zw.Close()
}

// BuiltIn reports whether an /openapi/v3 path is a group Kubernetes itself
// serves (core, the unqualified groups and *.k8s.io), not a custom resource.
func BuiltIn(path string) bool {
	if path == "api/v1" {
		return true
	}
	rest, ok := strings.CutPrefix(path, "apis/")
	if !ok {
		return false
	}
	group, _, ok := strings.Cut(rest, "/")
	if !ok {
		return false
	}
	return !strings.Contains(group, ".") || strings.HasSuffix(group, ".k8s.io")
}
