package main

// The publish path is one (internal/gitrepo's Publisher), so override and
// promote must agree on every user-visible decision it makes. Each test
// here runs both commands, as built binaries, on a copy of the multi-env
// example with a bare remote next to it.

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
)

func TestMain(m *testing.M) { os.Exit(binarytest.Main(m)) }

// writer is one command that edits the repo: its arguments, the file it
// edits, and a line that file has after the edit.
type writer struct {
	name string
	args []string
	file string
	want string
}

var writers = []writer{
	{"override", []string{"override", "sample-app", "-n", "sample-app-production", "--set", "replicaCount=7"},
		"apps/production/sample-app-values.yaml", "replicaCount: 7"},
	{"promote", []string{"promote", "sample-app", "--from", "staging", "--to", "production"},
		"apps/production/sample-app-source.yaml", "tag: v0.1.3"},
}

type fixture struct {
	t            *testing.T
	env          []string
	work, remote string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	env := binarytest.Env(t.TempDir(), "Publisher", "publisher@example.com")
	work := filepath.Join(t.TempDir(), "work")
	binarytest.CopyTree(t, "../../examples/flux-multi-env", work)
	binarytest.Commit(t, env, work, "init")
	return &fixture{t: t, env: env, work: work, remote: binarytest.Publish(t, env, work)}
}

func (f *fixture) run(args ...string) binarytest.Result {
	f.t.Helper()
	if len(args) > 0 && (args[0] == "override" || args[0] == "promote") && !slices.Contains(args, "--status") {
		// The example's chart source is on github.com: these tests are about
		// publishing, not validation (docs/validate.md), which would fetch it.
		args = append(args, "--validate=false")
	}
	return binarytest.Run(f.t, f.env, f.work, binarytest.Build(f.t), args...)
}

func (f *fixture) git(dir string, args ...string) string {
	f.t.Helper()
	return strings.TrimSpace(binarytest.Git(f.t, f.env, dir, args...))
}

// state is what must not change when a command refuses.
func (f *fixture) state() string {
	return f.git(f.work, "rev-parse", "HEAD") + " " + f.git(f.work, "branch", "--show-current") + "\n" +
		f.git(f.work, "status", "--porcelain") + "\n" + f.git(f.remote, "rev-parse", "main")
}

func forEach(t *testing.T, fn func(t *testing.T, w writer, f *fixture)) {
	for _, w := range writers {
		t.Run(w.name, func(t *testing.T) { fn(t, w, newFixture(t)) })
	}
}

func with(args []string, more ...string) []string {
	return append(append([]string{}, args...), more...)
}

