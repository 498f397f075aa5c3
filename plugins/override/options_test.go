package override

import (
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/forge"
	"github.com/kubectl-gitops/kubectl-gitops/internal/helmvalues"
	"github.com/kubectl-gitops/kubectl-gitops/internal/publish"
	"github.com/kubectl-gitops/kubectl-gitops/internal/releasecheck"
)

func TestValidate(t *testing.T) {
	set := helmvalues.Input{Set: []string{"a=1"}}
	for _, c := range []struct {
		o    config
		want string
	}{
		{config{Name: "x", input: set}, ""},
		{config{Name: "x", input: set, Options: Options{Publish: publish.Settings{Push: true, Branch: "b"}}}, ""},
		{config{Name: "x", input: set, Options: Options{DryRun: true, Publish: publish.Settings{Push: true}}}, ""},
		{config{Name: "x", input: set, Options: Options{Output: "yaml"}}, ""},
		{config{Name: "", input: set}, "name is empty"},
		{config{Name: "x"}, "nothing to override"},
		{config{Name: "x", input: set, Options: Options{Publish: publish.Settings{NoCommit: true, Push: true}}}, "--no-commit cannot be combined"},
		{config{Name: "x", input: set, Options: Options{Publish: publish.Settings{NoCommit: true, Branch: "b"}}}, "--no-commit cannot be combined"},
		{config{Name: "x", input: set, Options: Options{Output: "wide"}}, "unknown output format"},
		{config{Name: "x", input: set, Options: Options{Publish: publish.Settings{Request: forge.Flags{PR: true, Labels: []string{"a"}}}}}, ""},
		{config{Name: "x", input: set, Options: Options{Publish: publish.Settings{Push: true, Request: forge.Flags{PR: true}}}}, "--pr pushes a branch for review"},
		{config{Name: "x", input: set, Options: Options{Publish: publish.Settings{Request: forge.Flags{Reviewers: []string{"bob"}}}}}, "--pr-reviewer only apply with --pr"},
		{config{Name: "x", input: set, Options: Options{Publish: publish.Settings{Request: forge.Flags{PR: true, Forge: "svn"}}}}, "unknown forge"},
		{config{Name: "x", input: set, Options: Options{Env: "prod", Path: "apps"}}, "pick one"},
		{config{Name: "x", input: set, Options: Options{InPatch: true}}, "--in-patch needs --env"},
		{config{Name: "x", input: set, Options: Options{Output: "json", Check: releasecheck.Flags{Validate: true, Diff: releasecheck.DiffValues}}}, "--diff prints a diff"},
	} {
		err := c.o.Validate()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: Validate() = %v, want %q", c.o, err, c.want)
		}
	}
}
