package trace

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxstatus"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kube"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kube/kubefake"
)

var update = flag.Bool("update", false, "rewrite golden files")

var testNow = time.Date(2026, 11, 25, 18, 1, 20, 0, time.UTC)

// appRepo is the founding app repo as a real Git repository: P sets chart
// 0.1.2 (nginx 1.21), C changes values only ("nginx 1.22"), L comes later.
type appRepo struct {
	dir     string
	P, C, L string
}

var gitEnv = []string{
	"GIT_AUTHOR_NAME=dev", "GIT_AUTHOR_EMAIL=dev@example.com", "GIT_COMMITTER_NAME=dev", "GIT_COMMITTER_EMAIL=dev@example.com",
	"GIT_CONFIG_NOSYSTEM=1", "HOME=/nonexistent",
}

func git(t testing.TB, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), gitEnv...), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func newAppRepo(t testing.TB) *appRepo {
	t.Helper()
	root := t.TempDir()
	r := &appRepo{dir: filepath.Join(root, "sample-app-helm-chart")}
	bare := filepath.Join(root, "origin.git")
	git(t, root, nil, "init", "-q", "--bare", "-b", "main", bare)
	git(t, root, nil, "init", "-q", "-b", "main", r.dir)
	git(t, r.dir, nil, "remote", "add", "origin", bare)
	commit := func(msg, at string, files map[string]string) string {
		for p, c := range files {
			full := filepath.Join(r.dir, p)
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		env := []string{"GIT_AUTHOR_DATE=" + at, "GIT_COMMITTER_DATE=" + at}
		git(t, r.dir, env, "add", "-A")
		git(t, r.dir, env, "commit", "-q", "-m", msg)
		return git(t, r.dir, nil, "rev-parse", "HEAD")
	}
	chart := "apiVersion: v2\nname: sample-app\nversion: 0.1.2\n"
	r.P = commit("sample-app chart 0.1.2", "2026-11-25T17:00:00Z", map[string]string{
		"charts/sample-app/Chart.yaml": chart, "charts/sample-app/values.yaml": "image:\n  tag: \"1.21\"\n", "README.md": "app\n"})
	r.C = commit("nginx 1.22", "2026-11-25T18:00:00Z", map[string]string{"charts/sample-app/values.yaml": "image:\n  tag: \"1.22\"\n"})
	r.L = commit("nginx 1.23", "2026-11-25T18:05:00Z", map[string]string{"charts/sample-app/values.yaml": "image:\n  tag: \"1.23\"\n"})
	git(t, r.dir, nil, "push", "-q", "origin", "main")
	// The URL Flux clones, as a second remote: matched after normalisation.
	git(t, r.dir, nil, "remote", "add", "github", "git@github.com:example/sample-app-helm-chart")
	return r
}

var listKinds = map[schema.GroupVersionResource]string{
	fluxstatus.GitRepositoryGVR: "GitRepositoryList", fluxstatus.HelmChartGVR: "HelmChartList",
	fluxstatus.HelmReleaseGVR: "HelmReleaseList", fluxstatus.KustomizationGVR: "KustomizationList",
	fluxstatus.DeploymentGVR: "DeploymentList", fluxstatus.ReplicaSetGVR: "ReplicaSetList",
	fluxstatus.StatefulSetGVR: "StatefulSetList", fluxstatus.DaemonSetGVR: "DaemonSetList",
	fluxstatus.PodGVR: "PodList", fluxstatus.EventGVR: "EventList",
}

var gvrOf = map[string]schema.GroupVersionResource{
	"GitRepository": fluxstatus.GitRepositoryGVR, "HelmChart": fluxstatus.HelmChartGVR, "HelmRelease": fluxstatus.HelmReleaseGVR,
	"Kustomization": fluxstatus.KustomizationGVR, "Deployment": fluxstatus.DeploymentGVR, "ReplicaSet": fluxstatus.ReplicaSetGVR,
	"StatefulSet": fluxstatus.StatefulSetGVR, "DaemonSet": fluxstatus.DaemonSetGVR,
	"Pod": fluxstatus.PodGVR, "Event": fluxstatus.EventGVR,
}

// fixtureObjects reads a fluxstatus fixture with the repo's real SHAs,
// applying text edits first (old, new pairs). name may join files with "+".
func fixtureObjects(t testing.TB, name string, r *appRepo, edits ...string) []*unstructured.Unstructured {
	t.Helper()
	var docs []string
	for _, n := range strings.Split(name, "+") {
		b, err := os.ReadFile(filepath.Join("..", "..", "internal", "fluxstatus", "testdata", n))
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, string(b))
	}
	s := strings.Join(docs, "\n---\n")
	for i := 0; i+1 < len(edits); i += 2 {
		s = strings.ReplaceAll(s, edits[i], edits[i+1])
	}
	for k, v := range map[string]string{"C": r.C, "P": r.P, "L": r.L} {
		s = strings.ReplaceAll(s, "{{"+k+"12}}", v[:12])
		s = strings.ReplaceAll(s, "{{"+k+"}}", v)
	}
	var out []*unstructured.Unstructured
	for _, doc := range strings.Split(s, "\n---\n") {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatal(err)
		}
		if len(m) == 0 || m["kind"] == "CommitFacts" {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetAPIVersion() == "" {
			u.SetAPIVersion("v1")
		}
		out = append(out, u)
	}
	return out
}

