//go:build !unix

package gitrepo

import (
	"os"
	"os/exec"
	"time"
)

// Interruptible makes cmd (a git, before Start) stop when its context is
// cancelled: here only git itself is interrupted, and Wait stops waiting
// for helpers that keep its output pipes soon after.
func Interruptible(cmd *exec.Cmd) {
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 300 * time.Millisecond
}
