//go:build unix

package promote

import (
	"syscall"
	"time"
)

// processCPU is the user+sys CPU time this process has used: on a shared
// machine it is steadier than wall time, which counts waiting for a core.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
