package initgc

import (
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

// The collector is off from this package's init until Restore, which puts
// back the process's own GOGC (run in a child, so each setting is the one
// the process started with).
func TestRestorePutsBackGOGC(t *testing.T) {
	if v := os.Getenv("INITGC_CHILD"); v != "" {
		before := debug.SetGCPercent(-1)
		debug.SetGCPercent(before)
		Restore()
		after := debug.SetGCPercent(-1)
		debug.SetGCPercent(after)
		// Prints: the setting before Restore, and after it.
		os.Stdout.WriteString(strconv.Itoa(before) + " " + strconv.Itoa(after) + "\n")
		return
	}
	for gogc, want := range map[string]string{"": "-1 100", "50": "-1 50", "off": "-1 -1"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRestorePutsBackGOGC$")
		cmd.Env = append(os.Environ(), "INITGC_CHILD=1", "GOGC="+gogc)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("GOGC=%q: %v", gogc, err)
		}
		got := strings.Fields(string(out))
		if len(got) < 2 || strings.Join(got[:2], " ") != want {
			t.Errorf("GOGC=%q: GC percent before and after Restore = %q, want %q", gogc, out, want)
		}
	}
}
