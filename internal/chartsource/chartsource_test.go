package chartsource

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
)

var gitEnv = []string{
	"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
	"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
}

func run(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), gitEnv...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func write(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// chartRepo is an app repository with a chart, pushed to a bare remote.
type chartRepo struct {
	url, work string
}

func chartYAML(v string) string {
	return "apiVersion: v2\nname: app\nversion: " + v + "\n"
}

func newChartRepo(t *testing.T) *chartRepo {
	t.Helper()
	root := t.TempDir()
	bare := filepath.Join(root, "app.git")
	run(t, root, "init", "--quiet", "--bare", "-b", "main", bare)
	work := filepath.Join(root, "work")
	run(t, root, "clone", "--quiet", bare, work)
	run(t, work, "checkout", "--quiet", "-b", "main")
	r := &chartRepo{url: "file://" + bare, work: work}
	r.commit(t, "0.1.0", "v0.1.0", map[string]string{
		"charts/app/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  color: {{ .Values.color | quote }}\n",
		"charts/app/values.yaml":       "color: red\n",
		"values/prod.yaml":             "color: blue\n",
		"docs/README.md":               "not part of the chart\n",
	})
	return r
}

func (r *chartRepo) commit(t *testing.T, version, tag string, files map[string]string) string {
	t.Helper()
	files["charts/app/Chart.yaml"] = chartYAML(version)
	for k, v := range files {
		write(t, r.work, k, v)
	}
	run(t, r.work, "add", "-A")
	run(t, r.work, "commit", "--quiet", "-m", "release "+version)
	if tag != "" {
		run(t, r.work, "tag", tag)
	}
	run(t, r.work, "push", "--quiet", "--tags", "origin", "main")
	return run(t, r.work, "rev-parse", "HEAD")
}

// gitops is a GitOps checkout holding a GitRepository for url.
func gitops(t *testing.T, url, ref string) *gitrepo.Repo {
	t.Helper()
	dir := t.TempDir()
	run(t, dir, "init", "--quiet", "-b", "main")
	write(t, dir, "sources/app.yaml", `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: app
  namespace: flux-system
spec:
  interval: 1m
  url: `+url+`
  ref:
    `+ref+`
`)
	run(t, dir, "add", "-A")
	run(t, dir, "commit", "--quiet", "-m", "sources")
	return openRepo(t, dir)
}

func openRepo(t *testing.T, dir string) *gitrepo.Repo {
	t.Helper()
	repo, err := gitrepo.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return repo
}

func helmv2Ref(kind, name string) helmv2.CrossNamespaceObjectReference {
	return helmv2.CrossNamespaceObjectReference{Kind: kind, Name: name, Namespace: "flux-system"}
}

func release(valuesFiles ...string) *helmv2.HelmRelease {
	hr := &helmv2.HelmRelease{}
	hr.Name, hr.Namespace = "app", "apps"
	hr.Spec.Chart = &helmv2.HelmChartTemplate{Spec: helmv2.HelmChartTemplateSpec{
		Chart:       "./charts/app",
		SourceRef:   helmv2.CrossNamespaceObjectReference{Kind: "GitRepository", Name: "app", Namespace: "flux-system"},
		ValuesFiles: valuesFiles,
	}}
	return hr
}

func TestResolveGitRepositoryRefs(t *testing.T) {
	app := newChartRepo(t)
	first := run(t, app.work, "rev-parse", "HEAD")
	app.commit(t, "0.2.0", "v0.2.0", map[string]string{})
	app.commit(t, "0.3.0-rc.1", "v0.3.0-rc.1", map[string]string{})
	app.commit(t, "0.3.0", "", map[string]string{}) // on main, untagged

	tests := []struct {
		ref         string
		wantVersion string
		wantRev     string
	}{
		{ref: "branch: main", wantVersion: "0.3.0", wantRev: "main@sha1:"},
		{ref: "tag: v0.2.0", wantVersion: "0.2.0", wantRev: "v0.2.0@sha1:"},
		{ref: "semver: '>=0.1.0 <1.0.0'", wantVersion: "0.2.0", wantRev: "v0.2.0@sha1:"},
		{ref: "semver: '>=0.3.0-0'", wantVersion: "0.3.0-rc.1", wantRev: "v0.3.0-rc.1@sha1:"},
		{ref: "commit: " + first, wantVersion: "0.1.0", wantRev: "sha1:" + first},
		{ref: "name: refs/tags/v0.1.0", wantVersion: "0.1.0", wantRev: "refs/tags/v0.1.0@sha1:"},
	}
	cache := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			r := &Resolver{Repo: gitops(t, app.url, tt.ref), CacheDir: cache, GitEnv: gitEnv}
			ch, err := r.Resolve(context.Background(), release())
			if err != nil {
				t.Fatal(err)
			}
			if got := ch.Chart.Metadata.Version; got != tt.wantVersion {
				t.Errorf("chart version %s, want %s", got, tt.wantVersion)
			}
			if !strings.HasPrefix(ch.Revision, tt.wantRev) {
				t.Errorf("revision %s, want prefix %s", ch.Revision, tt.wantRev)
			}
			if ch.Chart.Values["color"] != "red" {
				t.Errorf("values %v, want the chart's own", ch.Chart.Values)
			}
			if !strings.Contains(ch.From, "GitRepository flux-system/app") {
				t.Errorf("From = %q", ch.From)
			}
		})
	}
}

