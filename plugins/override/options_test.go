package override

import (
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/forge"
	"github.com/kubectl-gitops/kubectl-gitops/internal/helmvalues"
)

func TestValidate(t *testing.T) {
	set := helmvalues.Input{Set: []string{"a=1"}}
	for _, c := range []struct {
		o    Options
		want string
	}{
		{Options{Name: "x", input: set}, ""},
		{Options{Name: "x", input: set, Push: true, Branch: "b"}, ""},
		{Options{Name: "x", input: set, DryRun: true, Push: true}, ""},
		{Options{Name: "x", input: set, Output: "yaml"}, ""},
		{Options{Name: "", input: set}, "name is empty"},
		{Options{Name: "x"}, "nothing to override"},
		{Options{Name: "x", input: set, NoCommit: true, Push: true}, "--no-commit cannot be combined"},
		{Options{Name: "x", input: set, NoCommit: true, Branch: "b"}, "--no-commit cannot be combined"},
		{Options{Name: "x", input: set, Output: "wide"}, "unknown output format"},
		{Options{Name: "x", input: set, Request: forge.Flags{PR: true, Labels: []string{"a"}}}, ""},
		{Options{Name: "x", input: set, Push: true, Request: forge.Flags{PR: true}}, "--pr pushes a branch for review"},
		{Options{Name: "x", input: set, Request: forge.Flags{Reviewers: []string{"bob"}}}, "--pr-reviewer only apply with --pr"},
		{Options{Name: "x", input: set, Request: forge.Flags{PR: true, Forge: "svn"}}, "unknown forge"},
	} {
		err := c.o.Validate()
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: Validate() = %v, want %q", c.o, err, c.want)
		}
	}
}
