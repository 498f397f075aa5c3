package override

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/helmvalues"
	"github.com/kubectl-gitops/kubectl-gitops/internal/sops"
	"github.com/kubectl-gitops/kubectl-gitops/internal/textdiff"
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
func (e *edited) diff(w io.Writer, o textdiff.Options) (bool, error) {
	before, after, ok := e.masked()
	if !ok {
		_, err := fmt.Fprintf(w, "(the diff of %s is not shown: it holds secret values that could not be masked; --show-secrets shows it)\n", e.doc.Path)
		return e.changed(), err
	}
	if e.newFile() {
		before = nil // the patch file does not exist yet
	}
	changed, err := textdiff.Unified(w, e.doc.Path, before, after, o)
	if err != nil || !e.newFile() {
		return changed, err
	}
	listed, err := textdiff.Unified(w, e.kustomization, e.kSrc, e.kOut, o)
	return changed || listed, err
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

// encrypted is the refusal for a SOPS-encrypted file, with the `sops set`
// (or `sops unset`) command for each change; a secret's value is left for
// the user to fill in.
func (e *edited) encrypted() error {
	ee := &sops.EncryptedError{File: e.doc.Path}
	for _, op := range e.ops {
		p := sops.IndexPath(append(append([]any{}, valuesPath...), op.Path...))
		if op.Unset {
			ee.Sets = append(ee.Sets, fmt.Sprintf("sops unset %s '%s'", e.doc.Path, p))
			continue
		}
		v := "<the value as JSON>"
		if !e.redact(op.Path) {
			if b, err := json.Marshal(op.Value); err == nil {
				v = string(b)
			}
		}
		ee.Sets = append(ee.Sets, fmt.Sprintf("sops set %s '%s' '%s'", e.doc.Path, p, v))
	}
	return ee
}

// sopsSet makes ed's changes to the encrypted file at full with `sops set`
// and `sops unset`, on a copy outside the checkout, and returns the new
// file: encrypted as sops encrypts it, with a valid MAC. Nothing in the
// checkout changes; messages never carry a value.
func (o *runner) sopsSet(ctx context.Context, ed *edited, full string) ([]byte, error) {
	bin, err := exec.LookPath("sops")
	if err != nil {
		return nil, exitcode.Errorf(exitcode.Usage, "--sops: %s is SOPS-encrypted and the sops command is not on PATH: install sops (https://getsops.io), or drop --sops and edit the file with sops itself", ed.doc.Path)
	}
	dir, err := os.MkdirTemp("", "kubectl-gitops-sops-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	// The same name: sops tells the format by the extension.
	tmp := filepath.Join(dir, filepath.Base(full))
	if err := os.WriteFile(tmp, ed.src, 0o600); err != nil {
		return nil, err
	}
	for i, op := range ed.ops {
		if !ed.changes[i].Changed {
			continue
		}
		idx := sops.IndexPath(append(append([]any{}, valuesPath...), op.Path...))
		args := []string{"unset", tmp, idx}
		if !op.Unset {
			v, err := json.Marshal(op.Value)
			if err != nil {
				return nil, err
			}
			args = []string{"set", tmp, idx, string(v)}
		}
		cmd := exec.CommandContext(ctx, bin, args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			msg := strings.TrimSpace(stderr.String())
			if v, ok := op.Value.(string); ok && v != "" {
				msg = strings.ReplaceAll(msg, v, redacted)
			}
			return nil, fmt.Errorf("--sops: `sops %s %s '%s'` failed (%v): %s; check that sops can decrypt the file (its key: SOPS_AGE_KEY_FILE, a KMS login, ...); nothing was changed", args[0], ed.doc.Path, idx, err, msg)
		}
	}
	return os.ReadFile(tmp)
}
