package yamledit

import (
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// The pieces reduce checks are parsed into node trees that are garbage at
// once; with the collector's default pacing (collect when the heap has
// doubled since the last collection) that garbage piles up to the size of
// everything else the process holds, which for a large file is the file
// itself, several times over. While a reduction runs (and while its
// result is expanded), a soft memory limit of what the process needs when
// it starts plus garbageBudget keeps the pile bounded instead; the
// collector runs more often, on a heap that is mostly the file's bytes,
// which it does not scan.
//
// The allowance grows with the text being reduced: with a fixed one the
// number of collections grows with the size and each marks a heap that
// grows with it too, so a 64 MB map took 7.9x the CPU of a 16 MB one
// (BenchmarkOverrideSize). The size itself, at least garbageBudget, keeps
// the collections per byte constant and the pile below the file's size.
const garbageBudget = 16 << 20

var bound struct {
	sync.Mutex
	depth int
	old   int64
}

// boundGarbage sets the limit for work on size bytes of text (never
// raising one already set) and returns what lifts it again; reductions
// running at once share one limit.
func boundGarbage(size int) (release func()) {
	bound.Lock()
	defer bound.Unlock()
	if bound.depth == 0 {
		// What the process needs: all its memory but the heap, and of
		// the heap what was live at the last collection. Free pages and
		// garbage above that are what the limit makes the runtime give
		// back.
		s := []metrics.Sample{
			{Name: "/memory/classes/total:bytes"},
			{Name: "/memory/classes/heap/released:bytes"},
			{Name: "/memory/classes/heap/free:bytes"},
			{Name: "/memory/classes/heap/objects:bytes"},
			{Name: "/gc/heap/live:bytes"},
		}
		metrics.Read(s)
		v := func(i int) int64 { return int64(s[i].Value.Uint64()) }
		used := v(0) - v(1) - v(2) - v(3) + v(4)
		bound.old = debug.SetMemoryLimit(-1)
		debug.SetMemoryLimit(min(bound.old, used+max(garbageBudget, int64(size))))
	}
	bound.depth++
	return func() {
		bound.Lock()
		defer bound.Unlock()
		if bound.depth--; bound.depth == 0 {
			debug.SetMemoryLimit(bound.old)
		}
	}
}
