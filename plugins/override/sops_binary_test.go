package override_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
)

// sopsEnv builds the sops CLI from its Go module (hack/tools.sh sops),
// makes an age key, and returns an environment with sops on PATH and the
// key in SOPS_AGE_KEY_FILE, the key's recipient, and the sops binary.
func sopsEnv(t *testing.T, home string) ([]string, string, string) {
	t.Helper()
	out, err := exec.Command("../../hack/tools.sh", "sops").Output()
	if err != nil {
		t.Fatalf("hack/tools.sh sops: %v", err)
	}
	bin := t.TempDir()
	if err := os.Symlink(strings.TrimSpace(string(out)), filepath.Join(bin, "sops")); err != nil {
		t.Fatal(err)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join(t.TempDir(), "keys.txt")
	writeFile(t, keys, id.String()+"\n")
	e := env(home)
	for i, kv := range e {
		if strings.HasPrefix(kv, "PATH=") {
			e[i] = "PATH=" + bin + string(os.PathListSeparator) + strings.TrimPrefix(kv, "PATH=")
		}
	}
	return append(e, "SOPS_AGE_KEY_FILE="+keys), id.Recipient().String(), filepath.Join(bin, "sops")
}

// TestOverrideSOPS: a SOPS-encrypted HelmRelease is never edited as text
// (exit 6, naming the file and the sops commands, nothing written); with
// --sops the change is made by the real sops, so the committed file stays
// encrypted with a valid MAC and holds the new values.
func TestOverrideSOPS(t *testing.T) {
	base := t.TempDir()
	e, recipient, sopsBin := sopsEnv(t, base)
	plain := filepath.Join(base, "payments.yaml")
	writeFile(t, plain, `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: payments
  namespace: shop
spec:
  chart:
    spec:
      chart: payments
  values:
    image:
      tag: "1.0"
    auth:
      password: hunter2-old
`)
	sopsRun := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command(sopsBin, args...)
		cmd.Dir, cmd.Env = dir, e
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("sops %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	sopsRun(base, "encrypt", "--age", recipient, "--encrypted-regex", "^(password)$", "--in-place", plain)
	enc, err := os.ReadFile(plain)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(enc), "hunter2") || !strings.Contains(string(enc), "ENC[AES256_GCM,") {
		t.Fatalf("fixture not encrypted:\n%s", enc)
	}
	_, clones := setup(t, 1, map[string]string{"apps/payments.yaml": string(enc)})
	dir := clones[0]
	bin := binarytest.Build(t)
	file := filepath.Join(dir, "apps", "payments.yaml")
	head := git(t, dir, "rev-parse", "HEAD")

	for _, args := range [][]string{
		{"--set-string", "auth.password=hunter2-new"},
		{"--set", "image.tag=2.0"},
		{"--set", "image.tag=2.0", "--dry-run"},
	} {
		r := binarytest.Run(t, e, dir, bin, append([]string{"override", "payments", "--validate=false"}, args...)...)
		if r.ExitCode != 6 || !strings.Contains(r.Stderr, "apps/payments.yaml is SOPS-encrypted") || !strings.Contains(r.Stderr, "sops set apps/payments.yaml '") ||
			!strings.Contains(r.Stderr, "sops edit apps/payments.yaml") || strings.Contains(r.Stdout+r.Stderr, "hunter2") {
			t.Errorf("%v: exit %d\n%s%s", args, r.ExitCode, r.Stdout, r.Stderr)
		}
	}
	if got, _ := os.ReadFile(file); string(got) != string(enc) || git(t, dir, "rev-parse", "HEAD") != head {
		t.Fatal("a refused run changed the file or committed")
	}

	// --dry-run --sops runs sops (so a missing key shows now) and writes nothing.
	r := binarytest.Run(t, e, dir, bin, "override", "payments", "--validate=false", "--sops", "--set-string", "auth.password=hunter2-new", "--dry-run")
	if r.ExitCode != 0 || strings.Contains(r.Stdout+r.Stderr, "hunter2") {
		t.Errorf("--sops --dry-run: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	if got, _ := os.ReadFile(file); string(got) != string(enc) {
		t.Fatal("--dry-run changed the file")
	}

	r = binarytest.Run(t, e, dir, bin, "override", "payments", "--validate=false", "--sops", "--set-string", "auth.password=hunter2-new", "--set", "image.tag=2.0")
	if r.ExitCode != 0 || strings.Contains(r.Stdout+r.Stderr, "hunter2") {
		t.Fatalf("--sops: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	committed := git(t, dir, "show", "HEAD:apps/payments.yaml")
	if strings.Contains(committed, "hunter2") || !strings.Contains(committed, "password: ENC[AES256_GCM,") {
		t.Errorf("committed file is not encrypted:\n%s", committed)
	}
	// sops checks the MAC when it decrypts: a text edit would fail here.
	out := sopsRun(dir, "decrypt", file)
	if !strings.Contains(out, "password: hunter2-new") || !strings.Contains(out, "tag: \"2.0\"") && !strings.Contains(out, "tag: '2.0'") && !strings.Contains(out, "tag: 2.0") {
		t.Errorf("decrypted:\n%s", out)
	}
	if msg := git(t, dir, "log", "-1", "--format=%B"); strings.Contains(msg, "hunter2") {
		t.Errorf("commit message: %s", msg)
	}
}
