//go:build !unix

package promote

import "time"

func processCPU() (time.Duration, bool) { return 0, false }
