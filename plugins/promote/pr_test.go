package promote

import (
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/envs"
)

// The pull request says how to follow the promotion once merged, with the
// command the user has: flux gitops as the Flux plugin.
func TestRequestBodyFollowNamesTheTool(t *testing.T) {
	p := &plan{
		Release: "sample-app", Namespace: "apps", Version: "v0.1.3",
		From: &envs.Environment{Name: "staging"}, To: &envs.Environment{Name: "production", Context: "prod"},
		Target: &chartSource{Kind: "GitRepository", Name: "chart", RefType: "tag"},
	}
	for _, tool := range []string{"kubectl gitops", "flux gitops"} {
		r := &runner{config: config{tool: tool}}
		body := r.requestBody(p, "", nil)
		want := "git pull && " + tool + " trace --helmrelease apps/sample-app --watch --context prod"
		if !strings.Contains(body, want) {
			t.Errorf("as %s: the body does not say %q:\n%s", tool, want, body)
		}
	}
}
