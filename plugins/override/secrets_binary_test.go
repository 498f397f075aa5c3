package override_test

import (
	"strings"
	"testing"
)

// TestOverrideNeverPrintsSecrets scans every output stream and commit
// message of override runs for the secret values of a HelmRelease: a value
// fed from a valuesFrom Secret (targetPath) and values whose key names a
// secret, old (in diff context and removed lines, the type-conflict error,
// the "no effect" warning) and new (added lines, JSON, commit messages).
func TestOverrideNeverPrintsSecrets(t *testing.T) {
	hr := `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: payments
  namespace: shop
spec:
  chart:
    spec:
      chart: payments
  valuesFrom:
    - kind: Secret
      name: payments-db
      valuesKey: password
      targetPath: db.password
  values:
    image:
      tag: 2.3.1
    db:
      password: old-db-1f2e
    auth:
      apiToken: old-token-9c8b
    replicaCount: 1
`
	secrets := []string{"old-db-1f2e", "old-token-9c8b", "new-db-7a6d", "new-token-5e4f"}
	_, clones := setup(t, 1, map[string]string{"apps/payments.yaml": hr})
	dir := clones[0]
	runs := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--set", "image.tag=2.3.2", "--dry-run"}, 0, "password: <redacted>"},
		{[]string{"--set", "db.password=new-db-7a6d", "--dry-run"}, 0, "+      password: <redacted, changed>"},
		{[]string{"--set", "auth.apiToken=new-token-5e4f", "--dry-run", "-o", "json"}, 0, `"value": "<redacted>"`},
		{[]string{"--set", "db.password.x=1", "--dry-run"}, 6, "db.password is a string (<redacted>)"},
		{[]string{"--set", "auth.apiToken.x=1", "--dry-run"}, 6, "auth.apiToken.x=<redacted>"},
		{[]string{"--set", "db.password=old-db-1f2e", "--set", "replicaCount=2", "--dry-run"}, 0, "--set db.password=<redacted> has no effect"},
		{[]string{"--set", "db.password=new-db-7a6d", "--diff=values", "--validate=false"}, 0, "-      password: <redacted>"},
		{[]string{"--set-string", "auth.apiToken=new-token-5e4f", "--set", "replicaCount=3", "--validate=false"}, 0, "auth.apiToken=<redacted>"},
	}
	for _, r := range runs {
		res := run(t, dir, append([]string{"override", "payments"}, r.args...)...)
		out := res.Stdout + res.Stderr
		if res.ExitCode != r.code || !strings.Contains(out, r.want) {
			t.Errorf("%v: exit %d, want %d and %q:\n%s", r.args, res.ExitCode, r.code, r.want, out)
		}
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%v printed the secret %s:\n%s", r.args, s, out)
			}
		}
	}
	log := git(t, dir, "log", "--format=%B")
	for _, s := range secrets {
		if strings.Contains(log, s) {
			t.Errorf("a commit message holds the secret %s:\n%s", s, log)
		}
	}
	// --show-secrets shows them: the scan above can see one.
	res := run(t, dir, "override", "payments", "--set", "auth.apiToken=old-token-9c8b", "--dry-run", "--show-secrets")
	if !strings.Contains(res.Stdout, "new-token-5e4f") || !strings.Contains(res.Stdout, "old-token-9c8b") {
		t.Errorf("--show-secrets:\n%s%s", res.Stdout, res.Stderr)
	}
}
