package override_test

// End-to-end tests of the built binary, run as a user runs it: a cleared
// environment (HOME, PATH and a git identity only), a real Git checkout with
// a bare "remote" next to it, and nothing but the command line and exit code
// to talk through.

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// testTmp holds what several tests share (the benchmarks' generated
// repo); removed after all tests.
var testTmp string

func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "override-e2e-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		testTmp = dir
		return binarytest.Main(m)
	}())
}

// env is the whole environment the binary sees.
func env(home string) []string {
	return binarytest.Env(home, "Ada Ops", "ada@example.com")
}

// run runs the binary in dir.
func run(t *testing.T, dir string, args ...string) binarytest.Result {
	t.Helper()
	return binarytest.Run(t, env(filepath.Dir(dir)), dir, binarytest.Build(t), args...)
}

func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	return strings.TrimSpace(binarytest.Git(t, env(filepath.Dir(dir)), dir, args...))
}

// setup makes a bare remote seeded with the founding example GitOps repo
// plus extra files, and n clones of it. It returns the remote and clones.
// The GitRepository points at a bare copy of the founding chart repo
// (examples/sample-app-helm-chart) next to it, so overrides are validated
// against the real chart without leaving the machine.
func setup(t testing.TB, n int, extra map[string]string) (string, []string) {
	t.Helper()
	return setupWithChart(t, n, extra, nil)
}

// setupWithChart is setup with extra files in the chart repo.
func setupWithChart(t testing.TB, n int, extra, chartExtra map[string]string) (string, []string) {
	t.Helper()
	base := t.TempDir()
	chart := filepath.Join(base, "chart", "work")
	binarytest.CopyTree(t, "../../examples/sample-app-helm-chart", chart)
	for p, c := range chartExtra {
		writeFile(t, filepath.Join(chart, p), c)
	}
	binarytest.Commit(t, env(base), chart, "chart")
	chartRemote := binarytest.Publish(t, env(base), chart)
	seed := filepath.Join(base, "seed")
	binarytest.CopyTree(t, "../../examples/flux-app-delivery", seed)
	src := filepath.Join(seed, "sources", "sample-app-helm-chart.yaml")
	writeFile(t, src, strings.Replace(readFile(t, src), "https://github.com/example/sample-app-helm-chart.git", "file://"+chartRemote, 1))
	for p, c := range extra {
		writeFile(t, filepath.Join(seed, p), c)
	}
	binarytest.Commit(t, env(base), seed, "seed")
	bare := binarytest.Publish(t, env(base), seed)
	var clones []string
	for i := 0; i < n; i++ {
		dir := filepath.Join(base, fmt.Sprintf("clone%d", i))
		git(t, base, "clone", "-q", bare, dir)
		clones = append(clones, dir)
	}
	return bare, clones
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// snapshot captures everything a failed command must leave alone: every
// file's bytes and mode, HEAD, the index and the branches.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	var files []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	for _, f := range files {
		st, _ := os.Stat(f)
		fmt.Fprintf(&b, "%s %v\n%s\n", f, st.Mode(), readFile(t, f))
	}
	fmt.Fprintf(&b, "HEAD %s\nstatus %s\nrefs %s\n", git(t, dir, "rev-parse", "HEAD"),
		git(t, dir, "status", "--porcelain"), git(t, dir, "for-each-ref"))
	return b.String()
}

