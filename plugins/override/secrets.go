package override

import (
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/diff"
	"github.com/kubectl-gitops/kubectl-gitops/internal/helmvalues"
	"github.com/kubectl-gitops/kubectl-gitops/internal/yamledit"
)

// SecretKeyPattern matches the values keys whose values are masked in
// every output, as well as every path fed by a valuesFrom Secret with a
// targetPath: a key that names a password, a token, a secret, a
// credential or a kind of key (apiKey, access_key, privateKey, ...).
// --show-secrets shows them. Documented in docs/safety.md.
var SecretKeyPattern = regexp.MustCompile(`(?i)(passw(or)?d|secret|token|credential|(api|access|private|secret|encryption|signing|ssh|tls|license)[-_]?key)`)

// changedMask is what a secret value that the override changes shows as
// on the new side of a diff: the old side shows redacted.
const changedMask = "<redacted, changed>"

// secretPath reports whether a key of p names a secret.
func secretPath(p yamledit.Path) bool {
	for _, seg := range p {
		if s, ok := seg.(string); ok && SecretKeyPattern.MatchString(s) {
			return true
		}
	}
	return false
}

// masked returns the file before and after the override as they may be
// shown: every secret value (see redact) replaced on both sides, the new
// side saying whether it changed, so that a diff's removed, added and
// context lines never show one. ok is false when the masking could not be
// done; then nothing of the file may be shown.
func (e *edited) masked() (before, after []byte, ok bool) {
	if e.showSecrets {
		return e.src, e.out, true
	}
	old := e.values(e.src)
	before, ok = e.mask(e.src, old, nil)
	if !ok {
		return nil, nil, false
	}
	after, ok = e.mask(e.out, e.values(e.out), old)
	return before, after, ok
}

func (e *edited) values(data []byte) map[string]any {
	v, _, err := yamledit.Get(data, e.doc.Index, valuesPath)
	if err != nil {
		return nil
	}
	m, _ := v.(map[string]any)
	return m
}

// mask replaces every secret scalar of values (the spec.values of data)
// with redacted, or with changedMask where old (non-nil) differs.
func (e *edited) mask(data []byte, values, old map[string]any) ([]byte, bool) {
	var ops []yamledit.Op
	var walk func(p yamledit.Path, v any)
	walk = func(p yamledit.Path, v any) {
		switch t := v.(type) {
		case map[string]any:
			for k, x := range t {
				walk(append(append(yamledit.Path{}, p...), k), x)
			}
		case []any:
			for i, x := range t {
				walk(append(append(yamledit.Path{}, p...), i), x)
			}
		case nil:
		default:
			if !e.redact(p) {
				return
			}
			m := redacted
			if old != nil {
				if was, ok := yamledit.Lookup(old, p); !ok || !reflect.DeepEqual(was, v) {
					m = changedMask
				}
			}
			ops = append(ops, yamledit.Op{Path: p, Value: m})
		}
	}
	walk(nil, values)
	if len(ops) == 0 {
		return data, true
	}
	out, _, err := yamledit.Apply(data, e.doc.Index, valuesPath, ops)
	return out, err == nil
}

// diff writes the unified diff of the file, secrets masked (or, when
// they cannot be, a line saying why there is no diff).
func (e *edited) diff(w io.Writer, o diff.Options) (bool, error) {
	before, after, ok := e.masked()
	if !ok {
		_, err := fmt.Fprintf(w, "(the diff of %s is not shown: it holds secret values that could not be masked; --show-secrets shows it)\n", e.doc.Path)
		return e.changed(), err
	}
	return diff.Unified(w, e.doc.Path, before, after, o)
}

// maskFlag masks the value of a flag argument "KEY=VALUE" whose key is
// secret: for warnings and errors that quote the flag.
func (e *edited) maskFlag(arg string) string {
	k, _, ok := strings.Cut(arg, "=")
	if !ok || e.showSecrets {
		return arg
	}
	if p, err := helmvalues.ParsePath(k); err == nil && e.redact(p) {
		return k + "=" + redacted
	}
	return arg
}

// maskConflict takes the secret out of a type conflict: the flag's value
// and the current value it runs into.
func (e *edited) maskConflict(ce *helmvalues.ConflictError) *helmvalues.ConflictError {
	if e.showSecrets {
		return ce
	}
	c := *ce
	c.Arg = e.maskFlag(c.Arg)
	k, _, _ := strings.Cut(ce.Arg, "=")
	fp, _ := helmvalues.ParsePath(k)
	if e.redact(c.Path) || e.redact(fp) {
		if strings.HasPrefix(c.Have, "the ") {
			// "the string \"hunter2\"" -> "a string (<redacted>)"
			kind, _, _ := strings.Cut(strings.TrimPrefix(c.Have, "the "), " ")
			c.Have = fmt.Sprintf("a %s (%s)", kind, redacted)
		}
	}
	return &c
}
