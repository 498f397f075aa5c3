package releasecheck

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
	"github.com/kubectl-gitops/kubectl-gitops/internal/textdiff"
)

// Change is one value a command changes, for saying which change caused a
// finding: Path is the values path (resources.limits.memory), File and Line
// where the change is written.
type Change struct {
	Path  string
	Value any
	Unset bool
	File  string
	Line  int
}

func (c Change) String() string {
	s := c.Path
	if c.Unset {
		s = "--unset " + s
	} else {
		s += "=" + showValue(c.Value)
	}
	switch {
	case c.File != "" && c.Line > 0:
		s += fmt.Sprintf(" (%s:%d)", c.File, c.Line)
	case c.File != "":
		s += " (" + c.File + ")"
	}
	return s
}

func showValue(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	if b, err := json.Marshal(v); err == nil {
		return string(b)
	}
	return fmt.Sprint(v)
}

// Leaves expands a change that sets a map into one change per leaf value
// (resources={limits:{memory:x}} becomes resources.limits.memory=x), so
// each can be matched to what it breaks.
func Leaves(c Change) []Change {
	m, ok := c.Value.(map[string]any)
	if !ok || c.Unset || len(m) == 0 {
		return []Change{c}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []Change
	for _, k := range keys {
		sub := c
		sub.Path = c.Path + "." + strings.ReplaceAll(k, ".", `\.`)
		sub.Value = m[k]
		out = append(out, Leaves(sub)...)
	}
	return out
}

// Attribute picks the changes that most likely caused f: for a values
// finding, those at or under (or above) its path; for an object finding,
// those whose value is the offending value, else those whose last key is
// the field's. Nil when none stands out.
func Attribute(f Finding, changes []Change) []Change {
	var out []Change
	switch f.Kind {
	case KindValues:
		for _, c := range changes {
			if f.Field != "" && (pathWithin(c.Path, f.Field) || pathWithin(f.Field, c.Path)) {
				out = append(out, c)
			}
		}
	case KindObject:
		if f.Value != nil {
			for _, c := range changes {
				if !c.Unset && fmt.Sprint(c.Value) == fmt.Sprint(f.Value) {
					out = append(out, c)
				}
			}
		}
		if len(out) == 0 {
			// The field's own key among the change's keys: limits.memory
			// for a value, limit for an unknown field set through limit.memory.
			last := lastKey(f.Field)
			for _, c := range changes {
				for _, k := range strings.Split(c.Path, ".") {
					if lastKey(k) == last {
						out = append(out, c)
						break
					}
				}
			}
		}
	}
	return out
}

func pathWithin(p, prefix string) bool {
	return p == prefix || strings.HasPrefix(p, prefix+".") || strings.HasPrefix(p, prefix+"[")
}

func lastKey(p string) string {
	if i := strings.IndexByte(p, '['); i >= 0 && strings.HasSuffix(p, "]") && !strings.Contains(p[i:], ".") {
		p = p[:i]
	}
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// String renders a finding on one line.
func (f Finding) String() string {
	var b strings.Builder
	switch f.Kind {
	case KindValues:
		b.WriteString("values")
		if f.Field != "" {
			b.WriteString(" " + f.Field)
		}
		b.WriteString(": " + f.Message)
	case KindRender:
		b.WriteString("the chart does not render: " + f.Message)
	default:
		b.WriteString(f.Object)
		if f.Template != "" {
			b.WriteString(" (" + f.Template + ")")
		}
		b.WriteString(" " + f.Field + ": ")
		if f.Value != nil {
			b.WriteString(showValue(f.Value) + ": ")
		}
		b.WriteString(f.Message)
	}
	return b.String()
}

// Explain writes the new problems, each with the changes that caused it,
// for an error message.
func (r *Report) Explain(w io.Writer, changes []Change) {
	fmt.Fprintf(w, "HelmRelease %s: the change does not validate (chart: %s; checked against %s):\n", r.Release, r.Chart, r.Schema)
	for _, f := range r.New {
		fmt.Fprintf(w, "  %s\n", f)
		if by := Attribute(f, changes); len(by) > 0 {
			for _, c := range by {
				fmt.Fprintf(w, "    caused by %s\n", c)
			}
		} else if len(changes) > 0 {
			s := make([]string, len(changes))
			for i, c := range changes {
				s[i] = c.String()
			}
			fmt.Fprintf(w, "    after %s\n", strings.Join(s, ", "))
		}
	}
}

// Notes are the lines to show even when the check passes: what was not
// checked and why.
func (r *Report) Notes() []string {
	var out []string
	out = append(out, r.Warnings...)
	if len(r.NotChecked) > 0 {
		out = append(out, fmt.Sprintf("not checked against a schema (none in %s): %s", r.Schema, strings.Join(r.NotChecked, ", ")))
	}
	for _, f := range r.Existing {
		out = append(out, "already failing before this change: "+f.String())
	}
	return out
}

// WriteDiff writes the rendered manifests' change, object by object (added,
// removed, changed), with Secret data and values from Secrets masked. It
// returns whether anything changed.
func (r *Report) WriteDiff(w io.Writer, color bool) (bool, error) {
	var before []render.Object
	if r.Before != nil {
		before = r.Before.Objects
	}
	return WriteObjectDiff(w, before, r.After.Objects, r.Namespace, r.secrets, color)
}

// WriteObjectDiff is WriteDiff for any two renders of a release in
// namespace ns; secrets are string values to mask wherever they appear.
func WriteObjectDiff(w io.Writer, before, after []render.Object, ns string, secrets map[string]bool, color bool) (bool, error) {
	type pair struct{ a, b *render.Object }
	m := map[string]*pair{}
	for i := range before {
		o := &before[i]
		m[o.Key(ns)] = &pair{a: o}
	}
	for i := range after {
		o := &after[i]
		if p, ok := m[o.Key(ns)]; ok {
			p.b = o
		} else {
			m[o.Key(ns)] = &pair{b: o}
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	any := false
	for _, k := range keys {
		p := m[k]
		old, new := "", ""
		var label string
		if p.a != nil {
			old = canonical(p.a, nil, secrets)
			label = p.a.ID(ns)
		}
		if p.b != nil {
			new = canonical(p.b, p.a, secrets)
			label = p.b.ID(ns)
		}
		switch {
		case p.a == nil:
			label += " (added)"
		case p.b == nil:
			label += " (removed)"
		}
		changed, err := textdiff.Unified(w, label, []byte(old), []byte(new), textdiff.Options{Color: color})
		if err != nil {
			return any, err
		}
		any = any || changed
	}
	return any, nil
}

// canonical is the object as sorted YAML, Secret data masked (on the new
// side, marked changed when it differs from old's), Secret-fed strings
// masked.
func canonical(o, old *render.Object, secrets map[string]bool) string {
	obj := o.Object
	if o.Kind == "Secret" {
		var other map[string]any
		if old != nil {
			other = old.Object
		}
		obj = MaskSecret(obj, other)
	}
	b, err := yaml.Marshal(obj)
	if err != nil {
		return fmt.Sprint(obj)
	}
	return MaskValues(string(b), secrets)
}

// MaskSecret returns a copy of a Secret with every value of data and
// stringData replaced by <redacted>, or by <redacted, changed> when other
// (the Secret it is compared with; nil for none) holds a different value
// for the key; a data field that is not a map, and the
// last-applied-configuration annotation kubectl writes (it holds the
// data), are masked whole.
func MaskSecret(obj, other map[string]any) map[string]any {
	if obj == nil {
		return nil
	}
	out := make(map[string]any, len(obj))
	for k, v := range obj {
		out[k] = v
	}
	for _, field := range []string{"data", "stringData"} {
		d, ok := obj[field].(map[string]any)
		if !ok {
			if obj[field] != nil {
				out[field] = "<redacted>"
			}
			continue
		}
		od, _ := other[field].(map[string]any)
		masked := make(map[string]any, len(d))
		for k, v := range d {
			if other != nil && fmt.Sprint(od[k]) != fmt.Sprint(v) {
				masked[k] = "<redacted, changed>"
			} else {
				masked[k] = "<redacted>"
			}
		}
		out[field] = masked
	}
	const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"
	if md, ok := out["metadata"].(map[string]any); ok {
		if a, ok := md["annotations"].(map[string]any); ok && a[lastApplied] != nil {
			mdc := make(map[string]any, len(md))
			for k, v := range md {
				mdc[k] = v
			}
			ac := make(map[string]any, len(a))
			for k, v := range a {
				ac[k] = v
			}
			ac[lastApplied] = "<redacted>"
			mdc["annotations"] = ac
			out["metadata"] = mdc
		}
	}
	return out
}

// MaskValues replaces in s every value that came from a Secret (at least 4
// characters, not true or false) with <redacted>.
func MaskValues(s string, secrets map[string]bool) string {
	for v := range secrets {
		if len(v) >= 4 && v != "true" && v != "false" {
			s = strings.ReplaceAll(s, v, "<redacted>")
		}
	}
	return s
}

// SecretValues are the string values that came from Secrets (valuesFrom):
// whatever shows the render must mask them.
func (r *Report) SecretValues() map[string]bool { return r.secrets }