const hrPath = "helmrelease/sample-app-helmrelease.yaml"

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		writeFile(t, path, got)
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestOverrideCommits(t *testing.T) {
	_, clones := setup(t, 1, nil)
	dir := clones[0]
	// Unrelated work in progress: staged, unstaged and untracked.
	writeFile(t, filepath.Join(dir, "sources/sample-app-helm-chart.yaml"), "# scribble\n")
	git(t, dir, "add", "sources/sample-app-helm-chart.yaml")
	writeFile(t, filepath.Join(dir, "README.md"), "local notes\n")
	writeFile(t, filepath.Join(dir, "untracked.txt"), "x\n")
	statusBefore := git(t, dir, "status", "--porcelain")
	before := readFile(t, filepath.Join(dir, hrPath))
	os.Chmod(filepath.Join(dir, hrPath), 0o640)

	r := run(t, filepath.Join(dir, "helmrelease"), "override", "sample-app", "-n", "sample-app",
		"--set", "image.tag=1.22", "--set", "replicaCount=5")
	if r.ExitCode != 0 {
		t.Fatalf("exit %d: %s", r.ExitCode, r.Stderr)
	}
	after := readFile(t, filepath.Join(dir, hrPath))
	if !strings.HasPrefix(after, before[:len(before)-1]) {
		t.Errorf("lines before the edit changed:\n%s", after)
	}
	golden(t, "commit.yaml", after)
	if st, _ := os.Stat(filepath.Join(dir, hrPath)); st.Mode().Perm() != 0o640 {
		t.Errorf("mode = %v, want 0640 kept", st.Mode().Perm())
	}
	if files := git(t, dir, "show", "--name-only", "--format=", "HEAD"); files != hrPath {
		t.Errorf("commit holds %q, want only %s", files, hrPath)
	}
	msg := git(t, dir, "log", "-1", "--format=%an <%ae>%n%B")
	if want := "Ada Ops <ada@example.com>\noverride sample-app/sample-app: image.tag=1.22, replicaCount=5\n\nChanged-with: kubectl-gitops override"; !strings.HasPrefix(msg, want) {
		t.Errorf("commit = %q, want prefix %q", msg, want)
	}
	if st := git(t, dir, "status", "--porcelain"); st != statusBefore {
		t.Errorf("other changes disturbed: status %q, was %q", st, statusBefore)
	}
	if !strings.Contains(r.Stdout, "committed ") {
		t.Errorf("stdout = %q", r.Stdout)
	}

	// Again with the same values: a warning, no commit.
	head := git(t, dir, "rev-parse", "HEAD")
	r = run(t, dir, "override", "sample-app", "--set", "image.tag=1.22")
	if r.ExitCode != 0 || !strings.Contains(r.Stderr, "warning: --set image.tag=1.22 has no effect") || git(t, dir, "rev-parse", "HEAD") != head {
		t.Errorf("no-op override: exit %d, stderr %q", r.ExitCode, r.Stderr)
	}
}

func TestOverrideDryRunAndNoCommit(t *testing.T) {
	_, clones := setup(t, 1, nil)
	dir := clones[0]
	snap := snapshot(t, dir)
	r := run(t, dir, "override", "sample-app", "--set", "image.tag=1.22", "--set-string", "podAnnotations.build=42",
		"--set-json", `resources={"limits":{"cpu":"500m"}}`, "--dry-run")
	if r.ExitCode != 0 {
		t.Fatalf("exit %d: %s", r.ExitCode, r.Stderr)
	}
	if strings.Contains(r.Stdout, "\x1b[") {
		t.Error("colored output when stdout is not a terminal")
	}
	golden(t, "dry-run.diff", r.Stdout)
	if snapshot(t, dir) != snap {
		t.Error("--dry-run changed the checkout")
	}

	// (The validation report has temporary paths in it: validate_test.go checks it.)
	r = run(t, dir, "override", "sample-app", "--unset", "podAnnotations.team", "--no-commit", "-o", "json", "--validate=false")
	if r.ExitCode != 0 {
		t.Fatalf("exit %d: %s", r.ExitCode, r.Stderr)
	}
	golden(t, "no-commit.json", r.Stdout)
	if st := git(t, dir, "status", "--porcelain"); st != "M "+hrPath && st != " M "+hrPath {
		t.Errorf("status = %q, want only the HelmRelease modified", st)
	}
	if git(t, dir, "rev-list", "--count", "HEAD") != "1" {
		t.Error("--no-commit committed")
	}
}

