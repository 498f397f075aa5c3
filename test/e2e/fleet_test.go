//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-gitops/kubectl-gitops/test/e2e/e2eutil"
)

// fleet is examples/flux-multi-env on two clusters of the sandbox: staging's objects in the first,
// production's in the second, each cluster with its own Flux controllers, both fetching from the one
// Git server. .gitops.yaml names each environment's kube context.
type fleet struct {
	f                       *e2eutil.Fleet
	st, pr                  *e2eutil.Env
	ns, staging, production string
	app, gitops             *e2eutil.Repo
}

func deployFleet(t testing.TB, e *e2eutil.Env) *fleet {
	t.Helper()
	f := e.Fleet(t)
	m := &fleet{f: f, st: f.Clusters[f.Contexts[0]], pr: f.Clusters[f.Contexts[1]]}
	// The Flux objects' namespace exists in both clusters; each environment's only in its own.
	m.ns = m.st.Namespace(t)
	m.pr.CreateNamespace(t, m.ns)
	m.staging, m.production = m.st.Namespace(t), m.pr.Namespace(t)

	m.app = m.st.NewRepo(t, "sample-app-helm-chart")
	m.app.PushDir(t, filepath.Join(e.Root, "examples", "sample-app-helm-chart"))
	gitCmd(t, m.app.Clone, "tag", "v0.1.2")
	gitCmd(t, m.app.Clone, "push", "--quiet", "origin", "v0.1.2")
	releaseTag(t, m.app, "0.1.3", nil)

	m.gitops = m.st.NewRepo(t, "flux-multi-env")
	dir := m.st.CopyExample(t, "flux-multi-env",
		"https://github.com/example/sample-app-helm-chart.git", m.app.URL,
		"sample-app-staging", m.staging,
		"sample-app-production", m.production,
		"namespace: flux-system", "namespace: "+m.ns,
	)
	e2eutil.WriteFile(t, dir, ".gitops.yaml", fmt.Sprintf(`environments:
  - name: staging
    paths: [apps/staging, clusters/staging]
    bases: [apps/base]
    namespace: %s
    context: %s
  - name: production
    paths: [apps/production, clusters/production]
    bases: [apps/base]
    namespace: %s
    context: %s
`, m.staging, m.st.Context, m.production, m.pr.Context))
	m.gitops.PushDir(t, dir)
	for _, c := range []struct {
		env *e2eutil.Env
		dir string
	}{{m.st, "staging"}, {m.pr, "production"}} {
		// What `flux bootstrap` makes in each cluster: the GitRepository of the GitOps repo itself.
		c.env.ApplyYAML(t, m.ns, `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
spec:
  interval: 1m
  url: `+m.gitops.URL+`
  ref:
    branch: main
`)
		c.env.Apply(t, "", filepath.Join(dir, "clusters", c.dir))
	}
	waitChart(t, m.st, m.staging, "0.1.3")
	waitChart(t, m.pr, m.production, "0.1.2")
	return m
}

type fleetJSON struct {
	SchemaVersion int `json:"schemaVersion"`
	Environments  []struct {
		Name      string `json:"name"`
		State     string `json:"state"`
		Summary   string `json:"summary"`
		Promotion *struct {
			From, Command string
		} `json:"promotion"`
	} `json:"environments"`
}

func (m *fleet) trace(t *testing.T, ctx context.Context, rev, gitopsDir string, args ...string) (e2eutil.Result, fleetJSON) {
	t.Helper()
	r := m.st.Run(t, ctx, m.app.Clone, append([]string{"trace", rev, "--all-envs", "--gitops-repo", gitopsDir}, args...)...)
	var rep fleetJSON
	for i, a := range args {
		if a == "-o" && i+1 < len(args) && args[i+1] == "json" {
			if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
				t.Fatalf("trace -o json: %v\n%s", err, r.Stdout)
			}
		}
	}
	return r, rep
}

func states(rep fleetJSON) string {
	var out []string
	for _, e := range rep.Environments {
		out = append(out, e.Name+"="+e.State)
	}
	return strings.Join(out, " ")
}

