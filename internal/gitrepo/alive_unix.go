//go:build unix

package gitrepo

import (
	"errors"
	"syscall"
)

// alive reports whether a process with that pid runs (or cannot be told
// apart from one that does: a pid of another user's process).
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