func TestResolveFollowsBranchAndValuesFiles(t *testing.T) {
	app := newChartRepo(t)
	cache := t.TempDir()
	r := &Resolver{Repo: gitops(t, app.url, "branch: main"), CacheDir: cache, GitEnv: gitEnv}
	ch, err := r.Resolve(context.Background(), release("charts/app/values.yaml", "./values/prod.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if ch.Chart.Values["color"] != "blue" {
		t.Errorf("valuesFiles not merged in order: %v", ch.Chart.Values)
	}
	// A new commit on the branch is fetched by the next resolver (one
	// resolver, one process, remembers what each ref resolved to).
	app.commit(t, "0.1.1", "", map[string]string{})
	if ch, err = r.Resolve(context.Background(), release()); err != nil || ch.Chart.Metadata.Version != "0.1.0" {
		t.Fatalf("the same resolver fetched again: %v %v", ch.Chart.Metadata.Version, err)
	}
	r = &Resolver{Repo: r.Repo, CacheDir: cache, GitEnv: gitEnv}
	ch, err = r.Resolve(context.Background(), release())
	if err != nil {
		t.Fatal(err)
	}
	if ch.Chart.Metadata.Version != "0.1.1" {
		t.Errorf("branch head not followed: %s", ch.Chart.Metadata.Version)
	}

	_, err = r.Resolve(context.Background(), release("values/missing.yaml"))
	var ue *UnresolvableError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "values/missing.yaml does not exist") {
		t.Errorf("missing valuesFiles: got %v", err)
	}
	hr := release("values/missing.yaml")
	hr.Spec.Chart.Spec.IgnoreMissingValuesFiles = true
	if _, err := r.Resolve(context.Background(), hr); err != nil {
		t.Errorf("ignoreMissingValuesFiles: %v", err)
	}
}

func TestResolveUnresolvable(t *testing.T) {
	app := newChartRepo(t)
	cache := t.TempDir()
	tests := []struct {
		name string
		repo *gitrepo.Repo
		hr   func() *helmv2.HelmRelease
		want string
	}{
		{name: "no source object", repo: gitops(t, app.url, "branch: main"), hr: func() *helmv2.HelmRelease {
			hr := release()
			hr.Spec.Chart.Spec.SourceRef.Name = "other"
			return hr
		}, want: "GitRepository flux-system/other is not in the checkout"},
		{name: "missing branch", repo: gitops(t, app.url, "branch: nope"), hr: func() *helmv2.HelmRelease { return release() }, want: "fetching GitRepository flux-system/app"},
		{name: "unreachable url", repo: gitops(t, "file:///nonexistent/repo.git", "branch: main"), hr: func() *helmv2.HelmRelease { return release() }, want: "--chart-dir"},
		{name: "wrong chart path", repo: gitops(t, app.url, "branch: main"), hr: func() *helmv2.HelmRelease {
			hr := release()
			hr.Spec.Chart.Spec.Chart = "charts/other"
			return hr
		}, want: "chart path charts/other"},
		{name: "helm repository", repo: gitops(t, app.url, "branch: main"), hr: func() *helmv2.HelmRelease {
			hr := release()
			hr.Spec.Chart.Spec.SourceRef.Kind = "Bucket"
			return hr
		}, want: "charts from a Bucket are not resolved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Resolver{Repo: tt.repo, CacheDir: cache, GitEnv: gitEnv}
			_, err := r.Resolve(context.Background(), tt.hr())
			var ue *UnresolvableError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an UnresolvableError with %q", err, tt.want)
			}
		})
	}
}

func TestResolveChartDir(t *testing.T) {
	app := newChartRepo(t)
	for _, dir := range []string{app.work, filepath.Join(app.work, "charts", "app")} {
		r := &Resolver{ChartDir: dir}
		ch, err := r.Resolve(context.Background(), release())
		if err != nil {
			t.Fatal(err)
		}
		if ch.Chart.Name() != "app" || !strings.HasPrefix(ch.From, "--chart-dir") {
			t.Errorf("%s: got %s from %s", dir, ch.Chart.Name(), ch.From)
		}
	}
}

func TestExtractIsCachedPerCommit(t *testing.T) {
	app := newChartRepo(t)
	cache := t.TempDir()
	r := &Resolver{Repo: gitops(t, app.url, "tag: v0.1.0"), CacheDir: cache, GitEnv: gitEnv}
	if _, err := r.Resolve(context.Background(), release()); err != nil {
		t.Fatal(err)
	}
	sha := run(t, app.work, "rev-parse", "v0.1.0^{commit}")
	extracted := filepath.Join(cache, "checkouts", sha, "charts", "app", "Chart.yaml")
	if _, err := os.Stat(extracted); err != nil {
		t.Fatalf("chart not extracted under the commit: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cache, "checkouts", sha, "docs")); err == nil {
		t.Errorf("files outside the chart were extracted")
	}
}
