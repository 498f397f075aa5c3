package diff_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
)

// release is a HelmRelease of chart sample-app from the HelmRepository
// "charts" in flux-system.
func release(name, ns, tag string) string {
	return fmt.Sprintf(`apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: %s
  namespace: %s
spec:
  interval: 5m
  chart:
    spec:
      chart: sample-app
      version: 0.1.2
      sourceRef: {kind: HelmRepository, name: charts, namespace: flux-system}
  values:
    image:
      tag: "%s"
`, name, ns, tag)
}

// helmRepo is the HelmRepository "charts" at url (oci:// makes it an OCI one).
func helmRepo(url string) string {
	typ := ""
	if strings.HasPrefix(url, "oci://") {
		typ = "  type: oci\n"
	}
	return "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: charts\n  namespace: flux-system\nspec:\n  interval: 1h\n" + typ + "  url: " + url + "\n"
}

// gateRepo is a GitOps checkout with n releases of the HelmRepository at
// url on main (published to a bare origin), and a branch "change" that
// bumps each one's image tag, committed. It returns the checkout and env.
func gateRepo(tb testing.TB, n int, url string) (string, []string) {
	tb.Helper()
	base := tb.TempDir()
	env := binarytest.Env(base, "Gate", "gate@example.com")
	work := filepath.Join(base, "gitops", "work")
	writeFile(tb, filepath.Join(work, "sources/charts.yaml"), helmRepo(url))
	for i := 0; i < n; i++ {
		writeFile(tb, filepath.Join(work, fmt.Sprintf("apps/app-%03d.yaml", i)), release(fmt.Sprintf("app-%03d", i), fmt.Sprintf("team-%d", i%10), "1.21"))
	}
	binarytest.Commit(tb, env, work, "releases")
	binarytest.Publish(tb, env, work)
	binarytest.Git(tb, env, work, "switch", "-q", "-c", "change")
	for i := 0; i < n; i++ {
		writeFile(tb, filepath.Join(work, fmt.Sprintf("apps/app-%03d.yaml", i)), release(fmt.Sprintf("app-%03d", i), fmt.Sprintf("team-%d", i%10), "1.22"))
	}
	binarytest.Git(tb, env, work, "commit", "-qam", "bump")
	return work, env
}