// cluster is a fake API server that counts requests.
type cluster struct {
	*dynamicfake.FakeDynamicClient
	requests atomic.Int64
	watches  chan string
	rv       atomic.Int64
}

func newCluster(t testing.TB, objs []*unstructured.Unstructured) *cluster {
	t.Helper()
	ros := make([]runtime.Object, len(objs))
	for i, o := range objs {
		// The fake tracker keeps objects as given: give them the
		// resourceVersion a real API server would, so the RetryWatcher
		// can follow them.
		o.SetResourceVersion("1")
		ros[i] = o
	}
	c := &cluster{FakeDynamicClient: dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), listKinds, ros...),
		watches: make(chan string, 100)}
	c.PrependReactor("*", "*", func(k8stesting.Action) (bool, runtime.Object, error) {
		c.requests.Add(1)
		return false, nil, nil
	})
	// Register watches with the tracker ourselves so the test knows when
	// they are in place (no sleeping to let them start).
	c.PrependWatchReactor("*", func(a k8stesting.Action) (bool, watch.Interface, error) {
		c.requests.Add(1)
		w, err := c.Tracker().Watch(a.GetResource(), a.GetNamespace())
		select {
		case c.watches <- a.GetResource().Resource:
		default: // only the first ones matter to awaitWatches
		}
		return true, w, err
	})
	return c
}

func (c *cluster) set(t testing.TB, u *unstructured.Unstructured) {
	t.Helper()
	u.SetResourceVersion(strconv.FormatInt(c.rv.Add(1)+1, 10))
	if err := c.Tracker().Update(gvrOf[u.GetKind()], u, u.GetNamespace()); err != nil {
		t.Fatal(err)
	}
}

// run executes the trace command and returns stdout, stderr and the error.
func run(t testing.TB, c *cluster, clk *clocktesting.FakeClock, args ...string) (string, string, error) {
	t.Helper()
	return runCtx(context.Background(), t, c, clk, nil, args...)
}

func runCtx(ctx context.Context, t testing.TB, c *cluster, clk *clocktesting.FakeClock, hook func(*hooks), args ...string) (string, string, error) {
	t.Helper()
	if clk == nil {
		clk = clocktesting.NewFakeClock(testNow)
	}
	return runFactory(ctx, t, &kubefake.Factory{Dyn: c, Clk: clk, NS: "sample-app"}, hook, args...)
}

// runFactory runs the command with a factory of the test's.
func runFactory(ctx context.Context, t testing.TB, f kube.Factory, hook func(*hooks), args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := newCmd(f, genericiooptions.IOStreams{Out: &out, ErrOut: &errOut}, hook)
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	err := cmd.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("output differs from %s (run with -update if intended):\n--- got\n%s\n--- want\n%s", p, got, want)
	}
}

