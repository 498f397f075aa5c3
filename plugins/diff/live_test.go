package diff_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
)

// --live picks its cluster(s) before anything is rendered: a repository of
// two clusters needs --env or --all-envs; an environment of .gitops.yaml
// whose cluster cannot be reached makes its releases unchecked (exit 4),
// never "unchanged"; --all and --env only go with --live.
func TestDiffLiveClusters(t *testing.T) {
	work, env := multiEnv(t)
	bin := binarytest.Build(t)
	edit(t, work, "apps/base/sample-app/helmrelease.yaml", `team: "web"`, `team: "platform"`)
	binarytest.Git(t, env, work, "commit", "-qam", "platform")
	// No cluster to talk to: a kubeconfig whose server refuses connections.
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	writeFile(t, kc, "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:"+closedPort(t)+"\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\nusers:\n- name: u\n  user:\n    token: t\ncurrent-context: c\n")
	run := func(args ...string) binarytest.Result {
		t.Helper()
		return binarytest.Run(t, env, work, bin, append([]string{"diff", "--kubeconfig", kc}, args...)...)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--live"}, "--live compares with one cluster, and the repository applies 2 (production, staging): pick them with --env NAME or --all-envs"},
		{[]string{"--live", "--env", "qa"}, `unknown environment "qa"`},
		{[]string{"--all"}, "--all only apply with --live"},
		{[]string{"--env", "staging"}, "--env only apply with --live"},
		{[]string{"--live", "--env", "staging", "--all-envs"}, "--env and --all-envs: give one of them"},
	} {
		r := run(c.args...)
		if r.ExitCode != 2 || !strings.Contains(r.Stderr, c.want) {
			t.Errorf("diff %s: exit %d, want 2 and %q\n%s", strings.Join(c.args, " "), r.ExitCode, c.want, r.Stderr)
		}
	}

	r := run("--live", "--env", "staging", "-o", "json")
	var res struct {
		Unchecked int
		Releases  []struct{ Release, Status, Reason string }
	}
	if err := json.Unmarshal([]byte(r.Stdout), &res); err != nil {
		t.Fatalf("json: %v\n%s%s", err, r.Stdout, r.Stderr)
	}
	if r.ExitCode != 4 || len(res.Releases) != 1 || res.Releases[0].Release != "staging/sample-app-staging/sample-app" ||
		res.Releases[0].Status != "unchecked" || !strings.Contains(res.Releases[0].Reason, "not compared with cluster staging") {
		t.Errorf("--env staging, cluster unreachable: exit %d, %+v", r.ExitCode, res)
	}
}
