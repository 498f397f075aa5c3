package sops

import "github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"

// ExitCode is 6: an encrypted file is changed with sops, not as text.
func (e *EncryptedError) ExitCode() int { return int(exitcode.Conflict) }
