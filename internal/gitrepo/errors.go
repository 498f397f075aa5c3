package gitrepo

import "github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"

// ErrNotRepo is returned by Open when dir is not inside a Git work tree:
// a usage error (exit 2) whatever the command, since --repo is what to fix.
var ErrNotRepo = exitcode.New(exitcode.Usage, "not a git repository")
