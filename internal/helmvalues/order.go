package helmvalues

import (
	"encoding/json"
	"errors"
	"math"
	"sort"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
	"helm.sh/helm/v3/pkg/strvals"

	"github.com/kubectl-gitops/kubectl-gitops/internal/yamledit"
)

// ranks remembers the order in which the flags first name each path, so
// that new keys are written in the order the user gave them rather than
// sorted: `--set image.tag=1 --set replicaCount=2` writes image first.
type ranks struct {
	m map[string]int
}

func newRanks() *ranks { return &ranks{m: map[string]int{}} }

// note ranks p and every path above it that has no rank yet.
func (r *ranks) note(p yamledit.Path) {
	for i := 1; i <= len(p); i++ {
		k := p[:i].String()
		if _, ok := r.m[k]; !ok {
			r.m[k] = len(r.m)
		}
	}
}

func (r *ranks) rank(p yamledit.Path) (int, bool) {
	n, ok := r.m[p.String()]
	return n, ok
}

// keys orders m's keys (m at path p): ranked keys first, by rank, then
// the others sorted.
func (r *ranks) keys(m map[string]any, p yamledit.Path) []string {
	keys := sortedKeys(m)
	if r == nil {
		return keys
	}
	rankOf := func(k string) int {
		if n, ok := r.rank(append(append(yamledit.Path{}, p...), k)); ok {
			return n
		}
		return math.MaxInt
	}
	sort.SliceStable(keys, func(i, j int) bool { return rankOf(keys[i]) < rankOf(keys[j]) })
	return keys
}

// node ranks the keys of a YAML (or JSON) value in the order it writes
// them, below p.
func (r *ranks) node(n *yaml.Node, p yamledit.Path) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			r.node(c, p)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				continue
			}
			kp := append(append(yamledit.Path{}, p...), k.Value)
			r.note(kp)
			r.node(n.Content[i+1], kp)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			r.node(c, append(append(yamledit.Path{}, p...), i))
		}
	}
}

// file ranks the keys of a -f file in file order.
func (r *ranks) file(data []byte) {
	var n yaml.Node
	if yaml.Unmarshal(data, &n) == nil {
		r.node(&n, nil)
	}
}

// pair ranks a --set-json or --replace pair: its key, then its JSON
// object's keys in the order written.
func (r *ranks) pair(pr jsonPair) {
	r.note(pr.path)
	var n yaml.Node
	if yaml.Unmarshal([]byte(pr.raw), &n) == nil {
		r.node(&n, pr.path)
	}
}

// set ranks the keys of a --set or --set-string argument (a=1,b.c=2),
// in the order written.
func (r *ranks) set(arg string) {
	for _, part := range splitPairs(arg) {
		key, _, _ := cutUnescaped(part, '=')
		if p, err := ParsePath(key); err == nil {
			r.note(p)
		}
	}
}

// commandLine ranks the keys of every flag in in.Order's order, before the
// flags apply in theirs.
func (r *ranks) commandLine(in Input) {
	next := map[string]int{}
	take := func(name string, args []string) (string, bool) {
		i := next[name]
		next[name]++
		if i >= len(args) {
			return "", false
		}
		return args[i], true
	}
	for _, name := range in.Order {
		switch name {
		case "values":
			if i := next[name]; i < len(in.Files) {
				r.file(in.Files[i].Data)
			}
			next[name]++
		case "set":
			if arg, ok := take(name, in.Set); ok {
				r.set(arg)
			}
		case "set-string":
			if arg, ok := take(name, in.String); ok {
				r.set(arg)
			}
		case "set-json", "replace":
			args := in.JSON
			if name == "replace" {
				args = in.Replace
			}
			if arg, ok := take(name, args); ok {
				if pairs, err := jsonPairs(arg); err == nil {
					for _, pr := range pairs {
						r.pair(pr)
					}
				}
			}
		}
	}
}

// splitPairs splits a --set argument at the commas between pairs: not
// escaped (\,) and not inside a {list}.
func splitPairs(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '{':
			depth++
		case '}':
			if depth > 0 {
				depth--
			}
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// cutUnescaped cuts s at the first c not escaped with a backslash.
func cutUnescaped(s string, c byte) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case c:
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// jsonPair is one KEY=JSON of a --set-json or --replace argument.
type jsonPair struct {
	// text is the pair as written, for Helm's parser and for messages.
	text string
	path yamledit.Path
	// value is the decoded JSON (nil for an empty value, as Helm reads it);
	// raw its text.
	value any
	raw   string
}

// jsonPairs splits an argument such as `a={"x":1},b.c=[1,2]` into its
// pairs the way Helm's strvals.ParseJSON reads it (the JSON value ends
// where a JSON decoder stops), after Helm's parser accepted it whole.
func jsonPairs(s string) ([]jsonPair, error) {
	if err := strvals.ParseJSON(s, map[string]any{}); err != nil {
		return nil, err
	}
	var out []jsonPair
	for i := 0; i < len(s); {
		key, rest, ok := cutUnescaped(s[i:], '=')
		if !ok {
			return nil, errors.New("want KEY=JSON")
		}
		p, err := ParsePath(key)
		if err != nil {
			return nil, err
		}
		pr := jsonPair{path: p}
		n := 0
		if t := strings.TrimLeftFunc(rest, unicode.IsSpace); t == "" || t[0] == ',' {
			n = len(rest) - len(t)
		} else {
			dec := json.NewDecoder(strings.NewReader(rest))
			if err := dec.Decode(&pr.value); err != nil {
				return nil, err
			}
			n = int(dec.InputOffset())
			pr.raw = rest[:n]
		}
		end := i + len(key) + 1 + n
		pr.text = s[i:end]
		out = append(out, pr)
		i = end
		for i < len(s) && unicode.IsSpace(rune(s[i])) {
			i++
		}
		if i < len(s) && s[i] == ',' {
			i++
		}
	}
	return out, nil
}

// lookupMap returns the map at p in v, if there is one.
func lookupMap(v map[string]any, p yamledit.Path) (map[string]any, bool) {
	x, ok := yamledit.Lookup(v, p)
	if !ok {
		return nil, false
	}
	m, ok := x.(map[string]any)
	return m, ok
}

// dropped lists the keys of old (the value at p) that new no longer has:
// what a --replace removes.
func dropped(old, new any, p yamledit.Path) []string {
	om, ok := old.(map[string]any)
	if !ok {
		return nil
	}
	nm, _ := new.(map[string]any)
	var out []string
	for _, k := range sortedKeys(om) {
		kp := append(append(yamledit.Path{}, p...), k)
		nv, ok := nm[k]
		if !ok {
			out = append(out, kp.String())
			continue
		}
		out = append(out, dropped(om[k], nv, kp)...)
	}
	return out
}