func TestPublishBranchSwitchesBackAndPrintsRequestURL(t *testing.T) {
	forEach(t, func(t *testing.T, w writer, f *fixture) {
		// The remote looks like GitHub to the user; git is told to use the
		// bare repository for it, so nothing leaves the machine.
		f.git(f.work, "remote", "set-url", "origin", "https://github.com/acme/fleet.git")
		f.git(f.work, "config", "url."+f.remote+".insteadOf", "https://github.com/acme/fleet.git")
		before := f.state()
		r := f.run(with(w.args, "--branch", "review/"+w.name)...)
		if r.ExitCode != 0 {
			t.Fatalf("exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
		}
		if f.state() != before {
			t.Fatalf("the checkout or main changed:\n%s\nwant\n%s", f.state(), before)
		}
		if got := f.git(f.remote, "show", "review/"+w.name+":"+w.file); !strings.Contains(got, w.want) {
			t.Fatalf("the pushed branch lacks %q:\n%s", w.want, got)
		}
		url := "https://github.com/acme/fleet/compare/main...review/" + w.name + "?expand=1"
		if !strings.Contains(r.Stdout, url) {
			t.Fatalf("stdout lacks the request URL %s:\n%s", url, r.Stdout)
		}
		// The same branch again is a conflict and changes nothing.
		r = f.run(with(w.args, "--branch", "review/"+w.name)...)
		if r.ExitCode != 6 || !strings.Contains(r.Stderr, "branch already exists") || f.state() != before {
			t.Fatalf("reused branch: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
		}
	})
}

func TestPublishRefusals(t *testing.T) {
	forEach(t, func(t *testing.T, w writer, f *fixture) {
		before := f.state()
		for _, tc := range []struct {
			name  string
			setup func()
			args  []string
			code  int
			says  string
		}{
			{"invalid branch name", nil, []string{"--branch", "bad..name"}, 2, "not a valid branch name"},
			{"option-like branch name", nil, []string{"--branch=-x"}, 2, "not a valid branch name"},
			{"unknown remote", nil, []string{"--push", "--remote", "nowhere"}, 2, `no remote "nowhere"`},
			{"no-commit with push", nil, []string{"--no-commit", "--push"}, 2, "--no-commit cannot be combined"},
		} {
			r := f.run(with(w.args, tc.args...)...)
			if r.ExitCode != tc.code || !strings.Contains(r.Stderr, tc.says) {
				t.Errorf("%s: exit %d, want %d saying %q\n%s%s", tc.name, r.ExitCode, tc.code, tc.says, r.Stdout, r.Stderr)
			}
			if f.state() != before {
				t.Fatalf("%s changed the checkout", tc.name)
			}
		}
	})
}

func TestPublishRefusesCommitsAlreadyWaiting(t *testing.T) {
	forEach(t, func(t *testing.T, w writer, f *fixture) {
		if err := os.WriteFile(filepath.Join(f.work, "NOTES.md"), []byte("unpushed\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		f.git(f.work, "add", "NOTES.md")
		f.git(f.work, "commit", "-q", "-m", "local work, not pushed")
		before := f.state()
		// The dry run runs the same check, so it predicts the refusal.
		for _, extra := range [][]string{{"--push"}, {"--push", "--dry-run"}} {
			r := f.run(with(w.args, extra...)...)
			if r.ExitCode != 6 || !strings.Contains(r.Stderr, "1 commit(s) not on origin/main") {
				t.Fatalf("%v: exit %d\n%s%s", extra, r.ExitCode, r.Stdout, r.Stderr)
			}
			if f.state() != before {
				t.Fatalf("%v changed the checkout", extra)
			}
		}
		// Without a push the commit is only local, which is fine.
		if r := f.run(w.args...); r.ExitCode != 0 {
			t.Fatalf("commit without --push: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
		}
	})
}

func TestPublishDryRunWithPush(t *testing.T) {
	forEach(t, func(t *testing.T, w writer, f *fixture) {
		before := f.state()
		r := f.run(with(w.args, "--dry-run", "--push")...)
		if r.ExitCode != 0 || !strings.Contains(r.Stdout, "+") {
			t.Fatalf("exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
		}
		if f.state() != before {
			t.Fatal("--dry-run --push changed something")
		}
	})
}

func TestPublishDirtyAndAllowDirty(t *testing.T) {
	forEach(t, func(t *testing.T, w writer, f *fixture) {
		full := filepath.Join(f.work, w.file)
		data, err := os.ReadFile(full)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, append(data, []byte("# work in progress\n")...), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(full, 0o600); err != nil {
			t.Fatal(err)
		}
		before := f.state()
		r := f.run(w.args...)
		if r.ExitCode != 6 || !strings.Contains(r.Stderr, "uncommitted changes") || !strings.Contains(r.Stderr, "--allow-dirty") {
			t.Fatalf("dirty: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
		}
		if f.state() != before {
			t.Fatal("the refusal changed the checkout")
		}
		r = f.run(with(w.args, "--allow-dirty")...)
		if r.ExitCode != 0 {
			t.Fatalf("--allow-dirty: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
		}
		got := f.git(f.work, "show", "HEAD:"+w.file)
		if !strings.Contains(got, w.want) || !strings.Contains(got, "# work in progress") {
			t.Fatalf("--allow-dirty commits the edit and the work in progress:\n%s", got)
		}
		if s := f.git(f.work, "status", "--porcelain"); s != "" {
			t.Fatalf("left uncommitted: %s", s)
		}
		// The atomic write keeps the file's mode.
		if st, err := os.Stat(full); err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("mode after the edit: %v %v", st.Mode(), err)
		}
		if entries, _ := os.ReadDir(filepath.Dir(full)); len(entries) == 0 {
			t.Fatal("directory emptied")
		} else {
			for _, e := range entries {
				if strings.Contains(e.Name(), ".tmp-") {
					t.Fatalf("temporary file left behind: %s", e.Name())
				}
			}
		}
	})
}

func TestPublishReappliesAfterARejectedPush(t *testing.T) {
	forEach(t, func(t *testing.T, w writer, f *fixture) {
		// Someone else pushes a change to another line of the same file.
		other := filepath.Join(t.TempDir(), "other")
		f.git(filepath.Dir(other), "clone", "-q", f.remote, other)
		full := filepath.Join(other, w.file)
		data, err := os.ReadFile(full)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, append([]byte("# reviewed by the other team\n"), data...), 0o644); err != nil {
			t.Fatal(err)
		}
		f.git(other, "commit", "-q", "-am", "a comment, pushed first")
		f.git(other, "push", "-q", "origin", "main")

		r := f.run(with(w.args, "--push")...)
		if r.ExitCode != 0 {
			t.Fatalf("exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
		}
		got := f.git(f.remote, "show", "main:"+w.file)
		if !strings.Contains(got, w.want) || !strings.Contains(got, "# reviewed by the other team") {
			t.Fatalf("the remote lacks one of the two changes:\n%s", got)
		}
		if n := f.git(f.remote, "rev-list", "--count", "main"); n != "3" {
			t.Fatalf("remote has %s commits, want 3", n)
		}
		if f.git(f.remote, "rev-parse", "main") != f.git(f.work, "rev-parse", "HEAD") {
			t.Fatal("the local branch is not what was pushed")
		}
	})
}

func TestPublishDetachedHead(t *testing.T) {
	forEach(t, func(t *testing.T, w writer, f *fixture) {
		f.git(f.work, "switch", "-q", "--detach")
		before := f.state()
		r := f.run(with(w.args, "--push")...)
		if r.ExitCode != 6 || !strings.Contains(r.Stderr, "HEAD is detached") {
			t.Fatalf("--push: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
		}
		if f.state() != before {
			t.Fatal("the refusal changed the checkout")
		}
		// A new branch can start from a detached HEAD, and the checkout
		// comes back to it.
		r = f.run(with(w.args, "--branch", "from-detached")...)
		if r.ExitCode != 0 || f.state() != before {
			t.Fatalf("--branch: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
		}
		if got := f.git(f.remote, "show", "from-detached:"+w.file); !strings.Contains(got, w.want) {
			t.Fatalf("the pushed branch lacks the change:\n%s", got)
		}
	})
}
