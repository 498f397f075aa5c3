package cluster

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// lock serialises up and down on one state directory (two checkouts running `make sandbox-up` at once must
// not clean away each other's half-started cluster). The lock file sits next to the directory, which down
// removes; the kernel drops the lock when the process ends.
func (s *State) lock(ctx context.Context, out io.Writer) (func(), error) {
	f, err := os.OpenFile(s.Dir+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", s.Dir, err)
	}
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		fmt.Fprintf(out, "waiting for another sandbox up/down on %s\n", s.Dir)
		done := make(chan error, 1)
		go func() { done <- syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }()
		select {
		case err := <-done:
			if err != nil {
				f.Close()
				return nil, err
			}
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		}
	}
	return func() { f.Close() }, nil
}

// Down stops every process the sandbox started (their whole process groups) and removes the state
// directory. It is safe to run when nothing is running, and after a crash left stale pid files.
func (s *State) Down(ctx context.Context, out io.Writer) error {
	unlock, err := s.lock(ctx, out)
	if err != nil {
		return err
	}
	defer unlock()
	return s.down(ctx, out)
}

func (s *State) down(ctx context.Context, out io.Writer) error {
	if !s.exists() {
		if _, err := os.Stat(s.Dir); err == nil {
			return fmt.Errorf("%s was not made by the sandbox (no %s file); not touching it", s.Dir, marker)
		}
		fmt.Fprintf(out, "no sandbox in %s\n", s.Dir)
		return nil
	}
	n := len(s.owned())
	if err := s.stopAll(ctx, 15*time.Second); err != nil {
		return fmt.Errorf("stopping the sandbox in %s: %w", s.Dir, err)
	}
	if err := os.RemoveAll(s.Dir); err != nil {
		return fmt.Errorf("removing %s: %w", s.Dir, err)
	}
	fmt.Fprintf(out, "stopped %d processes and removed %s\n", n, s.Dir)
	return nil
}

// Status prints each cluster (context and API server) and each component with its pid, health and memory,
// with totals per cluster, and fails if any component is not healthy.
func (s *State) Status(ctx context.Context, out io.Writer) error {
	if !s.exists() {
		return fmt.Errorf("no sandbox in %s (run `make sandbox-up`)", s.Dir)
	}
	i, err := s.readInfo()
	if err != nil {
		return fmt.Errorf("the sandbox in %s did not finish starting: %w", s.Dir, err)
	}
	pids, _ := s.readPidFiles()
	byName := map[string]pidFile{}
	for _, p := range pids {
		byName[p.Name] = p
	}
	names := append([]string(nil), i.Components...)
	sort.SliceStable(names, func(a, b int) bool {
		// The shared parts first, then each cluster's.
		ca, cb := clusterOf(names[a]), clusterOf(names[b])
		if ca != cb {
			return ca < cb
		}
		return names[a] < names[b]
	})
	multi := len(i.names()) > 0
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLUSTER\tCONTEXT\tAPI SERVER")
	for _, c := range i.clusters() {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", orDash(c.Name), c.Context, c.APIServer)
	}
	fmt.Fprintln(tw)
	if multi {
		fmt.Fprintln(tw, "CLUSTER\tCOMPONENT\tPID\tSTATE\tRSS MiB\tPEAK MiB")
	} else {
		fmt.Fprintln(tw, "COMPONENT\tPID\tSTATE\tRSS MiB\tPEAK MiB")
	}
	bad := 0
	var sumCur, sumPeak int
	perCluster := map[string][2]int{}
	for _, n := range names {
		p := byName[n]
		state := "healthy"
		switch {
		case p.PID == 0 || !s.alive(p.PID):
			state = "not running"
		default:
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if u := i.Health[n]; u != "" {
				if err := s.probe(cctx, i, u); err != nil {
					state = "unhealthy: " + err.Error()
				}
			}
			cancel()
		}
		if state != "healthy" {
			bad++
		}
		cur, peak := rss(p.PID)
		sumCur += cur
		sumPeak += peak
		cl := clusterOf(n)
		t := perCluster[cl]
		perCluster[cl] = [2]int{t[0] + cur, t[1] + peak}
		if multi {
			_, comp, _ := strings.Cut(n, "/")
			if cl == "" {
				comp = n
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%d\n", orDash(cl), comp, p.PID, state, cur/1024, peak/1024)
		} else {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\n", n, p.PID, state, cur/1024, peak/1024)
		}
	}
	if multi {
		for _, cl := range append([]string{""}, i.names()...) {
			t := perCluster[cl]
			what := "total of " + cl
			if cl == "" {
				what = "total shared (etcd, Git server)"
			}
			fmt.Fprintf(tw, "%s\t\t\t\t%d\t%d\n", what, t[0]/1024, t[1]/1024)
		}
		fmt.Fprintf(tw, "total\t\t\t\t%d\t%d\n", sumCur/1024, sumPeak/1024)
	} else {
		fmt.Fprintf(tw, "total\t\t\t%d\t%d\n", sumCur/1024, sumPeak/1024)
	}
	tw.Flush()
	if bad > 0 {
		return fmt.Errorf("%d of %d components are not healthy; logs are in %s", bad, len(names), s.path("logs"))
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