func TestGoldenRevisionDeployed(t *testing.T) {
	goldenDeployed(t, "revision-deployed", "revision-deployed.yaml")
}

// goldenDeployed traces the founding commit in the fixture, which must be
// deployed, and compares table and json with <name>.<format>.golden.
func goldenDeployed(t *testing.T, name, fixture string, edits ...string) {
	t.Helper()
	r := newAppRepo(t)
	for _, format := range []string{"table", "json"} {
		c := newCluster(t, fixtureObjects(t, fixture, r, edits...))
		out, _, err := run(t, c, nil, r.C[:7], "--repo", r.dir, "-o", format)
		if code := exitcode.From(err); code != exitcode.OK {
			t.Fatalf("exit %d (%v), want 0\n%s", code, err, out)
		}
		golden(t, name+"."+format, out)
	}
}

func TestGoldenChartVersionDiagnosis(t *testing.T) {
	r := newAppRepo(t)
	c := newCluster(t, fixtureObjects(t, "revision-deployed.yaml", r,
		"reconcileStrategy: Revision", "reconcileStrategy: ChartVersion", "0.1.2+{{C12}}", "0.1.2", "0.1.2+{{P12}}", "0.1.2"))
	out, _, err := run(t, c, nil, r.C, "--repo", r.dir)
	if code := exitcode.From(err); code != exitcode.Failed {
		t.Fatalf("exit %d (%v), want %d (Failed)\n%s", code, err, exitcode.Failed, out)
	}
	if !strings.Contains(out, "ChartVersionUnchanged") || !strings.Contains(out, "reconcileStrategy: Revision") {
		t.Errorf("no ChartVersion diagnosis:\n%s", out)
	}
	golden(t, "chartversion-unchanged.table", out)
}

func TestSupersededCommit(t *testing.T) {
	r := newAppRepo(t)
	// The cluster runs L; C is an ancestor of L.
	c := newCluster(t, fixtureObjects(t, "revision-deployed.yaml", r, "{{C", "{{L"))
	out, _, err := run(t, c, nil, r.C, "--repo", r.dir, "-o", "json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var rep fluxstatus.Report
	if err := yaml.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	rel := rep.Releases[0]
	if !rel.Deployed || rel.DeployedBy == nil || rel.DeployedBy.SHA != r.L || rel.DeployedBy.Subject != "nginx 1.23" {
		t.Fatalf("release = %+v", rel)
	}
	// And the later commit is not deployed when the cluster runs C.
	c = newCluster(t, fixtureObjects(t, "revision-deployed.yaml", r))
	out, _, err = run(t, c, nil, r.L, "--repo", r.dir)
	if code := exitcode.From(err); code != exitcode.Pending {
		t.Fatalf("exit %d (%v), want Pending\n%s", code, err, out)
	}
	if !strings.Contains(out, "NotFetchedYet") {
		t.Errorf("want NotFetchedYet:\n%s", out)
	}
}

func TestNotFound(t *testing.T) {
	r := newAppRepo(t)
	c := newCluster(t, fixtureObjects(t, "revision-deployed.yaml", r, "github.com/example/sample-app-helm-chart", "github.com/example/other"))
	_, _, err := run(t, c, nil, "--repo", r.dir)
	if code := exitcode.From(err); code != exitcode.NotFound || !strings.Contains(err.Error(), "github.com/example/other") {
		t.Fatalf("exit %d (%v), want NotFound naming the URLs seen", code, err)
	}
	c = newCluster(t, fixtureObjects(t, "revision-deployed.yaml", r))
	if _, _, err := run(t, c, nil, "no-such-rev", "--repo", r.dir); exitcode.From(err) != exitcode.NotFound {
		t.Fatalf("unknown revision: %v", err)
	}
	if _, _, err := run(t, c, nil, "--repo", r.dir, "--helmrelease", "sample-app/nope"); exitcode.From(err) != exitcode.NotFound {
		t.Fatalf("unknown release: %v", err)
	}
	if _, _, err := run(t, c, nil, "--repo", r.dir, "-o", "xml"); exitcode.From(err) != exitcode.Usage {
		t.Fatalf("bad -o: %v", err)
	}
}

func TestForbiddenKindsStillTrace(t *testing.T) {
	r := newAppRepo(t)
	c := newCluster(t, fixtureObjects(t, "revision-deployed.yaml", r))
	c.PrependReactor("list", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "deployments"}, "", errors.New(`User "dev" cannot list resource "deployments"`))
	})
	c.PrependReactor("list", "events", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "events"}, "", errors.New(`User "dev" cannot list resource "events"`))
	})
	out, _, err := run(t, c, nil, r.C, "--repo", r.dir)
	if code := exitcode.From(err); code != exitcode.Pending {
		t.Fatalf("exit %d (%v), want Pending (cannot confirm the rollout)\n%s", code, err, out)
	}
	for _, s := range []string{"forbidden: cannot read Deployment", "forbidden: cannot read Event", "release upgraded  done", "rollout complete  forbidden"} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
}

