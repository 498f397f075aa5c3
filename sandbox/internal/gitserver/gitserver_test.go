package gitserver

import (
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// A push to a repository that does not exist creates it; a clone then gets the pushed commit, and a second
// push (fast-forward) is accepted too.
func TestPushCreatesRepoAndCloneSeesIt(t *testing.T) {
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	srv := httptest.NewServer(Handler(root, gitPath))
	defer srv.Close()

	work := t.TempDir()
	git(t, work, "init", "-q", "--initial-branch=main")
	os.WriteFile(filepath.Join(work, "a.txt"), []byte("one\n"), 0o644)
	git(t, work, "add", "a.txt")
	git(t, work, "commit", "-qm", "one")
	url := srv.URL + "/app.git"
	git(t, work, "push", "-q", url, "main")
	if _, err := os.Stat(filepath.Join(root, "app.git", "HEAD")); err != nil {
		t.Fatalf("the push did not create a bare repository: %v", err)
	}

	os.WriteFile(filepath.Join(work, "a.txt"), []byte("two\n"), 0o644)
	git(t, work, "commit", "-qam", "two")
	git(t, work, "push", "-q", url, "main")
	want := git(t, work, "rev-parse", "HEAD")

	clone := filepath.Join(t.TempDir(), "clone")
	git(t, "", "clone", "-q", url, clone)
	if got := git(t, clone, "rev-parse", "HEAD"); got != want {
		t.Fatalf("clone HEAD = %s, want %s", got, want)
	}
	if data, _ := os.ReadFile(filepath.Join(clone, "a.txt")); string(data) != "two\n" {
		t.Fatalf("clone has a.txt = %q", data)
	}
}

// Names outside one path segment ending in .git are never created, so a push cannot write outside root.
func TestPushToBadNameCreatesNothing(t *testing.T) {
	gitPath, _ := exec.LookPath("git")
	root := t.TempDir()
	srv := httptest.NewServer(Handler(root, gitPath))
	defer srv.Close()
	for _, p := range []string{"/..%2Fescape.git/info/refs", "/noext/info/refs", "/.hidden.git/info/refs"} {
		resp, err := srv.Client().Get(srv.URL + p + "?service=git-receive-pack")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Errorf("GET %s = 200, want an error", p)
		}
	}
	entries, _ := os.ReadDir(root)
	if len(entries) != 0 {
		t.Fatalf("root has %d entries, want none", len(entries))
	}
}
