// Package helmvalues turns Helm's value flags (--set, --set-string,
// --set-json, -f, plus --unset) into edit operations on a values tree.
//
// The flags are parsed with Helm's own parser (helm.sh/helm/v3/pkg/strvals),
// applied to the current values exactly as `helm upgrade` would apply them
// (same order, same typing: `a=1` is an int, `a=true` a bool, `a=1.5` and
// `a=01` strings, `a=null` null, `l[1].x=y` pads the list with nulls), and the
// result is compared with the current values to get the smallest set of
// leaf operations. The YAML editor then writes only those.
package helmvalues

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
	"helm.sh/helm/v3/pkg/strvals"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/yamledit"
)

// Input is the value flags as given. They apply in this order, whatever the
// order on the command line: --unset first (so `--unset a --set a.b=1`
// replaces a), then -f files (deep-merged, in order), --replace, then
// Helm's order: --set-json, --set, --set-string.
//
// --set-json merges like -f: a JSON object merges key by key into a map
// that is there, so `resources={"limits":{"cpu":"1"}}` keeps
// resources.requests; lists and scalars replace. --replace KEY=JSON is the
// explicit form that replaces the value at KEY whole (the keys it drops
// are listed in Result.Replaced).
type Input struct {
	// Files are the -f arguments with their contents.
	Files []File
	JSON  []string
	Set   []string
	// String is --set-string.
	String  []string
	Unset   []string
	Replace []string
	// Order, if set, names the flags above in command-line order ("values"
	// for -f, "set", "set-string", "set-json", "replace"; one per
	// argument); new keys are then written in that order. Without it they
	// follow the order in which the flags apply.
	Order []string
}

// File is one -f argument.
type File struct {
	Name string
	Data []byte
}

// Empty reports whether no flag asks for anything.
func (in Input) Empty() bool {
	return len(in.Files)+len(in.JSON)+len(in.Set)+len(in.String)+len(in.Unset)+len(in.Replace) == 0
}

// UsageError is a flag that cannot be parsed.
type UsageError struct {
	Flag, Arg string
	Err       error
}

func (e *UsageError) Error() string {
	return fmt.Sprintf("invalid %s %q: %v", e.Flag, e.Arg, e.Err)
}
func (e *UsageError) Unwrap() error { return e.Err }

// ExitCode is 2: the flag is what to fix.
func (e *UsageError) ExitCode() int { return int(exitcode.Usage) }

// ConflictError is a flag whose path runs through a value of another type:
// a.b.c=1 when a.b is a string. Helm would fail or silently replace; here the
// user must decide.
type ConflictError struct {
	Flag, Arg string
	Path      yamledit.Path
	Have      string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s %q: %s is %s in the current values; add --unset %s if you mean to replace it",
		e.Flag, e.Arg, e.Path, e.Have, e.Path)
}

// ExitCode is 6: the user decides whether to replace the value.
func (e *ConflictError) ExitCode() int { return int(exitcode.Conflict) }

// Result is what the flags do to the values.
type Result struct {
	// Ops turn the current values into Final, smallest first.
	Ops []yamledit.Op
	// NoEffect lists flags ("--set image.tag=1.22") that change nothing
	// because the values already say so.
	NoEffect []string
	// Final is the values after every flag.
	Final map[string]any
	// Replaced says, for each --replace that drops keys, which:
	// "--replace resources={...} removes resources.requests.cpu".
	Replaced []string
}

// Compute applies in to current (the decoded spec.values, nil for none),
// in Helm's order: --unset first (kubectl-gitops' own), then -f, --replace,
// --set-json, --set and --set-string, each flag one step.
func Compute(current map[string]any, in Input) (*Result, error) {
	c := &computation{cur: copyMap(current), res: &Result{}, rk: newRanks()}
	if err := c.unset(in.Unset); err != nil {
		return nil, err
	}
	orig := copyMap(c.cur)
	c.rk.commandLine(in)
	for _, apply := range []func(Input) error{c.files, c.replace, c.setJSON, c.setStrvals} {
		if err := apply(in); err != nil {
			return nil, err
		}
	}
	res := c.res
	res.Ops = append(res.Ops, diffOps(orig, c.cur, nil, c.rk)...)
	for i := range res.Ops {
		res.Ops[i].Rank = c.rk.rank
	}
	res.Final = c.cur
	return res, nil
}

