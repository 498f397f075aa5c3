package exitcode_test

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/envs"
	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxmodel"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/helmvalues"
	"github.com/kubectl-gitops/kubectl-gitops/internal/interrupt"
	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/readlimit"
	"github.com/kubectl-gitops/kubectl-gitops/internal/sops"
	"github.com/kubectl-gitops/kubectl-gitops/internal/yamledit"
)

var errBoom = errors.New("boom")

// The shared core's errors carry their codes, the same for every command.
func TestFromClassifiesCoreErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want exitcode.Code
	}{
		{"not a repo", fmt.Errorf("/tmp: %w", gitrepo.ErrNotRepo), exitcode.Usage},
		{"bad branch", fmt.Errorf("--branch x: %w", gitrepo.ErrBadBranchName), exitcode.Usage},
		{"no remote", fmt.Errorf("%w: origin", gitrepo.ErrNoRemote), exitcode.Usage},
		{"branch exists", fmt.Errorf("%w: x", gitrepo.ErrBranchExists), exitcode.Conflict},
		{"detached", gitrepo.ErrDetached, exitcode.Conflict},
		{"unpushed", gitrepo.ErrUnpushed, exitcode.Conflict},
		{"dirty", gitrepo.ErrDirty, exitcode.Conflict},
		{"read-only", gitrepo.ErrReadOnly, exitcode.Conflict},
		{"push rejected", fmt.Errorf("x: %w", gitrepo.ErrPushRejected), exitcode.Conflict},
		{"bad .gitops.yaml", &envs.ConfigError{Err: errors.New("bad")}, exitcode.Usage},
		{"unknown environment", fmt.Errorf("%w %q", envs.ErrUnknownEnvironment, "qa"), exitcode.NotFound},
		{"manifest not found", fmt.Errorf("x: %w", &fluxmodel.NotFoundError{}), exitcode.NotFound},
		{"not found but malformed files", &fluxmodel.NotFoundError{Malformed: []*manifest.SyntaxError{{Path: "a.yaml", Err: errBoom}}}, exitcode.Error},
		{"ambiguous", &fluxmodel.AmbiguousError{}, exitcode.Conflict},
		{"bad --set", &helmvalues.UsageError{Flag: "--set", Arg: "a", Err: errBoom}, exitcode.Usage},
		{"type conflict", fmt.Errorf("x: %w", &helmvalues.ConflictError{}), exitcode.Conflict},
		{"path error", &yamledit.PathError{Reason: "alias"}, exitcode.Conflict},
		{"unknown revision", fmt.Errorf("x: %w", gitrepo.ErrUnknownRevision), exitcode.NotFound},
		{"too large", &readlimit.TooLargeError{Name: "-f x"}, exitcode.Usage},
		{"not regular", &readlimit.NotRegularError{Name: "-f x"}, exitcode.Usage},
		{"encrypted sentinel", fmt.Errorf("x: %w", sops.ErrEncrypted), exitcode.Conflict},
		{"encrypted file", &sops.EncryptedError{File: "x.yaml"}, exitcode.Conflict},
		{"signal", fmt.Errorf("x: %w", &interrupt.Signal{Sig: os.Interrupt}), exitcode.Interrupted},
		{"explicit code wins", exitcode.Wrap(exitcode.Failed, gitrepo.ErrDirty), exitcode.Failed},
		{"unclassified", errBoom, exitcode.Error},
	}
	for _, tt := range tests {
		if got := exitcode.From(tt.err); got != tt.want {
			t.Errorf("%s: From(%v) = %d, want %d", tt.name, tt.err, got, tt.want)
		}
	}
}
