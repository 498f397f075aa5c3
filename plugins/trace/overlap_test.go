package trace

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
)

// TestFirstRequestsOverlapGit: the first round of requests (GitRepositories
// and the rest) needs nothing from git, so it goes out while git resolves
// the commit. A git on PATH that holds `git log` (how the commit is
// resolved) until the GitRepository list has arrived shows it: asked in
// turn, git would wait for a list that is only sent after it.
func TestFirstRequestsOverlapGit(t *testing.T) {
	realGit, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	r := newAppRepo(t)
	c := newCluster(t, fixtureObjects(t, "revision-deployed.yaml", r))
	dir := t.TempDir()
	marker, log := filepath.Join(dir, "listed"), filepath.Join(dir, "log")
	c.PrependReactor("list", "gitrepositories", func(k8stesting.Action) (bool, runtime.Object, error) {
		_ = os.WriteFile(marker, nil, 0o644)
		return false, nil, nil
	})
	// The wait is a guard, not a speed limit: 30 s, then git goes on and
	// the log says it timed out.
	script := `#!/bin/sh
if [ "$1" = "log" ] && [ ! -e "` + log + `" ]; then
  i=0
  while [ ! -e "` + marker + `" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
  if [ -e "` + marker + `" ]; then echo listed-first > "` + log + `"; else echo timed-out > "` + log + `"; fi
fi
exec "` + realGit + `" "$@"
`
	if err := os.WriteFile(filepath.Join(dir, "git"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, _, err := run(t, c, nil, r.C, "--repo", r.dir)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got, err := os.ReadFile(log)
	if err != nil {
		t.Fatalf("git log was never run through the wrapper: %v", err)
	}
	if s := strings.TrimSpace(string(got)); s != "listed-first" {
		t.Errorf("git resolved the commit before the GitRepositories were asked for (%s): the first round waits for git", s)
	}
	if !strings.Contains(out, "sample-app") {
		t.Errorf("the trace lost its release:\n%s", out)
	}
}
