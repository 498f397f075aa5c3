package trace

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kube/kubefake"
)

// fleetGitopsRepo is a GitOps checkout whose .gitops.yaml puts staging and production in their own clusters.
func fleetGitopsRepo(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "fleet")
	for _, d := range []string{"apps/staging", "apps/production"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, d, "kustomization.yaml"), []byte("resources: []\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := `environments:
  - name: staging
    paths: [apps/staging]
    context: staging
    namespace: sample-app
  - name: production
    paths: [apps/production]
    context: production
    namespace: sample-app
`
	if err := os.WriteFile(filepath.Join(dir, ".gitops.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, dir, nil, "init", "-q", "-b", "main")
	git(t, dir, nil, "add", "-A")
	git(t, dir, nil, "commit", "-q", "-m", "environments")
	return dir
}

// runFleet runs trace with one client per context: a fake cluster, or a real client of an address
// nothing listens on.
func runFleet(t *testing.T, clusters map[string]dynamic.Interface, kctx string, args ...string) (string, error) {
	t.Helper()
	return runFleetAs(t, "", clusters, kctx, args...)
}

// runFleetAs is runFleet under a root named tool, as main names it ("flux gitops"); "" runs trace alone.
func runFleetAs(t *testing.T, tool string, clusters map[string]dynamic.Interface, kctx string, args ...string) (string, error) {
	t.Helper()
	flags := genericclioptions.NewConfigFlags(false)
	ns := "sample-app" // -n: the contexts are not in any kubeconfig
	flags.Namespace = &ns
	if kctx != "" {
		flags.Context = &kctx
	}
	// kubectl flags of its own: --context a,b is read from them.
	f := &kubefake.Factory{Clk: clocktesting.NewFakeClock(testNow), NS: "sample-app", ConfigFlags: flags}
	var out, errOut strings.Builder
	cmd := newCmd(f, genericiooptions.IOStreams{Out: &out, ErrOut: &errOut}, func(o *hooks) {
		o.fleetDyn = func(c string) dynamic.Interface {
			if d, ok := clusters[c]; ok {
				return d
			}
			t.Fatalf("no cluster for context %q", c)
			return nil
		}
	})
	if tool != "" {
		root := &cobra.Command{Use: "gitops", Annotations: map[string]string{cobra.CommandDisplayNameAnnotation: tool}}
		root.AddCommand(cmd)
		cmd, args = root, append([]string{"trace"}, args...)
	}
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

// pinnedProduction is production running P from a GitRepository pinned to tag v0.1.2.
func pinnedProduction(t *testing.T, r *appRepo) *cluster {
	return newCluster(t, fixtureObjects(t, "revision-deployed.yaml", r, "{{C", "{{P", "ref: {branch: main}", "ref: {tag: v0.1.2}", "main@sha1:", "v0.1.2@sha1:"))
}

// A chart commit staging runs and production, pinned to an older tag, does not: production waits for
// promotion, with the promote command, and that is not a failure (exit 0).
func TestFleetWaitingForPromotion(t *testing.T) {
	r := newAppRepo(t)
	gitops := fleetGitopsRepo(t)
	for _, format := range []string{"table", "json"} {
		staging, production := newCluster(t, fixtureObjects(t, "revision-deployed.yaml", r)), pinnedProduction(t, r)
		out, err := runFleet(t, map[string]dynamic.Interface{"staging": staging, "production": production}, "",
			r.C[:7], "--repo", r.dir, "--all-envs", "--gitops-repo", gitops, "-o", format)
		if code := exitcode.From(err); code != exitcode.OK {
			t.Fatalf("exit %d (%v), want 0\n%s", code, err, out)
		}
		golden(t, "fleet-waiting-for-promotion."+format, strings.ReplaceAll(out, gitops, "GITOPS"))
		if format == "json" {
			var rep FleetReport
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatal(err)
			}
			if rep.SchemaVersion != 2 || len(rep.Environments) != 2 || rep.Deployed {
				t.Fatalf("report: %+v", rep)
			}
			st, pr := rep.Environments[0], rep.Environments[1]
			if st.Name != "staging" || st.State != EnvDeployed || st.DeployedAt == nil || st.Report == nil || !st.Report.Deployed {
				t.Errorf("staging: %+v", st)
			}
			if pr.Name != "production" || pr.State != EnvWaitingForPromotion || pr.Promotion == nil ||
				pr.Promotion.From != "staging" || pr.Promotion.PinnedTo[0] != "tag v0.1.2" ||
				!strings.HasPrefix(pr.Promotion.Command, "kubectl gitops promote sample-app --from staging --to production --require-deployed") {
				t.Errorf("production: %+v %+v", pr, pr.Promotion)
			}
		}
	}
	// Run as the Flux plugin, the hints name the command the user has: flux gitops promote.
	out, err := runFleetAs(t, "flux gitops", map[string]dynamic.Interface{"staging": newCluster(t, fixtureObjects(t, "revision-deployed.yaml", r)), "production": pinnedProduction(t, r)}, "",
		r.C[:7], "--repo", r.dir, "--all-envs", "--gitops-repo", gitops)
	if err != nil || !strings.Contains(out, "): flux gitops promote sample-app --from staging --to production") ||
		!strings.Contains(out, "(flux gitops promote moves it from the environment before)") || strings.Contains(out, "kubectl gitops") {
		t.Fatalf("as flux gitops: %v\n%s", err, out)
	}
	// Production alone has no environment before it to promote from: it is just not deployed (exit 5).
	out, err = runFleet(t, map[string]dynamic.Interface{"production": pinnedProduction(t, r)}, "",
		r.C, "--repo", r.dir, "--env", "production", "--gitops-repo", gitops)
	if code := exitcode.From(err); code != exitcode.Pending || !strings.Contains(out, "production  not deployed yet") {
		t.Fatalf("exit %d (%v), want 5\n%s", code, err, out)
	}
}

// --context a,b,c: a cluster nothing listens on and one that refuses by RBAC are shown as such; the
// reachable one is still traced, and the exit code says the fleet could not be fully traced.
func TestFleetUnreachableAndForbidden(t *testing.T) {
	r := newAppRepo(t)
	dark, err := dynamic.NewForConfig(&rest.Config{Host: "https://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	locked := newCluster(t, fixtureObjects(t, "revision-deployed.yaml", r))
	locked.PrependReactor("list", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		gr := schema.GroupResource{Group: a.GetResource().Group, Resource: a.GetResource().Resource}
		return true, nil, apierrors.NewForbidden(gr, "", errors.New(`User "viewer" cannot list resource "`+gr.Resource+`"`))
	})
	staging := newCluster(t, fixtureObjects(t, "revision-deployed.yaml", r))
	out, err := runFleet(t, map[string]dynamic.Interface{"staging": staging, "dark": dark, "locked": locked}, "staging,dark,locked",
		r.C, "--repo", r.dir)
	if code := exitcode.From(err); code != exitcode.Error {
		t.Fatalf("exit %d (%v), want 1\n%s", code, err, out)
	}
	for _, s := range []string{
		"=== staging (context staging, namespace sample-app)", "Result: deployed everywhere",
		"=== dark (context dark, namespace sample-app)", "dark     not reachable: reading Flux objects", "connection refused",
		"locked   refused by RBAC: cannot read GitRepositories", `User "viewer" cannot list resource "gitrepositories"`,
		"staging  deployed at 18:00:55 (sample-app/sample-app)",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
	if !strings.Contains(err.Error(), "dark: not reachable") || !strings.Contains(err.Error(), "locked: refused by RBAC") {
		t.Errorf("error = %v", err)
	}
}

func TestFleetUsage(t *testing.T) {
	r := newAppRepo(t)
	gitops := fleetGitopsRepo(t)
	for _, tt := range []struct {
		args []string
		kctx string
		want string
	}{
		{[]string{"--env", "staging", "--all-envs"}, "", "give one of them"},
		{[]string{"--env", "staging"}, "a,b", "--context a,b names clusters directly"},
		{[]string{"--gitops-repo", gitops}, "", "--gitops-repo is where"},
		{[]string{"--env", "staging,staging"}, "", "given twice"},
	} {
		_, err := runFleet(t, nil, tt.kctx, append([]string{"--repo", r.dir}, tt.args...)...)
		if code := exitcode.From(err); code != exitcode.Usage || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: exit %d (%v), want usage error containing %q", tt.args, code, err, tt.want)
		}
	}
	// An unknown environment is not found (3), as for promote --to.
	_, err := runFleet(t, nil, "", "--repo", r.dir, "--env", "qa", "--gitops-repo", gitops)
	if code := exitcode.From(err); code != exitcode.NotFound || !strings.Contains(err.Error(), `unknown environment "qa": known environments are staging, production`) {
		t.Errorf("--env qa: exit %d (%v), want 3", code, err)
	}
}

// --wait across clusters: staging has not fetched the commit yet, production is pinned behind it. Once
// staging's controllers move (a watch event in that cluster), staging is deployed, production waits for
// promotion, and the wait ends with exit 0, printing the result once.
func TestFleetWaitAcrossClusters(t *testing.T) {
	r := newAppRepo(t)
	gitops := fleetGitopsRepo(t)
	staging := newCluster(t, fixtureObjects(t, "revision-deployed.yaml", r, "{{C", "{{P"))
	production := pinnedProduction(t, r)
	done := make(chan struct {
		out string
		err error
	}, 1)
	go func() {
		out, err := runFleet(t, map[string]dynamic.Interface{"staging": staging, "production": production}, "",
			r.C, "--repo", r.dir, "--all-envs", "--gitops-repo", gitops, "--wait")
		done <- struct {
			out string
			err error
		}{out, err}
	}()
	awaitWatches(t, staging, watchedTargets)
	moveTo(t, staging, fixtureObjects(t, "revision-deployed.yaml", r))
	res := <-done
	if code := exitcode.From(res.err); code != exitcode.OK {
		t.Fatalf("exit %d (%v), want 0\n%s", code, res.err, res.out)
	}
	if strings.Count(res.out, "across 2 environments") != 1 || !strings.Contains(res.out, "staging     deployed at") ||
		!strings.Contains(res.out, "production  waiting for promotion from staging") {
		t.Errorf("--wait prints the settled result once:\n%s", res.out)
	}
}
