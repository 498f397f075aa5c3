package manifest

import "github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"

// ExitCode is 3, not found; but when files that mention the name do not
// parse, the answer is unknown, not "not found": 1.
func (e *NotFoundError) ExitCode() int {
	if len(e.Malformed) > 0 {
		return int(exitcode.Error)
	}
	return int(exitcode.NotFound)
}

// ExitCode is 6: the user picks the document.
func (e *AmbiguousError) ExitCode() int { return int(exitcode.Conflict) }
