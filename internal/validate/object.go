package validate

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Problem is one thing the API server would refuse in an object.
type Problem struct {
	// Field is the path in the object: spec.template.spec.containers[0].resources.limits.memory.
	Field string `json:"field"`
	// Value is the offending value (nil for a missing field).
	Value any `json:"value,omitempty"`
	// Message says what is wrong with it.
	Message string `json:"message"`
}

func (p Problem) String() string {
	if p.Value == nil {
		return p.Field + ": " + p.Message
	}
	return fmt.Sprintf("%s: %s: %s", p.Field, show(p.Value), p.Message)
}

func show(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	if b, err := json.Marshal(v); err == nil && len(b) <= 80 {
		return string(b)
	}
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	}
	return fmt.Sprint(v)
}

// maxProblems bounds what one object reports: past this, the rest are
// usually consequences of the first ones.
const maxProblems = 20

// ErrNoSchema is returned by Object for a kind the set has no schema for.
type ErrNoSchema struct {
	GVK    schema.GroupVersionKind
	Source string
}

func (e *ErrNoSchema) Error() string {
	return fmt.Sprintf("no schema for %s in %s", e.GVK, e.Source)
}

// Object checks one object (decoded from JSON or YAML) against the schema
// of its apiVersion and kind. It returns *ErrNoSchema for a kind it does not
// know (a custom resource whose CRD is not in the set).
func (s *Schemas) Object(obj map[string]any) ([]Problem, error) {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	if apiVersion == "" || kind == "" {
		return []Problem{{Field: "apiVersion/kind", Message: "an object needs both apiVersion and kind"}}, nil
	}
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return []Problem{{Field: "apiVersion", Value: apiVersion, Message: err.Error()}}, nil
	}
	k := gv.WithKind(kind)
	name, ok := s.byGVK[k]
	if !ok {
		return nil, &ErrNoSchema{GVK: k, Source: s.Source}
	}
	w := &walker{s: s}
	w.walk(obj, s.named(name), name, "")
	return w.problems, nil
}

type walker struct {
	s        *Schemas
	problems []Problem
}

func (w *walker) add(path string, v any, format string, args ...any) {
	if len(w.problems) >= maxProblems {
		return
	}
	if path == "" {
		path = "."
	}
	w.problems = append(w.problems, Problem{Field: path, Value: v, Message: fmt.Sprintf(format, args...)})
}

// Names of the apimachinery types whose JSON form is not what their schema
// says in full: the API server decodes them with their own code.
const (
	quantityType    = "io.k8s.apimachinery.pkg.api.resource.Quantity"
	intOrStringType = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
	timeType        = "io.k8s.apimachinery.pkg.apis.meta.v1.Time"
	microTimeType   = "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime"
	rawExtension    = "io.k8s.apimachinery.pkg.runtime.RawExtension"
	crdJSON         = "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON"
)

// walk checks v against sc; name is the schema's component name when it
// came from a $ref ("" otherwise).
func (w *walker) walk(v any, sc *Schema, name, path string) {
	if sc == nil || v == nil {
		// null is how YAML says "unset"; the API server decodes it as the zero value.
		return
	}
	if sc.Ref != "" {
		ref, refName := w.s.resolve(sc.Ref)
		if ref == nil {
			return // a dangling reference: nothing to check against
		}
		w.walk(v, ref, refName, path)
		return
	}
	switch name {
	case quantityType:
		w.quantity(v, path)
		return
	case intOrStringType:
		if !isString(v) && !isInteger(v) {
			w.add(path, v, "must be an integer or a string, not %s", typeName(v))
		}
		return
	case timeType, microTimeType:
		if s, ok := v.(string); !ok {
			w.add(path, v, "must be a time string (RFC 3339), not %s", typeName(v))
		} else if _, err := time.Parse(time.RFC3339, s); err != nil {
			w.add(path, v, "must be a time in RFC 3339 form (2006-01-02T15:04:05Z)")
		}
		return
	case rawExtension, crdJSON:
		return
	}
	for _, sub := range sc.AllOf {
		w.walk(v, sub, "", path)
	}
	if alts := append(append([]*Schema{}, sc.OneOf...), sc.AnyOf...); len(alts) > 0 && !w.anyMatches(v, alts) {
		w.add(path, v, "matches none of the allowed shapes")
	}
	if sc.IntOrString {
		if !isString(v) && !isInteger(v) {
			w.add(path, v, "must be an integer or a string, not %s", typeName(v))
		}
		return
	}
	if !w.typed(v, sc, path) {
		return
	}
	if len(sc.Enum) > 0 && !inEnum(v, sc.Enum) {
		w.add(path, v, "must be one of %s", enumList(sc.Enum))
	}
}