// computation is Compute's state: the values so far, the result being
// built and the ranks that order new keys.
type computation struct {
	cur map[string]any
	res *Result
	rk  *ranks
}

// step applies one flag to the values, and records it as having no effect
// when the values are the same after it.
func (c *computation) step(flag, arg string, f func(map[string]any) error) error {
	before := copyMap(c.cur)
	if err := f(c.cur); err != nil {
		return err
	}
	if same(before, c.cur) {
		c.res.NoEffect = append(c.res.NoEffect, flag+" "+arg)
	}
	return nil
}

// unset removes each --unset path; a path that is not there has no effect.
func (c *computation) unset(args []string) error {
	for _, arg := range args {
		p, err := ParsePath(arg)
		if err != nil {
			return &UsageError{Flag: "--unset", Arg: arg, Err: err}
		}
		if _, ok := yamledit.Lookup(c.cur, p); !ok {
			c.res.NoEffect = append(c.res.NoEffect, "--unset "+arg)
			continue
		}
		c.cur = unset(c.cur, p).(map[string]any)
		c.res.Ops = append(c.res.Ops, yamledit.Op{Path: p, Unset: true})
	}
	return nil
}

// files merges each -f values file.
func (c *computation) files(in Input) error {
	for _, file := range in.Files {
		m, err := valuesFile(file.Data)
		if err != nil {
			return &UsageError{Flag: "-f", Arg: file.Name, Err: err}
		}
		c.rk.file(file.Data)
		if err := c.step("-f", file.Name, func(cur map[string]any) error { merge(cur, m); return nil }); err != nil {
			return err
		}
	}
	return nil
}

