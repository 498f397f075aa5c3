//go:build forge

package forge_test

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
)

// diffMarker is plugins/diff.CommentMarker.
const diffMarker = "<!-- kubectl-gitops diff -->"

type apiComment struct {
	ID   int64  `json:"id"`
	Body string `json:"body"`
}

// openChangePR commits a change on branch "change", pushes it and opens
// its pull request through the API; it returns the request's number.
func (f *fleet) openChangePR(old, new string) int64 {
	f.t.Helper()
	f.git("switch", "-q", "-c", "change")
	f.editFile("apps/staging/sample-app-values.yaml", old, new)
	f.git("commit", "-qam", "staging: "+new)
	f.git("push", "-q", "-u", "origin", "change")
	var pr apiPull
	if _, err := srv.API(context.Background(), http.MethodPost, "/repos/"+srv.Admin+"/"+f.name+"/pulls",
		map[string]any{"head": "change", "base": "main", "title": "Change staging"}, &pr); err != nil {
		f.t.Fatal(err)
	}
	return pr.Number
}

func (f *fleet) editFile(file, old, new string) {
	f.t.Helper()
	p := filepath.Join(f.work, file)
	data, err := os.ReadFile(p)
	if err != nil || !strings.Contains(string(data), old) {
		f.t.Fatalf("%s does not contain %q (%v)", file, old, err)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fleet) comments(n int64) []apiComment {
	f.t.Helper()
	var cs []apiComment
	f.api(fmt.Sprintf("/issues/%d/comments", n), &cs)
	return cs
}

// chartDir is the founding chart's repository in the project, to render
// from instead of fetching the fleet's GitRepository.
func chartDir(t *testing.T) string {
	d, err := filepath.Abs("../../examples/sample-app-helm-chart")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDiffComment is issue 19's "done when" for --comment: the first run
// posts one comment on the branch's pull request, the second edits it
// (one comment still), and the token never shows.
func TestDiffComment(t *testing.T) {
	f := newFleet(t)
	n := f.openChangePR("replicaCount: 2", "replicaCount: 3")

	r := f.run(tokenEnv(), "diff", "--comment", "--chart-dir", chartDir(t))
	if r.ExitCode != 7 || !strings.Contains(r.Stderr, fmt.Sprintf("commented on pull request #%d: %s/%s/%s/pulls/%d#issuecomment-", n, srv.URL, srv.Admin, f.name, n)) {
		t.Fatalf("first run: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	cs := f.comments(n)
	if len(cs) != 1 || !strings.HasPrefix(cs[0].Body, diffMarker+"\n### kubectl gitops diff") || !strings.Contains(cs[0].Body, "+  replicas: 3") ||
		!strings.Contains(cs[0].Body, "**1 HelmRelease(s) in the range: 1 changed.**") {
		t.Fatalf("comments after the first run: %+v", cs)
	}

	f.editFile("apps/staging/sample-app-values.yaml", "replicaCount: 3", "replicaCount: 4")
	f.git("commit", "-qam", "staging: 4")
	f.git("push", "-q", "origin", "change")
	r = f.run(tokenEnv(), "diff", "--comment", "--chart-dir", chartDir(t))
	if r.ExitCode != 7 || !strings.Contains(r.Stderr, fmt.Sprintf("updated the comment on pull request #%d", n)) {
		t.Fatalf("second run: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	cs2 := f.comments(n)
	if len(cs2) != 1 || cs2[0].ID != cs[0].ID || !strings.Contains(cs2[0].Body, "+  replicas: 4") {
		t.Errorf("comments after the second run: %+v (want the same one, edited)", cs2)
	}

	// No request for the branch: a clear error, nothing posted.
	f.git("switch", "-q", "-c", "lonely")
	r = f.run(tokenEnv(), "diff", "--comment", "--chart-dir", chartDir(t))
	if r.ExitCode != 3 || !strings.Contains(r.Stderr, "no open pull request from branch lonely") {
		t.Errorf("no request: exit %d\n%s", r.ExitCode, r.Stderr)
	}
	r = f.run(nil, "diff", "--comment", "--chart-dir", chartDir(t))
	if r.ExitCode != 2 || !strings.Contains(r.Stderr, "GITEA_TOKEN") {
		t.Errorf("no token: exit %d\n%s", r.ExitCode, r.Stderr)
	}
	f.noSecrets()
}

// release publishes the built binary as release version of a local
// "release server" laid out as GitHub's releases/download/v<version>/;
// tamper corrupts the archive after its checksum is taken.
func release(t *testing.T, version string, tamper bool) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "v"+version)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	archive := fmt.Sprintf("kubectl-gitops_%s_%s_%s.tar.gz", version, runtime.GOOS, runtime.GOARCH)
	bin, err := os.ReadFile(binarytest.Build(t))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, archive)
	out, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	gz := gzip.NewWriter(out)
	tw := tar.NewWriter(gz)
	for name, data := range map[string][]byte{"kubectl-gitops": bin, "LICENSE": []byte("license\n")} {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	gz.Close()
	out.Close()
	data, _ := os.ReadFile(p)
	sum := sha256.Sum256(data)
	checksums := fmt.Sprintf("%s  kubectl-gitops_%s_windows_amd64.zip\n%s  %s\n", strings.Repeat("0", 64), version, hex.EncodeToString(sum[:]), archive)
	if err := os.WriteFile(filepath.Join(dir, "checksums.txt"), []byte(checksums), 0o644); err != nil {
		t.Fatal(err)
	}
	if tamper {
		if err := os.WriteFile(p, append(data, 0), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := httptest.NewServer(http.FileServer(http.Dir(filepath.Dir(dir))))
	t.Cleanup(s.Close)
	return s.URL
}

// actionStep is action.yml's one step: its shell command and its
// environment with the ${{ }} expressions evaluated for inputs and github
// (the two forms it uses: a value, and cond && 'a' || 'b').
func actionStep(t *testing.T, inputs, github map[string]string) (run string, env []string) {
	t.Helper()
	data, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var a struct {
		Inputs map[string]struct{ Default string }
		Runs   struct {
			Using string
			Steps []struct {
				Shell, Run string
				Env        map[string]string
			}
		}
	}
	if err := yaml.Unmarshal(data, &a); err != nil {
		t.Fatal(err)
	}
	if a.Runs.Using != "composite" || len(a.Runs.Steps) != 1 || a.Runs.Steps[0].Shell != "bash" {
		t.Fatalf("action.yml: want a composite action of one bash step: %+v", a.Runs)
	}
	var eval func(string) string
	value := func(ref string) string {
		if name, ok := strings.CutPrefix(ref, "inputs."); ok {
			if v, ok := inputs[name]; ok {
				return v
			}
			if in, ok := a.Inputs[name]; ok {
				return eval(in.Default)
			}
			t.Fatalf("action.yml uses unknown input %s", name)
		}
		if name, ok := strings.CutPrefix(ref, "github."); ok {
			return github[name]
		}
		t.Fatalf("action.yml: cannot evaluate %s", ref)
		return ""
	}
	expr := regexp.MustCompile(`\$\{\{\s*(.*?)\s*\}\}`)
	ternary := regexp.MustCompile(`^(\S+) == '([^']*)' && '([^']*)' \|\| '([^']*)'$`)
	eval = func(s string) string {
		return expr.ReplaceAllStringFunc(s, func(m string) string {
			e := expr.FindStringSubmatch(m)[1]
			if tm := ternary.FindStringSubmatch(e); tm != nil {
				if value(tm[1]) == tm[2] {
					return tm[3]
				}
				return tm[4]
			}
			return value(e)
		})
	}
	step := a.Runs.Steps[0]
	for k, v := range step.Env {
		env = append(env, k+"="+eval(v))
	}
	return eval(step.Run), env
}

// TestDiffGateScript runs action.yml's step (hack/ci/diff-gate.sh) as the
// runner would, as a bash step with the env the action sets: a detached
// checkout of the pull request, the base branch to fetch, the release to
// install and check, and the report posted on the Gitea pull request.
func TestDiffGateScript(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	f := newFleet(t)
	n := f.openChangePR("replicaCount: 2", "replicaCount: 5")
	f.git("checkout", "-q", "--detach", "HEAD") // as actions/checkout leaves it
	f.git("update-ref", "-d", "refs/remotes/origin/main")
	run := func(releases string) (string, int) {
		script, stepEnv := actionStep(t,
			map[string]string{"version": "v0.0.0-test", "token": "unused-by-gitea", "args": "--chart-dir " + chartDir(t), "allow-unchecked": "true"},
			map[string]string{"base_ref": "main", "event.pull_request.number": fmt.Sprint(n), "workspace": f.work})
		cmd := exec.Command("bash", "-e", "-c", script)
		cmd.Dir = f.work
		cmd.Env = append(append(append([]string{}, f.env...), tokenEnv()...), stepEnv...)
		cmd.Env = append(cmd.Env, "GITHUB_ACTION_PATH="+root, "KUBECTL_GITOPS_RELEASES="+releases, "GATE_INSTALL_DIR="+t.TempDir())
		out, err := cmd.CombinedOutput()
		f.outputs = append(f.outputs, string(out))
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), 0
	}

	out, code := run(release(t, "0.0.0-test", true))
	if code != 2 || !strings.Contains(out, "checksum mismatch") || len(f.comments(n)) != 0 {
		t.Fatalf("tampered archive: exit %d\n%s", code, out)
	}
	out, code = run(release(t, "0.0.0-test", false))
	if code != 0 || !strings.Contains(out, "installed kubectl-gitops 0.0.0-test") || !strings.Contains(out, fmt.Sprintf("commented on pull request #%d", n)) {
		t.Fatalf("gate: exit %d\n%s", code, out)
	}
	cs := f.comments(n)
	if len(cs) != 1 || !strings.Contains(cs[0].Body, "+  replicas: 5") {
		t.Errorf("comments: %+v", cs)
	}
	f.noSecrets()
}