func TestOverridePush(t *testing.T) {
	bare, clones := setup(t, 1, nil)
	dir := clones[0]
	r := run(t, dir, "override", "sample-app", "--set", "replicaCount=3", "--push")
	if r.ExitCode != 0 {
		t.Fatalf("exit %d: %s", r.ExitCode, r.Stderr)
	}
	if got := git(t, bare, "show", "main:"+hrPath); !strings.Contains(got, "    replicaCount: 3") {
		t.Errorf("remote file:\n%s", got)
	}
	if git(t, bare, "rev-parse", "main") != git(t, dir, "rev-parse", "HEAD") {
		t.Error("remote main is not the local commit")
	}

	r = run(t, dir, "override", "sample-app", "--set", "replicaCount=4", "--branch", "scale-4", "-m", "Scale to 4 for the sale")
	if r.ExitCode != 0 {
		t.Fatalf("--branch: exit %d: %s", r.ExitCode, r.Stderr)
	}
	if got := git(t, bare, "log", "-1", "--format=%s", "scale-4"); got != "Scale to 4 for the sale" {
		t.Errorf("remote branch scale-4 head = %q", got)
	}
	if got := git(t, bare, "show", "main:"+hrPath); !strings.Contains(got, "replicaCount: 3") {
		t.Error("--branch moved main")
	}
	// The checkout is back where it was; the override is on the branch only.
	if b := git(t, dir, "branch", "--show-current"); b != "main" {
		t.Errorf("current branch = %q, want main (the checkout never leaves it)", b)
	}
}

// Two people override different keys of the same HelmRelease at the same
// time, from clones that do not know about each other's commit.
func TestOverrideConcurrentPush(t *testing.T) {
	t.Run("one after the other, second is stale", func(t *testing.T) {
		bare, clones := setup(t, 2, nil)
		a := run(t, clones[0], "override", "sample-app", "--set", "image.tag=1.22", "--push")
		b := run(t, clones[1], "override", "sample-app", "--set", "replicaCount=5", "--push")
		if a.ExitCode != 0 || b.ExitCode != 0 {
			t.Fatalf("exit %d/%d: %s %s", a.ExitCode, b.ExitCode, a.Stderr, b.Stderr)
		}
		if !strings.Contains(b.Stdout, "on top of concurrent changes") {
			t.Errorf("second push did not report the rebuild: %q", b.Stdout)
		}
		got := git(t, bare, "show", "main:"+hrPath)
		if !strings.Contains(got, "tag: \"1.22\"") || !strings.Contains(got, "replicaCount: 5") {
			t.Errorf("remote lost an override:\n%s", got)
		}
		if n := git(t, bare, "rev-list", "--count", "main"); n != "3" {
			t.Errorf("remote main has %s commits, want seed + 2", n)
		}
	})
	t.Run("truly at once", func(t *testing.T) {
		bare, clones := setup(t, 3, nil)
		sets := []string{"image.tag=1.23", "replicaCount=7", "podAnnotations.owner=sre"}
		var wg sync.WaitGroup
		results := make([]binarytest.Result, len(clones))
		for i := range clones {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = run(t, clones[i], "override", "sample-app", "--set", sets[i], "--push")
			}()
		}
		wg.Wait()
		for i, r := range results {
			if r.ExitCode != 0 {
				t.Errorf("clone %d: exit %d: %s", i, r.ExitCode, r.Stderr)
			}
		}
		got := git(t, bare, "show", "main:"+hrPath)
		for _, want := range []string{"tag: \"1.23\"", "replicaCount: 7", "owner: sre", "team: \"web\"   # who gets paged"} {
			if !strings.Contains(got, want) {
				t.Errorf("remote lacks %q:\n%s", want, got)
			}
		}
	})
}

