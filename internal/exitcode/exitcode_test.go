package exitcode

import (
	"errors"
	"fmt"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/envs"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/helmvalues"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/yamledit"
)

var errBoom = errors.New("boom")

func TestFrom(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Code
	}{
		{"nil", nil, OK},
		{"plain", errBoom, Error},
		{"coded", Wrap(NotFound, errBoom), NotFound},
		{"wrapped twice", fmt.Errorf("ctx: %w", Wrap(Conflict, errBoom)), Conflict},
		{"errorf", Errorf(Pending, "waiting %d", 3), Pending},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := From(tt.err); got != tt.want {
				t.Fatalf("From(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
	if Wrap(Failed, nil) != nil {
		t.Fatal("Wrap(nil) must stay nil")
	}
	if !errors.Is(Wrap(Failed, errBoom), errBoom) {
		t.Fatal("Wrap must keep the chain for errors.Is")
	}
}

// The shared core's errors get their codes here, once, for every command.
func TestFromClassifiesCoreErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Code
	}{
		{"not a repo", fmt.Errorf("/tmp: %w", gitrepo.ErrNotRepo), Usage},
		{"bad branch", fmt.Errorf("--branch x: %w", gitrepo.ErrBadBranchName), Usage},
		{"no remote", fmt.Errorf("%w: origin", gitrepo.ErrNoRemote), Usage},
		{"branch exists", fmt.Errorf("%w: x", gitrepo.ErrBranchExists), Conflict},
		{"detached", gitrepo.ErrDetached, Conflict},
		{"unpushed", gitrepo.ErrUnpushed, Conflict},
		{"dirty", gitrepo.ErrDirty, Conflict},
		{"read-only", gitrepo.ErrReadOnly, Conflict},
		{"push rejected", fmt.Errorf("x: %w", gitrepo.ErrPushRejected), Conflict},
		{"bad .gitops.yaml", &envs.ConfigError{Err: errors.New("bad")}, Usage},
		{"unknown environment", fmt.Errorf("%w %q", envs.ErrUnknownEnvironment, "qa"), NotFound},
		{"manifest not found", fmt.Errorf("x: %w", &manifest.NotFoundError{}), NotFound},
		{"not found but malformed files", &manifest.NotFoundError{Malformed: []*manifest.SyntaxError{{Path: "a.yaml", Err: errBoom}}}, Error},
		{"ambiguous", &manifest.AmbiguousError{}, Conflict},
		{"bad --set", &helmvalues.UsageError{Flag: "--set", Arg: "a", Err: errBoom}, Usage},
		{"type conflict", fmt.Errorf("x: %w", &helmvalues.ConflictError{}), Conflict},
		{"path error", &yamledit.PathError{Reason: "alias"}, Conflict},
		{"explicit code wins", Wrap(Failed, gitrepo.ErrDirty), Failed},
		{"unclassified", errBoom, Error},
	}
	for _, tt := range tests {
		if got := From(tt.err); got != tt.want {
			t.Errorf("%s: From(%v) = %d, want %d", tt.name, tt.err, got, tt.want)
		}
	}
}