// closedPort is a loopback address nothing listens on: connections are
// refused at once.
func closedPort(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

type jsonResult struct {
	BaseRef  string
	Counts   map[string]int
	Releases []struct {
		Release, Path, Status, Reason string
		Valid                         bool
	}
	Changed, Invalid, Unchecked, Errors int
}

func decode(t *testing.T, r binarytest.Result) jsonResult {
	t.Helper()
	var res jsonResult
	if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil {
		t.Fatalf("json: %v\n%s\n%s", err, r.Stdout, r.Stderr)
	}
	return res
}

// A release whose chart cannot be fetched is unchecked with the reason,
// counted, never valid or ✅, and fails the run unless --allow-unchecked.
func TestDiffUnreachableChartIsUnchecked(t *testing.T) {
	work, env := gateRepo(t, 3, "oci://"+closedPort(t)+"/charts")
	bin := binarytest.Build(t)
	r := binarytest.Run(t, env, work, bin, "diff", "-o", "json")
	if r.ExitCode != 4 {
		t.Errorf("exit %d, want 4 (unchecked fails closed)\n%s", r.ExitCode, r.Stderr)
	}
	if !strings.Contains(r.Stderr, "3 HelmRelease(s) of 3 in the range could not be checked") || !strings.Contains(r.Stderr, "--allow-unchecked") {
		t.Errorf("stderr does not say what was not checked and how to accept it:\n%s", r.Stderr)
	}
	res := decode(t, r)
	if res.Unchecked != 3 || res.Counts["unchecked"] != 3 || res.Changed != 0 || len(res.Releases) != 3 {
		t.Errorf("counts: %+v", res)
	}
	for _, e := range res.Releases {
		if e.Status != "unchecked" || e.Valid || !strings.Contains(e.Reason, "connection refused") {
			t.Errorf("release %+v: want unchecked, not valid, with the registry's refusal as reason", e)
		}
	}

	r = binarytest.Run(t, env, work, bin, "diff", "-o", "markdown")
	if strings.Contains(r.Stdout, "✅") || !strings.Contains(r.Stdout, "⚠️ unchecked") || !strings.Contains(r.Stdout, "3 unchecked") {
		t.Errorf("markdown marks an unchecked release as passed, or does not count it:\n%s", r.Stdout)
	}
	r = binarytest.Run(t, env, work, bin, "diff")
	if !strings.Contains(r.Stdout, "3 HelmRelease(s) in the range: 3 unchecked") || !strings.Contains(r.Stdout, "  not checked: ") {
		t.Errorf("text summary:\n%s", r.Stdout)
	}

	r = binarytest.Run(t, env, work, bin, "diff", "--allow-unchecked")
	if r.ExitCode != 7 {
		t.Errorf("--allow-unchecked: exit %d, want 7 (changed)\n%s", r.ExitCode, r.Stderr)
	}
}

// A commit that breaks a HelmRelease file's YAML is an error at file:line,
// never "removed".
func TestDiffBrokenFileIsError(t *testing.T) {
	work, env := multiEnv(t)
	bin := binarytest.Build(t)
	edit(t, work, "apps/staging/sample-app-values.yaml", "replicaCount: 2", "replicaCount: [2")
	binarytest.Git(t, env, work, "commit", "-qam", "break it")
	r := binarytest.Run(t, env, work, bin, "diff", "-o", "json")
	if r.ExitCode != 4 {
		t.Errorf("exit %d, want 4\n%s", r.ExitCode, r.Stderr)
	}
	res := decode(t, r)
	if len(res.Releases) != 1 || res.Errors != 1 {
		t.Fatalf("releases: %+v", res)
	}
	e := res.Releases[0]
	if e.Status != "error" || e.Valid || e.Release != "staging/sample-app-staging/sample-app" || !strings.HasPrefix(e.Reason, "apps/staging/sample-app-values.yaml:") || res.Counts["removed"] != 0 {
		t.Errorf("broken file: %+v, want status error with the file and line", e)
	}
}

// Every chart repository look-up happens once per run, failures included:
// a chart repository that refuses every request is asked once for the
// index whatever the number of releases that use it.
func TestDiffOneLookupPerSource(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	work, env := gateRepo(t, 12, srv.URL)
	bin := binarytest.Build(t)
	r := binarytest.Run(t, env, work, bin, "diff", "-o", "json")
	res := decode(t, r)
	if res.Unchecked != 12 || r.ExitCode != 4 {
		t.Errorf("exit %d, %d unchecked, want 4 and 12", r.ExitCode, res.Unchecked)
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("the chart repository was asked %d times, want 1 (one look-up per source and ref per run)", n)
	}
	if !strings.Contains(res.Releases[0].Reason, "503 Service Unavailable") {
		t.Errorf("reason: %q", res.Releases[0].Reason)
	}
}

// Without a range, diff compares with the remote's default branch, which
// need not be main; --base names another.
func TestDiffDefaultBaseMaster(t *testing.T) {
	base := t.TempDir()
	env := binarytest.Env(base, "Gate", "gate@example.com")
	work := filepath.Join(base, "gitops", "work")
	writeFile(t, filepath.Join(work, "sources/charts.yaml"), helmRepo("oci://"+closedPort(t)+"/charts"))
	binarytest.Git(t, env, base, "init", "-q", "-b", "master", work)
	binarytest.Git(t, env, work, "add", "-A")
	binarytest.Git(t, env, work, "commit", "-qm", "source")
	remote := filepath.Join(base, "gitops", "remote.git")
	binarytest.Git(t, env, base, "init", "-q", "--bare", "-b", "master", remote)
	binarytest.Git(t, env, work, "remote", "add", "origin", remote)
	binarytest.Git(t, env, work, "push", "-q", "-u", "origin", "master")
	binarytest.Git(t, env, work, "switch", "-q", "-c", "new-app")
	writeFile(t, filepath.Join(work, "apps/radarr.yaml"), release("radarr", "media", "1.0"))
	binarytest.Git(t, env, work, "add", "-A")
	binarytest.Git(t, env, work, "commit", "-qm", "radarr")
	bin := binarytest.Build(t)

	r := binarytest.Run(t, env, work, bin, "diff", "-o", "json", "--allow-unchecked")
	res := decode(t, r)
	if r.ExitCode != 7 || res.BaseRef != "origin/master" || len(res.Releases) != 1 || res.Releases[0].Release != "media/radarr" {
		t.Errorf("exit %d, %+v\n%s", r.ExitCode, res, r.Stderr)
	}
	r = binarytest.Run(t, env, work, bin, "diff", "--base", "master", "-o", "json", "--allow-unchecked")
	if res := decode(t, r); res.BaseRef != "master" || len(res.Releases) != 1 {
		t.Errorf("--base master: %+v", res)
	}
	r = binarytest.Run(t, env, work, bin, "diff", "--base", "master", "master..HEAD")
	if r.ExitCode != 2 || !strings.Contains(r.Stderr, "either --base master or the range") {
		t.Errorf("--base and a range: exit %d: %s", r.ExitCode, r.Stderr)
	}
}

// A reversed or empty range is a usage error that says how to fix it.
func TestDiffReversedRange(t *testing.T) {
	work, env := gateRepo(t, 1, "oci://"+closedPort(t)+"/charts")
	bin := binarytest.Build(t)
	r := binarytest.Run(t, env, work, bin, "diff", "HEAD..origin/main")
	if r.ExitCode != 2 || !strings.Contains(r.Stderr, "is reversed") || !strings.Contains(r.Stderr, "kubectl gitops diff origin/main..HEAD") {
		t.Errorf("reversed: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	r = binarytest.Run(t, env, work, bin, "diff", "HEAD..HEAD")
	if r.ExitCode != 2 || !strings.Contains(r.Stderr, "is empty") {
		t.Errorf("empty: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
}

// A new HelmRelease is "added", rendered and validated (from --chart-dir).
func TestDiffNewReleaseAdded(t *testing.T) {
	work, env := gateRepo(t, 1, "oci://"+closedPort(t)+"/charts")
	writeFile(t, filepath.Join(work, "apps/new.yaml"), release("new", "", "1.0"))
	binarytest.Git(t, env, work, "add", "-A")
	binarytest.Git(t, env, work, "commit", "-qm", "new")
	chartDir, _ := filepath.Abs("../../examples/sample-app-helm-chart/charts/sample-app")
	bin := binarytest.Build(t)
	r := binarytest.Run(t, env, work, bin, "diff", "-o", "json", "--chart-dir", chartDir)
	res := decode(t, r)
	var found bool
	for _, e := range res.Releases {
		if e.Path == "apps/new.yaml" {
			found = true
			if e.Status != "added" || !e.Valid || e.Release != "<no namespace>/new" {
				t.Errorf("new release: %+v, want added, valid, <no namespace>/new", e)
			}
		}
	}
	if !found || r.ExitCode != 7 || res.Counts["added"] != 1 {
		t.Errorf("exit %d: %+v\n%s", r.ExitCode, res, r.Stderr)
	}
	if strings.Contains(r.Stdout, `\u003e`) || strings.Contains(r.Stdout, `\u003c`) {
		t.Errorf("JSON escapes < or >:\n%s", r.Stdout)
	}
	if !strings.Contains(r.Stdout, "<no namespace>/new") {
		t.Errorf("JSON lacks <no namespace>/new verbatim")
	}
}
