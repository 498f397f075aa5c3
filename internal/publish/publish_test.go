package publish

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/forge"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
)

// checkout is a clone of a bare "remote" in t.TempDir(), on main, with
// a.yaml committed and pushed.
type checkout struct {
	t          *testing.T
	dir, bare  string
	env        []string
	repo       *gitrepo.Repo
	calls      []string
	editErr    error
	againValue string
}

func newCheckout(t *testing.T) *checkout {
	t.Helper()
	root := t.TempDir()
	c := &checkout{t: t, dir: filepath.Join(root, "work"), bare: filepath.Join(root, "remote.git")}
	c.env = []string{"HOME=" + root, "GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.com"}
	c.git(root, "init", "-q", "--bare", "-b", "main", c.bare)
	c.git(root, "clone", "-q", c.bare, c.dir)
	c.git(c.dir, "checkout", "-q", "-b", "main")
	c.write("a.yaml", "a: 1\n")
	c.git(c.dir, "add", "a.yaml")
	c.git(c.dir, "commit", "-q", "-m", "init")
	c.git(c.dir, "push", "-q", "-u", "origin", "main")
	c.repo = &gitrepo.Repo{Root: c.dir, Env: c.env}
	return c
}

func (c *checkout) git(dir string, args ...string) string {
	c.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), c.env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		c.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func (c *checkout) write(file, data string) {
	c.t.Helper()
	if err := os.WriteFile(filepath.Join(c.dir, file), []byte(data), 0o644); err != nil {
		c.t.Fatal(err)
	}
}

func (c *checkout) read(file string) string {
	c.t.Helper()
	b, err := os.ReadFile(filepath.Join(c.dir, file))
	if err != nil {
		c.t.Fatal(err)
	}
	return string(b)
}

// job records the order of its steps; its change sets a to value (to
// againValue when made again after a refused push).
func (c *checkout) job(value string) Job {
	return Job{
		Edit: func(_ context.Context, again bool) (gitrepo.Change, error) {
			v := value
			if again {
				c.calls = append(c.calls, "edit again")
				v = c.againValue
			} else {
				c.calls = append(c.calls, "edit")
			}
			if c.editErr != nil || v == "" {
				return gitrepo.Change{}, c.editErr
			}
			return gitrepo.Change{Files: map[string][]byte{"a.yaml": []byte("a: " + v + "\n")}, Message: "set a to " + v, Trailers: []string{"Changed-with: test"}}, nil
		},
		Check: func(_ context.Context, ch gitrepo.Change) error {
			c.calls = append(c.calls, "check "+strings.Join(ch.Paths(), ","))
			return nil
		},
		Committed: func(p gitrepo.Published) {
			c.calls = append(c.calls, "committed")
		},
		Request: func(context.Context, gitrepo.Change, gitrepo.Published) (string, string, error) {
			c.calls = append(c.calls, "request")
			return "t", "b", nil
		},
	}
}

func (c *checkout) config(s Settings) Config {
	return Config{Settings: s, Repo: c.repo, Getenv: func(string) string { return "" }, Progress: io.Discard}
}

// TestRunGoesAsFarAsTheSettingsSay: the steps run in one order (the
// change computed, its files checked, the command's check, then the
// write), and stop where the settings say: a dry run before writing,
// --no-commit before committing, a commit before pushing.
func TestRunGoesAsFarAsTheSettingsSay(t *testing.T) {
	for _, tc := range []struct {
		name       string
		cfg        func(Config) Config
		calls      []string
		file       string
		committed  bool
		pushed     bool
		onBranch   string
		wantRemote string
	}{
		{"dry run", func(c Config) Config { c.DryRun = true; return c }, []string{"edit", "check a.yaml"}, "a: 1\n", false, false, "", ""},
		{"no commit", func(c Config) Config { c.NoCommit = true; return c }, []string{"edit", "check a.yaml"}, "a: 2\n", false, false, "", ""},
		{"commit", func(c Config) Config { return c }, []string{"edit", "check a.yaml", "committed"}, "a: 2\n", true, false, "", ""},
		{"push", func(c Config) Config { c.Push = true; return c }, []string{"edit", "check a.yaml", "committed"}, "a: 2\n", true, true, "", "origin"},
		{"branch", func(c Config) Config { c.Branch = "fix"; return c }, []string{"edit", "check a.yaml", "committed"}, "a: 1\n", false, true, "fix", "origin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCheckout(t)
			head := c.git(c.dir, "rev-parse", "HEAD")
			out, err := Run(context.Background(), tc.cfg(c.config(Settings{})), c.job("2"))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.calls, tc.calls) {
				t.Errorf("steps %q, want %q", c.calls, tc.calls)
			}
			if got := c.read("a.yaml"); got != tc.file {
				t.Errorf("a.yaml is %q, want %q", got, tc.file)
			}
			if len(out.Change.Files) != 1 || out.Remote != tc.wantRemote || out.Request != nil {
				t.Errorf("outcome %+v", out)
			}
			now := c.git(c.dir, "rev-parse", "HEAD")
			if (now != head) != tc.committed {
				t.Errorf("HEAD moved from %s to %s; want a commit: %v", head, now, tc.committed)
			}
			if tc.committed && !strings.Contains(c.git(c.dir, "log", "-1", "--format=%B"), "Changed-with: test") {
				t.Error("the commit has no trailer")
			}
			remote := c.git(c.bare, "rev-parse", "main")
			if tc.onBranch != "" {
				remote = c.git(c.bare, "rev-parse", tc.onBranch)
				if c.git(c.bare, "show", tc.onBranch+":a.yaml") != "a: 2" {
					t.Errorf("branch %s does not hold the change", tc.onBranch)
				}
			}
			if (remote != head) != tc.pushed || out.Published.Pushed != tc.pushed {
				t.Errorf("remote at %s (was %s), Pushed %v; want pushed: %v", remote, head, out.Published.Pushed, tc.pushed)
			}
		})
	}
}

