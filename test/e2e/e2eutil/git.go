package e2eutil

import (
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Repo is a bare repository on the sandbox's Git server and a working clone of it.
type Repo struct {
	// Name is the repository's name on the server, unique per call of NewRepo.
	Name string
	// URL is what Flux and git clone: $GITOPS_SANDBOX_GIT_URL/<Name>.git.
	URL string
	// Clone is a working clone (branch main) in a temporary directory; Commit works in it.
	Clone string
}

// NewRepo makes a repository called <base>-<random> with an empty working clone. Nothing is pushed until
// PushDir or Commit.
func (e *Env) NewRepo(t testing.TB, base string) *Repo {
	t.Helper()
	r := &Repo{Name: base + "-" + randSuffix(), Clone: t.TempDir()}
	r.URL = e.GitURL + "/" + r.Name + ".git"
	git(t, r.Clone, "init", "--quiet", "--initial-branch=main")
	git(t, r.Clone, "remote", "add", "origin", r.URL)
	return r
}

// PushDir copies the files of dir into the clone, commits them and pushes main. It returns the commit.
func (r *Repo) PushDir(t testing.TB, dir string) string {
	t.Helper()
	if err := copyTree(dir, r.Clone); err != nil {
		t.Fatalf("copying %s into the clone of %s: %v", dir, r.Name, err)
	}
	return r.Commit(t, "import "+filepath.Base(dir), nil)
}

// Commit runs edit in the clone (it may be nil), commits everything with msg, pushes main and returns the
// full commit hash.
func (r *Repo) Commit(t testing.TB, msg string, edit func(dir string)) string {
	t.Helper()
	if edit != nil {
		edit(r.Clone)
	}
	git(t, r.Clone, "add", "-A")
	git(t, r.Clone, "commit", "--quiet", "--allow-empty", "-m", msg)
	git(t, r.Clone, "push", "--quiet", "origin", "HEAD:main")
	return r.Head(t)
}

// Head returns the commit at the tip of the clone.
func (r *Repo) Head(t testing.TB) string {
	t.Helper()
	return strings.TrimSpace(git(t, r.Clone, "rev-parse", "HEAD"))
}

// CloneTo makes a fresh clone of the server's main branch in a new temporary directory, as a user's
// checkout would be (for commands that take --repo).
func (r *Repo) CloneTo(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), r.Name)
	git(t, "", "clone", "--quiet", r.URL, dir)
	return dir
}

// Pull fetches the server's main into the clone (after a tool pushed to it) and returns the new head.
func (r *Repo) Pull(t testing.TB) string {
	t.Helper()
	git(t, r.Clone, "pull", "--quiet", "--ff-only", "origin", "main")
	return r.Head(t)
}

// WriteFile writes content to rel inside dir, creating directories, failing the test on error.
func WriteFile(t testing.TB, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// ReplaceInFile replaces old with new in dir/rel and fails the test when old is not there, so a changed
// example cannot silently turn a test into a no-op.
func ReplaceInFile(t testing.TB, dir, rel, old, new string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s does not contain %q", rel, old)
	}
	if err := os.WriteFile(p, []byte(strings.ReplaceAll(string(data), old, new)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// CopyExample copies examples/<name> into a temporary directory, replacing each old string with its new
// one in every file (pairs: old1, new1, old2, new2, ...), and returns the copy.
func (e *Env) CopyExample(t testing.TB, name string, replacements ...string) string {
	t.Helper()
	if len(replacements)%2 != 0 {
		t.Fatalf("CopyExample: replacements must come in old, new pairs")
	}
	dst := filepath.Join(t.TempDir(), name)
	if err := copyTree(filepath.Join(e.Root, "examples", name), dst); err != nil {
		t.Fatalf("copying example %s: %v", name, err)
	}
	r := strings.NewReplacer(replacements...)
	err := filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(p, []byte(r.Replace(string(data))), 0o644)
	})
	if err != nil {
		t.Fatalf("rewriting example %s: %v", name, err)
	}
	return dst
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
}

func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), gitIdentity...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git %s (in %s): %v\n%s%s", strings.Join(args, " "), dir, err, out, stderr.String())
	}
	return string(out)
}

func randSuffix() string {
	b := make([]byte, 3)
	rand.Read(b)
	return hex.EncodeToString(b)[:5]
}