func TestOverrideWarningsAndSecrets(t *testing.T) {
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
      repository: ghcr.io/example/payments
      tag: 2.3.1 # {"$imagepolicy": "flux-system:payments:tag"}
`
	_, clones := setup(t, 1, map[string]string{"apps/payments.yaml": hr})
	dir := clones[0]
	r := run(t, dir, "override", "payments", "--set", "image.tag=2.3.2", "--set", "db.password=hunter2", "--dry-run")
	if r.ExitCode != 0 {
		t.Fatalf("exit %d: %s", r.ExitCode, r.Stderr)
	}
	if !strings.Contains(r.Stderr, `carries the image automation marker {"$imagepolicy": "flux-system:payments:tag"}`) {
		t.Errorf("no image automation warning: %q", r.Stderr)
	}
	if strings.Contains(r.Stdout+r.Stderr, "hunter2") {
		t.Errorf("secret-fed value printed:\n%s%s", r.Stdout, r.Stderr)
	}
	if !strings.Contains(r.Stdout, "+      password: <redacted, changed>") {
		t.Errorf("dry-run diff lacks the redacted line:\n%s", r.Stdout)
	}
	r = run(t, dir, "override", "payments", "--set", "db.password=hunter2")
	if r.ExitCode != 0 {
		t.Fatalf("exit %d: %s", r.ExitCode, r.Stderr)
	}
	if msg := git(t, dir, "log", "-1", "--format=%s"); msg != "override shop/payments: db.password=<redacted>" || strings.Contains(r.Stdout, "hunter2") {
		t.Errorf("commit subject %q / stdout %q shows the secret", msg, r.Stdout)
	}
}

// Every bad input: a clear message, the documented exit code, and nothing
// changed in the checkout.
func TestOverrideBadInput(t *testing.T) {
	overlay := map[string]string{
		"apps/base/podinfo.yaml":         "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\nspec:\n  values:\n    replicaCount: 1\n",
		"apps/base/kustomization.yaml":   "resources: [podinfo.yaml]\n",
		"apps/prod/kustomization.yaml":   "namespace: prod\nresources: [../base, podinfo-patch.yaml]\n",
		"apps/prod/podinfo-patch.yaml":   "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: podinfo\nspec:\n  values:\n    replicaCount: 3\n",
		"apps/broken/kustomization.yaml": "namespace: broken\n",
		"apps/broken/redis.yaml":         "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: redis\nspec:\n  values: {a: [1, 2}\n",
		"apps/ro.yaml":                   "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: readonly\nspec:\n  values: {}\n",
	}
	bare, clones := setup(t, 1, overlay)
	dir := clones[0]
	os.Chmod(filepath.Join(dir, "apps/ro.yaml"), 0o444)
	notRepo := t.TempDir()

	cases := []struct {
		name string
		dir  string
		args []string
		code int
		want []string
	}{
		{"not a git repo", notRepo, []string{"override", "sample-app", "--set", "a=1"}, 2, []string{"not a git repository", "--repo"}},
		{"not found", dir, []string{"override", "sample-ap", "--set", "a=1"}, 3, []string{"not found in 11 YAML files (4 HelmReleases in total)", "did you mean sample-app/sample-app?"}},
		{"wrong namespace", dir, []string{"override", "sample-app", "-n", "staging", "--set", "a=1"}, 3, []string{"use -n sample-app"}},
		{"ambiguous", dir, []string{"override", "podinfo", "--set", "a=1"}, 6, []string{"matches 2 documents", "--path apps/base/podinfo.yaml", "--path apps/prod/podinfo-patch.yaml"}},
		{"malformed yaml", dir, []string{"override", "redis", "--set", "a=1"}, 1, []string{"apps/broken/redis.yaml:", "malformed YAML"}},
		{"invalid --set", dir, []string{"override", "sample-app", "--set", "image.tag"}, 2, []string{`invalid --set "image.tag"`}},
		{"invalid --set index", dir, []string{"override", "sample-app", "--set", "l[x]=1"}, 2, []string{"invalid --set"}},
		{"invalid --set-json", dir, []string{"override", "sample-app", "--set-json", "a={"}, 2, []string{"invalid --set-json"}},
		{"type conflict", dir, []string{"override", "sample-app", "--set", "podAnnotations.team.lead=ada"}, 6, []string{"podAnnotations.team is the string \"web\"", "--unset podAnnotations.team"}},
		{"read-only file", dir, []string{"override", "readonly", "--set", "a=1"}, 6, []string{"apps/ro.yaml is read-only", "chmod u+w"}},
		{"no values", dir, []string{"override", "sample-app"}, 2, []string{"nothing to override"}},
		{"two names", dir, []string{"override", "a", "b", "--set", "a=1"}, 2, []string{"exactly one HELMRELEASE"}},
		{"no-commit with push", dir, []string{"override", "sample-app", "--set", "a=1", "--no-commit", "--push"}, 2, []string{"--no-commit cannot be combined"}},
		{"bad output", dir, []string{"override", "sample-app", "--set", "a=1", "-o", "xml"}, 2, []string{"unknown output format"}},
		{"unknown flag", dir, []string{"override", "sample-app", "--sett", "a=1"}, 2, []string{"unknown flag"}},
		{"missing -f file", dir, []string{"override", "sample-app", "-f", "nope.yaml"}, 2, []string{"reading -f nope.yaml"}},
		{"--path outside repo", dir, []string{"override", "podinfo", "--path", notRepo, "--set", "a=1"}, 2, []string{"outside the repository"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			snap := snapshot(t, dir)
			r := run(t, c.dir, c.args...)
			if r.ExitCode != c.code {
				t.Errorf("exit %d, want %d; stderr: %s", r.ExitCode, c.code, r.Stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(r.Stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.Stderr)
				}
			}
			if snapshot(t, dir) != snap {
				t.Error("the checkout changed")
			}
		})
	}

	t.Run("dirty target file", func(t *testing.T) {
		writeFile(t, filepath.Join(dir, hrPath), readFile(t, filepath.Join(dir, hrPath))+"# wip\n")
		snap := snapshot(t, dir)
		r := run(t, dir, "override", "sample-app", "--set", "a=1")
		if r.ExitCode != 6 || !strings.Contains(r.Stderr, "uncommitted changes") || !strings.Contains(r.Stderr, "--allow-dirty") {
			t.Errorf("exit %d: %s", r.ExitCode, r.Stderr)
		}
		if snapshot(t, dir) != snap {
			t.Error("the checkout changed")
		}
		r = run(t, dir, "override", "sample-app", "--set", "a=1", "--allow-dirty")
		if r.ExitCode != 0 {
			t.Errorf("--allow-dirty: exit %d: %s", r.ExitCode, r.Stderr)
		}
		if got := git(t, dir, "show", "HEAD:"+hrPath); !strings.Contains(got, "# wip") || !strings.Contains(got, "    a: 1") {
			t.Errorf("--allow-dirty commit:\n%s", got)
		}
	})

	t.Run("push rejected for good", func(t *testing.T) {
		git(t, dir, "push", "-q", "origin", "main")
		hook := filepath.Join(bare, "hooks", "pre-receive")
		writeFile(t, hook, "#!/bin/sh\necho 'main is protected' >&2\nexit 1\n")
		os.Chmod(hook, 0o755)
		defer os.Remove(hook)
		remoteHead := git(t, bare, "rev-parse", "main")
		r := run(t, dir, "override", "sample-app", "--set", "replicaCount=9", "--push")
		if r.ExitCode != 6 {
			t.Errorf("exit %d, want 6: %s", r.ExitCode, r.Stderr)
		}
		for _, w := range []string{"push rejected", "main is protected", "kept locally", "git pull --rebase origin main && git push origin HEAD:refs/heads/main"} {
			if !strings.Contains(r.Stderr, w) {
				t.Errorf("stderr lacks %q:\n%s", w, r.Stderr)
			}
		}
		if git(t, bare, "rev-parse", "main") != remoteHead {
			t.Error("the remote moved")
		}
		if got := git(t, dir, "log", "-1", "--format=%s"); got != "override sample-app/sample-app: replicaCount=9" {
			t.Errorf("local commit not kept: HEAD is %q", got)
		}
		// Retrying now that the branch has an unpushed commit is refused
		// rather than silently publishing it.
		r = run(t, dir, "override", "sample-app", "--set", "replicaCount=10", "--push")
		if r.ExitCode != 6 || !strings.Contains(r.Stderr, "not on origin/main") {
			t.Errorf("retry with an unpushed commit: exit %d: %s", r.ExitCode, r.Stderr)
		}
	})
}

func TestOverrideCRLFAndNoTrailingNewline(t *testing.T) {
	src := "apiVersion: helm.toolkit.fluxcd.io/v2\r\nkind: HelmRelease\r\nmetadata:\r\n  name: win\r\n  namespace: w\r\nspec:\r\n  values:\r\n    a: 1"
	_, clones := setup(t, 1, map[string]string{"win.yaml": src})
	dir := clones[0]
	if runtime.GOOS == "windows" {
		git(t, dir, "config", "core.autocrlf", "false")
	}
	r := run(t, dir, "override", "win", "--set", "b.c=x", "--set", "a=2")
	if r.ExitCode != 0 {
		t.Fatalf("exit %d: %s", r.ExitCode, r.Stderr)
	}
	want := "apiVersion: helm.toolkit.fluxcd.io/v2\r\nkind: HelmRelease\r\nmetadata:\r\n  name: win\r\n  namespace: w\r\nspec:\r\n  values:\r\n    a: 2\r\n    b:\r\n      c: x"
	if got := readFile(t, filepath.Join(dir, "win.yaml")); got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