// TestFleetTraceAndPromote: a chart release reaches staging's cluster; trace across both clusters says
// production waits for promotion (exit 0) and gives the promote command; promote --require-deployed
// reads staging's cluster through its context and ships it; trace then says deployed in both.
func TestFleetTraceAndPromote(t *testing.T) {
	e := e2eutil.Setup(t)
	m := deployFleet(t, e)
	ctx := context.Background()

	releaseTag(t, m.app, "0.1.4", nil)
	rev := strings.TrimSpace(gitCmd(t, m.app.Clone, "rev-parse", "HEAD"))
	m.gitops.Commit(t, "staging: sample-app 0.1.4", func(dir string) {
		e2eutil.ReplaceInFile(t, dir, "apps/staging/sample-app-source.yaml", "tag: v0.1.3", "tag: v0.1.4")
	})
	m.st.RequestReconcile(t, e2eutil.GitRepositories, m.ns, "flux-system")
	m.st.RequestReconcile(t, e2eutil.Kustomizations, m.ns, "apps-staging")
	waitChart(t, m.st, m.staging, "0.1.4")

	checkout := m.gitops.CloneTo(t)
	r, _ := m.trace(t, ctx, rev, checkout, "--wait", "--timeout", "3m")
	if r.ExitCode != 0 {
		t.Fatalf("trace --all-envs --wait: exit %d, want 0 (waiting for promotion is not a failure)\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	for _, s := range []string{"=== staging (context " + m.st.Context, "=== production (context " + m.pr.Context,
		"  staging     deployed at", "  production  waiting for promotion from staging (pinned to tag v0.1.2): kubectl gitops promote sample-app --from staging --to production --require-deployed"} {
		if !strings.Contains(r.Stdout, s) {
			t.Errorf("trace output lacks %q:\n%s", s, r.Stdout)
		}
	}
	_, rep := m.trace(t, ctx, rev, checkout, "-o", "json")
	if rep.SchemaVersion != 2 || states(rep) != "staging=deployed production=waitingForPromotion" || rep.Environments[1].Promotion == nil {
		t.Fatalf("trace -o json: schemaVersion %d, %s", rep.SchemaVersion, states(rep))
	}

	p := m.st.Run(t, ctx, checkout, "promote", "sample-app", "--from", "staging", "--to", "production", "--require-deployed", "--push")
	if p.ExitCode != 0 || !strings.Contains(p.Stdout, "staging runs sample-app at GitRepository tag v0.1.4, Ready.") {
		t.Fatalf("promote --require-deployed: exit %d\n%s%s", p.ExitCode, p.Stdout, p.Stderr)
	}
	m.pr.RequestReconcile(t, e2eutil.GitRepositories, m.ns, "flux-system")
	m.pr.RequestReconcile(t, e2eutil.Kustomizations, m.ns, "apps-production")
	m.pr.WaitFor(t, e2eutil.GitRepositories, m.production, "sample-app-chart", "fetched v0.1.4", 2*time.Minute, func(u *unstructured.Unstructured) bool {
		return strings.HasPrefix(e2eutil.Str(u, "status", "artifact", "revision"), "v0.1.4@")
	})
	r, _ = m.trace(t, ctx, rev, checkout, "--wait", "--timeout", "3m")
	if r.ExitCode != 0 {
		t.Fatalf("trace after the promotion: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	_, rep = m.trace(t, ctx, rev, checkout, "-o", "json")
	if states(rep) != "staging=deployed production=deployed" {
		t.Fatalf("after the promotion: %s", states(rep))
	}
}

// TestFleetUnreachableAndRBAC: of three clusters, one is not reachable (nothing listens at its address)
// and one refuses by RBAC (a ServiceAccount without any role); both are shown as such and the reachable
// one is traced all the same. Exit 1: the fleet could not be fully traced.
func TestFleetUnreachableAndRBAC(t *testing.T) {
	e := e2eutil.Setup(t)
	m := deployFleet(t, e)
	ctx := context.Background()

	// A ServiceAccount of production with no role bound: authenticated, allowed nothing.
	m.pr.Kubectl(t, "", "create", "serviceaccount", "viewer", "-n", m.production)
	token := strings.TrimSpace(m.pr.Kubectl(t, "", "create", "token", "viewer", "-n", m.production, "--duration=1h"))
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	data, err := os.ReadFile(m.f.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kubeconfig, data, 0o600); err != nil {
		t.Fatal(err)
	}
	kc := func(args ...string) { m.st.Kubectl(t, "", append(args, "--kubeconfig", kubeconfig)...) }
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := ln.Addr().String()
	ln.Close() // nothing listens there any more
	kc("config", "set-cluster", "gone", "--server=https://"+gone, "--insecure-skip-tls-verify=true")
	kc("config", "set-credentials", "viewer", "--token="+token)
	kc("config", "set-context", "gone", "--cluster=gone", "--user=admin@"+m.st.Context)
	kc("config", "set-context", "production-viewer", "--cluster="+m.pr.Context, "--user=viewer")

	r := m.st.Run(t, ctx, m.app.Clone, "trace", "v0.1.3", "--kubeconfig", kubeconfig,
		"--context", m.st.Context+",gone,production-viewer", "-n", m.staging)
	if r.ExitCode != 1 {
		t.Fatalf("trace across a reachable, an unreachable and a refusing cluster: exit %d, want 1\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	for _, s := range []string{
		"=== " + m.st.Context + " (context " + m.st.Context + ", namespace " + m.staging + ")",
		"Result: deployed everywhere",
		"connection refused",
		`User "system:serviceaccount:` + m.production + `:viewer" cannot list resource "gitrepositories"`,
	} {
		if !strings.Contains(r.Stdout, s) {
			t.Errorf("trace output lacks %q:\n%s", s, r.Stdout)
		}
	}
	summary := map[string]string{}
	for _, line := range strings.Split(r.Stdout, "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(line, "  ") {
			summary[f[0]] = strings.Join(f[1:], " ")
		}
	}
	for name, want := range map[string]string{
		m.st.Context:        "deployed at ",
		"gone":              "not reachable: reading Flux objects",
		"production-viewer": "refused by RBAC: cannot read GitRepositories",
	} {
		if !strings.HasPrefix(summary[name], want) {
			t.Errorf("summary of %s = %q, want it to start with %q\n%s", name, summary[name], want, r.Stdout)
		}
	}
}

// TestFleetPromoteHonoursAuthFlags: --require-deployed reads staging's cluster through the context in
// .gitops.yaml with the client certificate, key and user given on the command line (the context's own
// user has no credentials). Without the certificate flags the request is anonymous, RBAC refuses it and
// nothing is promoted.
func TestFleetPromoteHonoursAuthFlags(t *testing.T) {
	e := e2eutil.Setup(t)
	m := deployFleet(t, e)
	ctx := context.Background()

	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	data, err := os.ReadFile(m.f.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kubeconfig, data, 0o600); err != nil {
		t.Fatal(err)
	}
	kc := func(args ...string) { m.st.Kubectl(t, "", append(args, "--kubeconfig", kubeconfig)...) }
	kc("config", "set-credentials", "nobody")
	kc("config", "set-context", "staging-cert", "--cluster="+m.st.Context, "--user=nobody")
	checkout := m.gitops.CloneTo(t)
	e2eutil.ReplaceInFile(t, checkout, ".gitops.yaml", "context: "+m.st.Context+"\n", "context: staging-cert\n")

	promote := func(extra ...string) e2eutil.Result {
		return m.st.Run(t, ctx, checkout, append([]string{"promote", "sample-app", "--from", "staging", "--to", "production",
			"--require-deployed", "--dry-run", "--kubeconfig", kubeconfig}, extra...)...)
	}
	r := promote("--user", "nobody")
	if r.ExitCode != 4 || !strings.Contains(r.Stderr, `User "system:anonymous" cannot get resource "helmreleases"`) {
		t.Fatalf("without credentials: exit %d, want 4 and RBAC refusing the anonymous user\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	r = promote("--user", "nobody", "--client-certificate", m.f.PKI(m.st.Context, "admin.crt"), "--client-key", m.f.PKI(m.st.Context, "admin.key"))
	if r.ExitCode != 0 || !strings.Contains(r.Stdout, "staging runs sample-app at GitRepository tag v0.1.3, Ready.") {
		t.Fatalf("with --client-certificate/--client-key: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
}