// TestRunNothingToChange: a change without files stops the run before
// any check or write.
func TestRunNothingToChange(t *testing.T) {
	c := newCheckout(t)
	out, err := Run(context.Background(), c.config(Settings{Push: true}), c.job(""))
	if err != nil || len(out.Change.Files) != 0 || out.Published.Written {
		t.Fatalf("Run = %+v, %v", out, err)
	}
	if !reflect.DeepEqual(c.calls, []string{"edit"}) {
		t.Errorf("steps %q, want only the edit", c.calls)
	}
}

// TestRunChecksBeforeEditing: what needs no change (a push that would
// carry unpushed commits along, a request to a remote that is no forge)
// stops the run before the change is computed; a dirty file stops it
// before the command's check; the checkout stays as it was.
func TestRunChecksBeforeEditing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(c *checkout)
		s     Settings
		calls []string
		want  error
		msg   string
	}{
		{"unpushed commits", func(c *checkout) {
			c.write("b.yaml", "b: 1\n")
			c.git(c.dir, "add", "b.yaml")
			c.git(c.dir, "commit", "-q", "-m", "mine")
		}, Settings{Push: true}, nil, gitrepo.ErrUnpushed, "push them first"},
		{"request to a path", func(*checkout) {}, Settings{Branch: "fix", Request: forge.Flags{PR: true}}, nil, nil, "not a forge"},
		{"dirty file", func(c *checkout) { c.write("a.yaml", "a: mine\n") }, Settings{}, []string{"edit"}, gitrepo.ErrDirty, "--allow-dirty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCheckout(t)
			tc.setup(c)
			before, head := c.read("a.yaml"), c.git(c.dir, "rev-parse", "HEAD")
			_, err := Run(context.Background(), c.config(tc.s), c.job("2"))
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v; want %v saying %q", err, tc.want, tc.msg)
			}
			if !reflect.DeepEqual(c.calls, tc.calls) {
				t.Errorf("steps %q, want %q", c.calls, tc.calls)
			}
			if c.read("a.yaml") != before || c.git(c.dir, "rev-parse", "HEAD") != head {
				t.Error("the checkout changed")
			}
		})
	}
}

// TestRunMakesTheChangeAgainOverAConcurrentPush: when someone pushed
// first, the job's change is computed again on top of theirs and pushed.
func TestRunMakesTheChangeAgainOverAConcurrentPush(t *testing.T) {
	c := newCheckout(t)
	other := filepath.Join(filepath.Dir(c.dir), "other")
	c.git(filepath.Dir(c.dir), "clone", "-q", c.bare, other)
	if err := os.WriteFile(filepath.Join(other, "b.yaml"), []byte("b: theirs\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.git(other, "add", "b.yaml")
	c.git(other, "commit", "-q", "-m", "theirs")
	c.git(other, "push", "-q", "origin", "main")
	c.againValue = "3"

	out, err := Run(context.Background(), c.config(Settings{Push: true}), c.job("2"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"edit", "check a.yaml", "edit again", "committed"}; !reflect.DeepEqual(c.calls, want) {
		t.Errorf("steps %q, want %q", c.calls, want)
	}
	if !out.Published.Rebased || !out.Published.Pushed {
		t.Errorf("published %+v, want rebased and pushed", out.Published)
	}
	if got := c.git(c.bare, "show", "main:a.yaml"); got != "a: 3" {
		t.Errorf("remote a.yaml %q, want the change made again", got)
	}
	if got := c.git(c.bare, "show", "main:b.yaml"); got != "b: theirs" {
		t.Errorf("remote b.yaml %q, want theirs kept", got)
	}
}

// TestRunReportsTheEditError: the job's error is the run's.
func TestRunReportsTheEditError(t *testing.T) {
	c := newCheckout(t)
	c.editErr = errors.New("no such release")
	if _, err := Run(context.Background(), c.config(Settings{}), c.job("2")); !errors.Is(err, c.editErr) {
		t.Fatalf("err = %v", err)
	}
}

func TestSettingsValidate(t *testing.T) {
	for _, tc := range []struct {
		s    Settings
		want string
	}{
		{Settings{}, ""},
		{Settings{Push: true, Branch: "b"}, ""},
		{Settings{NoCommit: true, Push: true}, "--no-commit cannot be combined"},
		{Settings{NoCommit: true, Branch: "b"}, "--no-commit cannot be combined"},
		{Settings{Push: true, Request: forge.Flags{PR: true}}, "--pr pushes a branch for review"},
		{Settings{Request: forge.Flags{Draft: true}}, "--draft only apply with --pr"},
		{Settings{Request: forge.Flags{PR: true}}, ""},
	} {
		err := tc.s.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%+v: Validate() = %v, want %q", tc.s, err, tc.want)
		}
	}
}

func TestWithRequestBranch(t *testing.T) {
	for _, tc := range []struct {
		s    Settings
		want string
	}{
		{Settings{}, ""},
		{Settings{Request: forge.Flags{PR: true}}, "override/a"},
		{Settings{Branch: "mine", Request: forge.Flags{PR: true}}, "mine"},
	} {
		if got := tc.s.WithRequestBranch("override/a").Branch; got != tc.want {
			t.Errorf("%+v: branch %q, want %q", tc.s, got, tc.want)
		}
	}
}