// TestForbiddenStatefulSets: RBAC refuses StatefulSets to a release that has
// one; the trace says so for that kind and follows the rest.
func TestForbiddenStatefulSets(t *testing.T) {
	r := newAppRepo(t)
	c := newCluster(t, fixtureObjects(t, "revision-deployed.yaml+workloads.yaml", r, withWorkloads...))
	c.PrependReactor("list", "statefulsets", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "statefulsets"}, "", errors.New(`User "dev" cannot list resource "statefulsets"`))
	})
	out, _, err := run(t, c, nil, r.C, "--repo", r.dir)
	if code := exitcode.From(err); code != exitcode.Pending {
		t.Fatalf("exit %d (%v), want Pending (cannot confirm the rollout)\n%s", code, err, out)
	}
	for _, s := range []string{"forbidden: cannot read StatefulSet", "release upgraded  done", "rollout complete  forbidden",
		"statefulsets.apps is forbidden"} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
	if strings.Contains(out, "cannot read Deployment") || strings.Contains(out, "cannot read DaemonSet") {
		t.Errorf("only StatefulSets were refused:\n%s", out)
	}
}

// TestUpgradeAddingStatefulSet: while helm-controller upgrades a release
// its inventory still names what the previous release applied (a
// Deployment); the StatefulSet the upgrade adds is listed all the same, and
// its unschedulable pod diagnosed.
func TestUpgradeAddingStatefulSet(t *testing.T) {
	r := newAppRepo(t)
	c := newCluster(t, fixtureObjects(t, "revision-deployed.yaml+workloads.yaml", r,
		`  - {type: Ready, status: "True", reason: UpgradeSucceeded,`, `  - {type: Reconciling, status: "True", reason: Progressing, message: "Running 'upgrade' action with timeout of 5m0s"}
  - {type: Ready, status: "Unknown", reason: Progressing,`,
		"  readyReplicas: 3\n  availableReplicas: 3\n  currentReplicas: 3", "  readyReplicas: 2\n  availableReplicas: 2\n  currentReplicas: 3",
		`  phase: Running
  conditions: [{type: Ready, status: "True", lastTransitionTime: "2026-11-25T18:01:06Z"}]`, `  phase: Pending
  conditions: [{type: PodScheduled, status: "False", reason: Unschedulable, message: "0/1 nodes are available: 1 Insufficient cpu."}]`))
	out, _, err := run(t, c, nil, r.C, "--repo", r.dir)
	if code := exitcode.From(err); code != exitcode.Pending {
		t.Fatalf("exit %d (%v), want Pending\n%s", code, err, out)
	}
	for _, s := range []string{"RolloutStuck: rollout of StatefulSet sample-app/sample-db is stuck: pod sample-db-0 is Unschedulable: 0/1 nodes are available"} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
}

