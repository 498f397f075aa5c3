//go:build unix

package gitrepo

import (
	"os/exec"
	"syscall"
	"time"
)

// Interruptible makes cmd (a git, before Start) stop with its whole
// process group when its context is cancelled. git runs in a process group
// of its own, and cancelling sends SIGINT to that group, as Ctrl-C in a
// terminal does: git removes its lock files on the way out, and its helpers
// (git-remote-http during a fetch or push, ssh) stop with it instead of
// holding the output pipes open after git has gone. WaitDelay stays as a
// last resort for a helper that ignores SIGINT.
func Interruptible(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.Cancel = func() error {
		// The group's id is the leader's pid (Setpgid with Pgid 0).
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	}
	cmd.WaitDelay = 300 * time.Millisecond
}