// replace sets each --replace value whole, and says which keys it drops.
func (c *computation) replace(in Input) error {
	for _, arg := range in.Replace {
		pairs, err := jsonPairs(arg)
		if err != nil {
			return &UsageError{Flag: "--replace", Arg: arg, Err: err}
		}
		if err := c.step("--replace", arg, func(cur map[string]any) error {
			for _, pr := range pairs {
				c.rk.pair(pr)
				old, _ := yamledit.Lookup(cur, pr.path)
				if err := strvals.ParseJSON(pr.text, cur); err != nil {
					return &UsageError{Flag: "--replace", Arg: arg, Err: err}
				}
				if gone := dropped(old, pr.value, pr.path); len(gone) > 0 {
					c.res.Replaced = append(c.res.Replaced, fmt.Sprintf("--replace %s removes %s", pr.text, strings.Join(gone, ", ")))
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// setJSON applies each --set-json: a JSON object merges into the map that
// is there, as -f and --set do; anything else is set as Helm sets it.
func (c *computation) setJSON(in Input) error {
	for _, arg := range in.JSON {
		pairs, err := jsonPairs(arg)
		if err != nil {
			return &UsageError{Flag: "--set-json", Arg: arg, Err: err}
		}
		shape := map[string]any{}
		if err := strvals.ParseJSON(arg, shape); err != nil {
			return &UsageError{Flag: "--set-json", Arg: arg, Err: err}
		}
		for _, pr := range pairs {
			if len(pr.path) == 0 || slices.Contains(pr.path, any("")) {
				return &UsageError{Flag: "--set-json", Arg: arg, Err: ErrEmptyKey}
			}
		}
		if err := conflicts("--set-json", arg, shape, c.cur, nil); err != nil {
			return err
		}
		if err := c.step("--set-json", arg, func(cur map[string]any) error {
			for _, pr := range pairs {
				c.rk.pair(pr)
				if obj, ok := pr.value.(map[string]any); ok {
					if m, ok := lookupMap(cur, pr.path); ok {
						merge(m, obj)
						continue
					}
				}
				if err := strvals.ParseJSON(pr.text, cur); err != nil {
					return &UsageError{Flag: "--set-json", Arg: arg, Err: err}
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// setStrvals applies --set, then --set-string, with Helm's strvals parser.
func (c *computation) setStrvals(in Input) error {
	for _, g := range []struct {
		flag  string
		args  []string
		parse func(string, map[string]any) error
	}{
		{"--set", in.Set, strvals.ParseInto},
		{"--set-string", in.String, strvals.ParseIntoString},
	} {
		for _, arg := range g.args {
			// Parse on its own first: a syntax error is the user's typo, and
			// the shape tells which paths the flag walks through.
			shape := map[string]any{}
			if err := g.parse(arg, shape); err != nil {
				return &UsageError{Flag: g.flag, Arg: arg, Err: err}
			}
			if err := checkKeys(shape); err != nil {
				return &UsageError{Flag: g.flag, Arg: arg, Err: err}
			}
			if err := conflicts(g.flag, arg, shape, c.cur, nil); err != nil {
				return err
			}
			c.rk.set(arg)
			if err := c.step(g.flag, arg, func(cur map[string]any) error {
				if err := g.parse(arg, cur); err != nil {
					return &UsageError{Flag: g.flag, Arg: arg, Err: err}
				}
				return nil
			}); err != nil {
				return err
			}
		}
	}
	return nil
}

// ErrEmptyKey is a key path with an empty segment: "=x", ".a=x", "a..b=x".
var ErrEmptyKey = errors.New("the key has an empty segment (nothing before '=', or a leading, trailing or doubled '.'): name the key, like image.tag=1.2")

// checkKeys refuses a parsed flag whose keys are empty or that names no
// key at all: Helm would write a key "" (or nothing) and report no error.
func checkKeys(shape map[string]any) error {
	if len(shape) == 0 {
		return ErrEmptyKey
	}
	var walk func(v any) error
	walk = func(v any) error {
		switch t := v.(type) {
		case map[string]any:
			for k, x := range t {
				if k == "" {
					return ErrEmptyKey
				}
				if err := walk(x); err != nil {
					return err
				}
			}
		case []any:
			for _, x := range t {
				if err := walk(x); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(shape)
}

// ParsePath reads a key in Helm's --set syntax ("a.b", `a\.b`, "l[0].x")
// into a path, by letting Helm's parser read "KEY=0" and walking down to the
// one leaf it made.
func ParsePath(key string) (yamledit.Path, error) {
	if key == "" || strings.ContainsAny(key, "=,") {
		return nil, fmt.Errorf("want one key in --set syntax (a.b, a\\.b, list[0].name)")
	}
	m := map[string]any{}
	if err := strvals.ParseInto(key+"=0", m); err != nil {
		return nil, err
	}
	if err := checkKeys(m); err != nil {
		return nil, err
	}
	var p yamledit.Path
	var v any = m
	for {
		switch t := v.(type) {
		case map[string]any:
			if len(t) != 1 {
				return nil, errors.New("want one key")
			}
			for k, x := range t {
				p = append(p, k)
				v = x
			}
		case []any:
			p = append(p, len(t)-1)
			v = t[len(t)-1]
		default:
			return p, nil
		}
	}
}

// conflicts finds a flag's path running through a value of another type.
func conflicts(flag, arg string, shape, cur any, p yamledit.Path) error {
	switch s := shape.(type) {
	case map[string]any:
		c, ok := cur.(map[string]any)
		if !ok {
			if cur == nil {
				return nil
			}
			return &ConflictError{Flag: flag, Arg: arg, Path: p, Have: describe(cur)}
		}
		for _, k := range slices.Sorted(maps.Keys(s)) {
			if err := conflicts(flag, arg, s[k], c[k], append(append(yamledit.Path{}, p...), k)); err != nil {
				return err
			}
		}
	case []any:
		// A whole list value (a={1,2}) replaces whatever was there; an
		// indexed path (a[0]=1) walks into a list.
		c, ok := cur.([]any)
		if !ok {
			if cur == nil || !indexed(s) {
				return nil
			}
			return &ConflictError{Flag: flag, Arg: arg, Path: p, Have: describe(cur)}
		}
		// Only an item with keys or indexes below it (l[0].name=x) walks
		// into the current item; a scalar item may be a literal replacing
		// the whole list (l={x}), which needs no check.
		for i, x := range s {
			if i < len(c) && isCollection(x) {
				if err := conflicts(flag, arg, x, c[i], append(append(yamledit.Path{}, p...), i)); err != nil {
					return err
				}
			}
		}
	default:
		// A scalar replacing a map or list loses everything below it; an
		// explicit null is how Helm users ask for exactly that.
		switch cur.(type) {
		case map[string]any, []any:
			if shape != nil {
				return &ConflictError{Flag: flag, Arg: arg, Path: p, Have: describe(cur)}
			}
		}
	}
	return nil
}

// indexed guesses whether a parsed list came from an index (l[2]=x pads
// with nulls) rather than a list literal; either way a non-list there is a
// conflict, so this only spares the empty case.
func indexed(l []any) bool { return len(l) > 0 }

func describe(v any) string {
	switch t := v.(type) {
	case map[string]any:
		return "a map"
	case []any:
		return "a list"
	case string:
		return fmt.Sprintf("the string %q", t)
	case nil:
		return "null"
	}
	return fmt.Sprintf("the %T %v", v, v)
}

// merge deep-merges src into dst the way Helm merges -f files: maps merge
// key by key, anything else (lists included) replaces.
func merge(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				merge(dm, sm)
				continue
			}
		}
		dst[k] = copyAny(v)
	}
}

// diffOps lists the operations that turn old into new: new keys and
// changed leaves are set, a list that grew gets its new items appended, a
// list that shrank is replaced whole.
func diffOps(old, new any, p yamledit.Path, rk *ranks) []yamledit.Op {
	at := func(el any) yamledit.Path { return append(append(yamledit.Path{}, p...), el) }
	switch n := new.(type) {
	case map[string]any:
		o, ok := old.(map[string]any)
		if !ok {
			if len(p) == 0 {
				o = map[string]any{}
			} else {
				return []yamledit.Op{{Path: p, Value: n}}
			}
		}
		// Only the keys that changed are put in order: sorting every key of
		// a large values map at every level cost more than the rest.
		changed := map[string][]yamledit.Op{}
		for k, nv := range n {
			if ov, ok := o[k]; ok {
				if kops := diffOps(ov, nv, at(k), rk); len(kops) > 0 {
					changed[k] = kops
				}
			} else {
				changed[k] = []yamledit.Op{{Path: at(k), Value: nv}}
			}
		}
		var ops []yamledit.Op
		if len(changed) > 0 {
			sub := make(map[string]any, len(changed))
			for k := range changed {
				sub[k] = n[k]
			}
			for _, k := range rk.keys(sub, p) {
				ops = append(ops, changed[k]...)
			}
		}
		var gone []string
		for k := range o {
			if _, ok := n[k]; !ok {
				gone = append(gone, k)
			}
		}
		slices.Sort(gone)
		for _, k := range gone {
			ops = append(ops, yamledit.Op{Path: at(k), Unset: true})
		}
		return ops
	case []any:
		o, ok := old.([]any)
		if !ok || len(n) < len(o) {
			return []yamledit.Op{{Path: p, Value: n}}
		}
		var ops []yamledit.Op
		for i := range n {
			if i < len(o) {
				ops = append(ops, diffOps(o[i], n[i], at(i), rk)...)
			} else {
				ops = append(ops, yamledit.Op{Path: at(i), Value: n[i]})
			}
		}
		return ops
	}
	if sameScalar(old, new) {
		return nil
	}
	return []yamledit.Op{{Path: p, Value: new}}
}

// sameScalar compares leaves across the types YAML and Helm produce for
// the same number (int from YAML, int64 from --set, float64 from JSON).
func sameScalar(a, b any) bool {
	if fa, ok := number(a); ok {
		fb, ok := number(b)
		return ok && fa == fb
	}
	return reflect.DeepEqual(a, b)
}

func isCollection(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return true
	}
	return false
}

// Equal is deep equality of decoded values with numbers compared by value
// (YAML's int 3, --set's int64 3 and JSON's float64 3 are equal).
func Equal(a, b any) bool { return same(a, b) }

func same(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !same(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !same(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return sameScalar(a, b)
}

func number(v any) (float64, bool) {
	switch t := v.(type) {
	case int:
		return float64(t), true
	case int64:
		return float64(t), true
	case uint64:
		return float64(t), true
	case float64:
		return t, true
	}
	return 0, false
}

func unset(v any, p yamledit.Path) any {
	if len(p) == 0 {
		return v
	}
	switch k := p[0].(type) {
	case string:
		m := v.(map[string]any)
		if len(p) == 1 {
			delete(m, k)
		} else {
			m[k] = unset(m[k], p[1:])
		}
		return m
	case int:
		l := v.([]any)
		if len(p) == 1 {
			return append(l[:k:k], l[k+1:]...)
		}
		l[k] = unset(l[k], p[1:])
		return l
	}
	return v
}

// Copy is a deep copy of values (maps and lists; scalars are shared):
// what a caller may change without touching m. nil copies as an empty map.
func Copy(m map[string]any) map[string]any { return copyMap(m) }

func copyMap(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return copyAny(m).(map[string]any)
}

func copyAny(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = copyAny(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = copyAny(x)
		}
		return out
	}
	return v
}

// Summary renders ops for a commit message: "image.tag=1.22, replicaCount=5,
// unset debug". redact reports paths whose values must not be shown.
func Summary(ops []yamledit.Op, redact func(yamledit.Path) bool) string {
	parts := make([]string, 0, len(ops))
	for _, op := range ops {
		switch {
		case op.Unset:
			parts = append(parts, "unset "+op.Path.String())
		default:
			// A new map reads better as the leaves the user typed:
			// image.tag=1.22 rather than image={tag: "1.22"}.
			flatten(op.Path, op.Value, func(p yamledit.Path, v any) {
				if redact != nil && redact(p) {
					parts = append(parts, p.String()+"=<redacted>")
					return
				}
				parts = append(parts, p.String()+"="+Short(v))
			})
		}
	}
	return strings.Join(parts, ", ")
}

func flatten(p yamledit.Path, v any, emit func(yamledit.Path, any)) {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		emit(p, v)
		return
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		flatten(append(append(yamledit.Path{}, p...), k), m[k], emit)
	}
}

// Short renders a value compactly on one line.
func Short(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case string:
		return t
	case map[string]any, []any:
		b, err := yaml.Marshal(v)
		if err == nil {
			var n yaml.Node
			if yaml.Unmarshal(b, &n) == nil && len(n.Content) > 0 {
				setFlow(n.Content[0])
				if out, err := yaml.Marshal(n.Content[0]); err == nil {
					return strings.TrimSpace(string(out))
				}
			}
		}
	}
	return fmt.Sprint(v)
}

func setFlow(n *yaml.Node) {
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		n.Style = yaml.FlowStyle
	}
	for _, c := range n.Content {
		setFlow(c)
	}
}

// valuesFile decodes a -f file: a map, or nothing. It goes through
// yamledit.Decode, whose duplicate-key check is linear (yaml.v3's own
// Unmarshal compares every key with every other).
func valuesFile(data []byte) (map[string]any, error) {
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		return nil, err
	}
	if n.Kind == 0 {
		return nil, nil
	}
	v, err := yamledit.Decode(&n)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the file holds %s, not a map of values", describe(v))
	}
	return m, nil
}
