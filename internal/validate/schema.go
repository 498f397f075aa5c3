// Package validate checks what a chart renders before it reaches a cluster:
// the values against the chart's values.schema.json (Helm's own check), and
// every rendered object against the Kubernetes OpenAPI v3 schema of its
// kind, either the cluster's (/openapi/v3) or the schema bundled for a named
// Kubernetes version.
//
// The object check walks the object and its schema together, so each
// problem names the field it is about: an unknown field, a value of the
// wrong type, a missing required field, a value outside an enum, and the
// string formats the API server refuses on decode (quantities such as
// memory: 128Mi, base64 Secret data, RFC 3339 times). It is the part of the
// API server's checking that needs no Go validation code; what it does not
// check is listed in docs/validate.md.
package validate

import (
	"encoding/json"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Schema is the subset of an OpenAPI v3 schema object the API server
// publishes that the walk needs.
type Schema struct {
	Ref                  string             `json:"$ref,omitempty"`
	Type                 string             `json:"type,omitempty"`
	Format               string             `json:"format,omitempty"`
	AllOf                []*Schema          `json:"allOf,omitempty"`
	OneOf                []*Schema          `json:"oneOf,omitempty"`
	AnyOf                []*Schema          `json:"anyOf,omitempty"`
	Properties           map[string]*Schema `json:"properties,omitempty"`
	AdditionalProperties *Additional        `json:"additionalProperties,omitempty"`
	Items                *Schema            `json:"items,omitempty"`
	Required             []string           `json:"required,omitempty"`
	Enum                 []any              `json:"enum,omitempty"`
	PreserveUnknown      bool               `json:"x-kubernetes-preserve-unknown-fields,omitempty"`
	IntOrString          bool               `json:"x-kubernetes-int-or-string,omitempty"`
	EmbeddedResource     bool               `json:"x-kubernetes-embedded-resource,omitempty"`
	GVK                  []gvk              `json:"x-kubernetes-group-version-kind,omitempty"`
}

// Additional is additionalProperties: a schema, or true/false.
type Additional struct {
	Allowed bool
	Schema  *Schema
}

func (a *Additional) UnmarshalJSON(b []byte) error {
	switch strings.TrimSpace(string(b)) {
	case "true":
		a.Allowed = true
		return nil
	case "false":
		return nil
	}
	a.Allowed = true
	a.Schema = &Schema{}
	return json.Unmarshal(b, a.Schema)
}

func (a Additional) MarshalJSON() ([]byte, error) {
	if a.Schema != nil {
		return json.Marshal(a.Schema)
	}
	return json.Marshal(a.Allowed)
}

type gvk struct {
	Group   string `json:"group"`
	Version string `json:"version"`
	Kind    string `json:"kind"`
}

// Schemas is a set of named OpenAPI schemas (components.schemas of one or
// more /openapi/v3 documents), indexed by the kinds they define.
//
// Schemas are decoded from JSON when first used: a check of a few objects
// reads a few dozen of the hundreds of schemas a document holds.
type Schemas struct {
	// Source says where the schemas came from, for messages:
	// "the cluster's /openapi/v3" or "the bundled Kubernetes v1.34 schema".
	Source string
	raw    map[string]json.RawMessage
	byName map[string]*Schema
	byGVK  map[schema.GroupVersionKind]string
}

// NewSchemas returns an empty set described by source.
func NewSchemas(source string) *Schemas {
	return &Schemas{Source: source, raw: map[string]json.RawMessage{}, byName: map[string]*Schema{}, byGVK: map[schema.GroupVersionKind]string{}}
}

// openAPIDoc is an /openapi/v3/<group-version> document.
type openAPIDoc struct {
	Components struct {
		Schemas map[string]json.RawMessage `json:"schemas"`
	} `json:"components"`
}

// kindsOnly is what indexing needs of a schema.
type kindsOnly struct {
	GVK []gvk `json:"x-kubernetes-group-version-kind,omitempty"`
}

// AddDocument adds the schemas of one /openapi/v3 document (JSON).
func (s *Schemas) AddDocument(data []byte) error {
	var doc openAPIDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("reading OpenAPI v3 document: %w", err)
	}
	for name, raw := range doc.Components.Schemas {
		var k kindsOnly
		if err := json.Unmarshal(raw, &k); err != nil {
			return fmt.Errorf("reading OpenAPI v3 schema %s: %w", name, err)
		}
		s.addRaw(name, raw, k.GVK)
	}
	return nil
}

func (s *Schemas) addRaw(name string, raw json.RawMessage, kinds []gvk) {
	s.raw[name] = raw
	delete(s.byName, name)
	for _, k := range kinds {
		s.byGVK[schema.GroupVersionKind{Group: k.Group, Version: k.Version, Kind: k.Kind}] = name
	}
}

// named returns the schema called name, decoding it on first use (nil
// when there is none, or it does not decode).
func (s *Schemas) named(name string) *Schema {
	if sc, ok := s.byName[name]; ok {
		return sc
	}
	raw, ok := s.raw[name]
	if !ok {
		return nil
	}
	var sc Schema
	if err := json.Unmarshal(raw, &sc); err != nil {
		s.byName[name] = nil
		return nil
	}
	s.byName[name] = &sc
	return &sc
}

// Has reports whether the set has a schema for the kind.
func (s *Schemas) Has(k schema.GroupVersionKind) bool {
	_, ok := s.byGVK[k]
	return ok
}

// Len is the number of named schemas.
func (s *Schemas) Len() int { return len(s.raw) }

func (s *Schemas) resolve(ref string) (*Schema, string) {
	name := strings.TrimPrefix(ref, "#/components/schemas/")
	return s.named(name), name
}
