package yamledit

import "github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"

// ExitCode is 6: the file must be changed by hand (or the path chosen
// differently) before the edit can be made.
func (e *PathError) ExitCode() int { return int(exitcode.Conflict) }