// typed checks v against sc's type (and, below it, the properties or items)
// and reports whether the type was right.
func (w *walker) typed(v any, sc *Schema, path string) bool {
	switch sc.Type {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			w.add(path, v, "must be an object, not %s", typeName(v))
			return false
		}
		w.object(m, sc, path)
	case "array":
		l, ok := v.([]any)
		if !ok {
			w.add(path, v, "must be a list, not %s", typeName(v))
			return false
		}
		for i, item := range l {
			w.walk(item, sc.Items, "", fmt.Sprintf("%s[%d]", path, i))
		}
	case "string":
		s, ok := v.(string)
		if !ok {
			w.add(path, v, "must be a string, not %s", typeName(v))
			return false
		}
		w.format(s, sc.Format, path)
	case "integer":
		if !isInteger(v) {
			w.add(path, v, "must be an integer, not %s", typeName(v))
			return false
		}
	case "number":
		if !isNumber(v) {
			w.add(path, v, "must be a number, not %s", typeName(v))
			return false
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			w.add(path, v, "must be true or false, not %s", typeName(v))
			return false
		}
	case "":
		if sc.Properties != nil {
			if m, ok := v.(map[string]any); ok {
				w.object(m, sc, path)
			}
		}
	}
	return true
}

func (w *walker) anyMatches(v any, alts []*Schema) bool {
	for _, alt := range alts {
		sub := &walker{s: w.s}
		sub.walk(v, alt, "", "")
		if len(sub.problems) == 0 {
			return true
		}
	}
	return false
}

func (w *walker) object(m map[string]any, sc *Schema, path string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		sub := join(path, k)
		if p, ok := sc.Properties[k]; ok {
			w.walk(m[k], p, "", sub)
			continue
		}
		switch {
		case sc.AdditionalProperties != nil && sc.AdditionalProperties.Schema != nil:
			w.walk(m[k], sc.AdditionalProperties.Schema, "", sub)
		case sc.AdditionalProperties != nil && sc.AdditionalProperties.Allowed, sc.PreserveUnknown:
		case sc.EmbeddedResource && (k == "apiVersion" || k == "kind" || k == "metadata"):
		case sc.Properties == nil && sc.AdditionalProperties == nil:
			// A free-form object.
		default:
			w.add(sub, nil, "unknown field %q", k)
		}
	}
	for _, r := range sc.Required {
		if m[r] == nil {
			w.add(join(path, r), nil, "required field is missing")
		}
	}
}

func (w *walker) quantity(v any, path string) {
	switch t := v.(type) {
	case string:
		if _, err := resource.ParseQuantity(t); err != nil {
			w.add(path, v, "%v", err)
		}
	default:
		if !isNumber(v) {
			w.add(path, v, "must be a quantity (a string like 128Mi or 500m, or a number), not %s", typeName(v))
		}
	}
}

func (w *walker) format(s, format, path string) {
	switch format {
	case "byte":
		if _, err := base64.StdEncoding.DecodeString(s); err != nil {
			w.add(path, s, "must be base64-encoded (use stringData for plain text)")
		}
	case "date-time":
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			w.add(path, s, "must be a time in RFC 3339 form (2006-01-02T15:04:05Z)")
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func isString(v any) bool { _, ok := v.(string); return ok }

func isInteger(v any) bool {
	switch t := v.(type) {
	case int, int32, int64, uint, uint32, uint64:
		return true
	case float64:
		return t == math.Trunc(t) && !math.IsInf(t, 0)
	case json.Number:
		if _, err := t.Int64(); err == nil {
			return true
		}
		f, err := t.Float64()
		return err == nil && f == math.Trunc(f)
	}
	return false
}

func isNumber(v any) bool {
	switch v.(type) {
	case int, int32, int64, uint, uint32, uint64, float32, float64, json.Number:
		return true
	}
	return false
}

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	}
	if isNumber(v) {
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}

func inEnum(v any, enum []any) bool {
	for _, e := range enum {
		if fmt.Sprint(e) == fmt.Sprint(v) {
			return true
		}
	}
	return false
}

func enumList(enum []any) string {
	s := make([]string, len(enum))
	for i, e := range enum {
		s[i] = show(e)
	}
	return strings.Join(s, ", ")
}
