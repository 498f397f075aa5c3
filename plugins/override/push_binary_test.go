package override_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
)

// pushers is how many processes push to one remote at once.
const pushers = 20

var attemptsRe = regexp.MustCompile(`\((\d+) attempts\)`)

// TestOverrideTwentyConcurrentPushes starts 20 processes of the built
// binary at once, each overriding its own key of one HelmRelease with
// --push from its own clone of one bare remote, three rounds in a row. All
// 60 changes land, none is lost, none is reported pushed without being on
// the remote (or the other way round), and every clone is left clean. It
// logs the wall time of each round and the pushes each process needed.
// (Chart validation is off: what is measured is the push path. The push
// timeout is raised from its default minute: on a loaded 2-core machine 20
// processes that each fetch, rebase and push take longer than that to all
// get their turn, 28 of 60 landed, and what is tested is that retries end
// in a landed change, not how fast the machine is.)
func TestOverrideTwentyConcurrentPushes(t *testing.T) {
	bare, clones := setup(t, pushers, nil)
	bin := binarytest.Build(t)
	landed := 0
	for round := 1; round <= 3; round++ {
		results := make([]binarytest.Result, pushers)
		var wg sync.WaitGroup
		start := time.Now()
		for i := range clones {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = binarytest.Run(t, env(clones[i]+"-home"), clones[i], bin, "override", "sample-app",
					"--set-string", fmt.Sprintf("podAnnotations.p%02d-r%d=v%d", i, round, round), "--push", "--validate=false", "--push-timeout", "10m")
			}()
		}
		wg.Wait()
		wall := time.Since(start)
		remote := git(t, bare, "show", "main:"+hrPath)
		var attempts []string
		for i, r := range results {
			key := fmt.Sprintf("p%02d-r%d: v%d", i, round, round)
			on := regexp.MustCompile(fmt.Sprintf(`(?m)^ +p%02d-r%d: "?v%d"?$`, i, round, round)).MatchString(remote)
			n := 1
			if m := attemptsRe.FindStringSubmatch(r.Stdout); m != nil {
				n, _ = strconv.Atoi(m[1])
			}
			attempts = append(attempts, strconv.Itoa(n))
			switch {
			case r.ExitCode == 0 && on:
				landed++
			case r.ExitCode == 0:
				t.Errorf("round %d, process %d: reported pushed, but the remote lacks %s:\n%s", round, i, key, r.Stdout)
			case on:
				t.Errorf("round %d, process %d: exit %d, yet the remote has %s: %s", round, i, r.ExitCode, key, r.Stderr)
			default:
				t.Errorf("round %d, process %d: exit %d: %s", round, i, r.ExitCode, r.Stderr)
			}
			if st := git(t, clones[i], "status", "--porcelain", "--untracked-files=no"); st != "" {
				t.Errorf("round %d, process %d left the checkout dirty: %s", round, i, st)
			}
			if r.ExitCode == 0 {
				if ahead := git(t, clones[i], "rev-list", "--count", "origin/main..HEAD"); ahead != "0" {
					t.Errorf("round %d, process %d: %s commit(s) not on the remote", round, i, ahead)
				}
			}
		}
		t.Logf("round %d: %d processes in %s; pushes per process: %s", round, pushers, wall.Round(time.Millisecond), strings.Join(attempts, " "))
	}
	if landed != 3*pushers {
		t.Errorf("%d of %d changes landed", landed, 3*pushers)
	}
	if n := git(t, bare, "rev-list", "--count", "main"); n != strconv.Itoa(1+3*pushers) {
		t.Errorf("remote main has %s commits, want the seed + %d", n, 3*pushers)
	}
}

// A push that gives up (here: --push-timeout too short for any retry)
// leaves the checkout exactly as it was, so the next --push is not refused
// for an unpushed commit.
func TestOverridePushGivesUpCleanly(t *testing.T) {
	bare, clones := setup(t, 2, nil)
	if r := run(t, clones[0], "override", "sample-app", "--set", "replicaCount=3", "--push", "--validate=false"); r.ExitCode != 0 {
		t.Fatalf("first push: exit %d: %s", r.ExitCode, r.Stderr)
	}
	remoteHead := git(t, bare, "rev-parse", "main")
	before := snapshot(t, clones[1])
	r := run(t, clones[1], "override", "sample-app", "--set", "image.tag=1.30", "--push", "--push-timeout=1ns", "--validate=false")
	if r.ExitCode != 6 || !strings.Contains(r.Stderr, "push rejected") || !strings.Contains(r.Stderr, "the checkout is as it was") {
		t.Errorf("exit %d, want 6 saying the checkout is as it was: %s", r.ExitCode, r.Stderr)
	}
	if after := snapshot(t, clones[1]); after != before {
		t.Errorf("the checkout changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if git(t, bare, "rev-parse", "main") != remoteHead {
		t.Error("the remote moved")
	}
	if r := run(t, clones[1], "override", "sample-app", "--set", "image.tag=1.30", "--push", "--validate=false"); r.ExitCode != 0 {
		t.Fatalf("retry: exit %d: %s", r.ExitCode, r.Stderr)
	}
	if got := git(t, bare, "show", "main:"+hrPath); !strings.Contains(got, `tag: "1.30"`) || !strings.Contains(got, "replicaCount: 3") {
		t.Errorf("remote file:\n%s", got)
	}
}
