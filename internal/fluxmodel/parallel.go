package fluxmodel

import (
	"runtime"
	"sync"

	"sigs.k8s.io/kustomize/api/resource"
)

type built struct {
	res []*resource.Resource
	err error
}

// buildAll runs build on every output, GOMAXPROCS at a time, and returns
// the results in the order of outs.
func buildAll(outs []output, build func(output) ([]*resource.Resource, error)) []built {
	results := make([]built, len(outs))
	workers := min(runtime.GOMAXPROCS(0), len(outs))
	if workers <= 1 {
		for i, o := range outs {
			results[i].res, results[i].err = build(o)
		}
		return results
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i].res, results[i].err = build(outs[i])
			}
		}()
	}
	for i := range outs {
		next <- i
	}
	close(next)
	wg.Wait()
	return results
}