// TestRequestsDoNotGrowWithClusterSize: the same trace against a cluster
// with 1,000 more HelmReleases (and their Deployments) makes the same
// number of API requests.
func TestRequestsDoNotGrowWithClusterSize(t *testing.T) {
	r := newAppRepo(t)
	small := newCluster(t, fixtureObjects(t, "revision-deployed.yaml", r))
	if _, _, err := run(t, small, nil, r.C, "--repo", r.dir, "-A"); err != nil {
		t.Fatal(err)
	}
	big := newCluster(t, append(fixtureObjects(t, "revision-deployed.yaml", r), filler(1000)...))
	if _, _, err := run(t, big, nil, r.C, "--repo", r.dir, "-A"); err != nil {
		t.Fatal(err)
	}
	t.Logf("requests: %d with 1 HelmRelease, %d with 1,001", small.requests.Load(), big.requests.Load())
	if small.requests.Load() != big.requests.Load() || small.requests.Load() > 15 {
		t.Fatalf("requests: %d (small) vs %d (1,000 more HelmReleases); want equal and at most 15", small.requests.Load(), big.requests.Load())
	}
}

// withWorkloads is the founding release also running a StatefulSet and a
// DaemonSet, all three in its inventory.
var withWorkloads = []string{"    - {id: sample-app_sample-app__Service, v: v1}",
	"    - {id: sample-app_sample-app__Service, v: v1}\n    - {id: sample-app_sample-db_apps_StatefulSet, v: v1}\n    - {id: sample-app_sample-agent_apps_DaemonSet, v: v1}"}

func TestGoldenWorkloads(t *testing.T) {
	goldenDeployed(t, "workloads", "revision-deployed.yaml+workloads.yaml", withWorkloads...)
}

// TestWorkloadRequests: a release with a Deployment, a StatefulSet and a
// DaemonSet costs a fixed number of requests more than one with a
// Deployment only (a list per kind, the pods of each), and that number does
// not grow with 1,000 unrelated releases beside it.
func TestWorkloadRequests(t *testing.T) {
	r := newAppRepo(t)
	count := func(objs []*unstructured.Unstructured) int64 {
		c := newCluster(t, objs)
		if _, _, err := run(t, c, nil, r.C, "--repo", r.dir, "-A"); err != nil {
			t.Fatal(err)
		}
		return c.requests.Load()
	}
	deployOnly := count(fixtureObjects(t, "revision-deployed.yaml", r))
	all := count(fixtureObjects(t, "revision-deployed.yaml+workloads.yaml", r, withWorkloads...))
	big := count(append(fixtureObjects(t, "revision-deployed.yaml+workloads.yaml", r, withWorkloads...), filler(1000)...))
	t.Logf("requests: %d (Deployment only), %d (+ StatefulSet and DaemonSet), %d (the same beside 1,000 releases)", deployOnly, all, big)
	// +2 lists (StatefulSets, DaemonSets in the namespace), +2 pod lists.
	if all != deployOnly+4 || big != all {
		t.Fatalf("requests: %d, %d, %d; want %d, %d, %d", deployOnly, all, big, deployOnly, deployOnly+4, deployOnly+4)
	}
}

// filler makes n unrelated HelmReleases (another source) with a Deployment,
// 10 pods each.
func filler(n int) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for i := 0; i < n; i++ {
		ns := "team-" + itoa(i%50)
		name := "app-" + itoa(i)
		out = append(out, &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
			"metadata": map[string]any{"name": name, "namespace": ns},
			"spec": map[string]any{"interval": "5m", "chart": map[string]any{"spec": map[string]any{"chart": "./charts/x",
				"sourceRef": map[string]any{"kind": "GitRepository", "name": "other", "namespace": "flux-system"}}}},
		}}, &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"name": name, "namespace": ns, "labels": map[string]any{"helm.toolkit.fluxcd.io/name": name, "helm.toolkit.fluxcd.io/namespace": ns}},
			"spec":     map[string]any{"selector": map[string]any{"matchLabels": map[string]any{"app": name}}},
		}})
		for p := 0; p < 10; p++ {
			out = append(out, &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "v1", "kind": "Pod",
				"metadata": map[string]any{"name": name + "-" + itoa(p), "namespace": ns, "labels": map[string]any{"app": name}},
			}})
		}
	}
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }
