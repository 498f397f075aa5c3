package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
)

// Commit is one resolved commit.
type Commit struct {
	SHA         string
	Subject     string
	CommittedAt time.Time
	Parents     []string
}

// ErrUnknownRevision: the revision does not name a commit in the checkout
// (exit 3, not found).
var ErrUnknownRevision = exitcode.New(exitcode.NotFound, "unknown revision")

// ResolveCommit resolves rev (full or short SHA, branch, tag, HEAD, any
// git revision expression) to a commit.
func (r *Repo) ResolveCommit(ctx context.Context, rev string) (*Commit, error) {
	if strings.HasPrefix(rev, "-") {
		return nil, fmt.Errorf("%q: %w", rev, ErrUnknownRevision)
	}
	// One git process resolves and describes the commit: --no-walk stops
	// log at it, and ^{commit} peels tags and refuses trees and blobs.
	out, err := r.Git(ctx, "log", "-1", "--no-walk", "--format=%H%x00%s%x00%cI%x00%P", "--end-of-options", rev+"^{commit}", "--")
	if err != nil {
		return nil, fmt.Errorf("%q is not a commit in %s: %w (give a SHA, branch or tag; git fetch if it is new)", rev, r.Root, ErrUnknownRevision)
	}
	f := strings.SplitN(strings.TrimRight(out, "\n"), "\x00", 4)
	if len(f) != 4 {
		return nil, fmt.Errorf("git log %s: unexpected output %q", rev, out)
	}
	t, err := time.Parse(time.RFC3339, f[2])
	if err != nil {
		return nil, fmt.Errorf("commit %s date %q: %w", f[0], f[2], err)
	}
	return &Commit{SHA: f[0], Subject: f[1], CommittedAt: t, Parents: strings.Fields(f[3])}, nil
}

// HasCommit reports whether sha (full or a prefix) names a commit here.
func (r *Repo) HasCommit(ctx context.Context, sha string) (string, bool) {
	lookup := func() (string, bool, error) {
		out, err := r.Git(ctx, "rev-parse", "--verify", "--quiet", "--end-of-options", sha+"^{commit}")
		return strings.TrimSpace(out), err == nil, nil
	}
	if !isFullSHA(sha) {
		// A prefix may become ambiguous as objects arrive: ask every time.
		full, ok, _ := lookup()
		return full, ok
	}
	full, ok, _ := r.remember("commit "+sha, lookup)
	return full, ok
}

// IsAncestor reports whether ancestor is an ancestor of (or equal to)
// descendant, with git merge-base --is-ancestor.
func (r *Repo) IsAncestor(ctx context.Context, ancestor, descendant string) (bool, error) {
	_, err := r.Git(ctx, "merge-base", "--is-ancestor", ancestor, descendant)
	if err == nil {
		return true, nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 1 {
		return false, nil
	}
	return false, err
}

// ChangedPaths lists the files commit sha changed against its first parent
// (all its files for a root commit).
func (r *Repo) ChangedPaths(ctx context.Context, sha string) ([]string, error) {
	out, err := r.Git(ctx, "diff-tree", "--no-commit-id", "--name-only", "-r", "--root", "-m", "--first-parent", sha)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var paths []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" && !seen[l] {
			seen[l] = true
			paths = append(paths, l)
		}
	}
	return paths, nil
}

// IsPushed reports whether any remote-tracking branch contains sha.
func (r *Repo) IsPushed(ctx context.Context, sha string) (bool, error) {
	out, err := r.Git(ctx, "for-each-ref", "--contains", sha, "--format=%(refname)", "refs/remotes/")
	if err != nil {
		return false, err
	}
	return strings.TrimSpace(out) != "", nil
}

// ShowFile returns the content of file p at commit sha, and false when the
// file does not exist there.
func (r *Repo) ShowFile(ctx context.Context, sha, p string) ([]byte, bool, error) {
	show := func() (string, bool, error) {
		out, err := r.Git(ctx, "cat-file", "-p", sha+":"+p)
		if err != nil {
			if _, e2 := r.Git(ctx, "cat-file", "-e", sha+":"+p); e2 != nil {
				return "", false, nil
			}
			return "", false, err
		}
		return out, true, nil
	}
	var out string
	var ok bool
	var err error
	if isFullSHA(sha) {
		out, ok, err = r.remember("file "+sha+":"+p, show)
	} else {
		out, ok, err = show()
	}
	if !ok {
		return nil, false, err
	}
	return []byte(out), true, nil
}

// ChartVersionAt reads the version field of chartDir/Chart.yaml at sha.
func (r *Repo) ChartVersionAt(ctx context.Context, sha, chartDir string) (string, error) {
	b, ok, err := r.ShowFile(ctx, sha, path.Join(chartDir, "Chart.yaml"))
	if err != nil || !ok {
		return "", err
	}
	var c struct {
		Version string `json:"version"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		return "", fmt.Errorf("%s/Chart.yaml at %s: %w", chartDir, sha[:12], err)
	}
	return c.Version, nil
}

// VersionIntroducedBy finds, looking back from rev, the oldest commit of the
// newest unbroken run of commits whose chartDir/Chart.yaml says version: the
// commit that set that version. With reconcileStrategy ChartVersion, Flux
// packages a chart when the version changes, so that commit (or a later one
// fetched with it) is what the chart was built from.
func (r *Repo) VersionIntroducedBy(ctx context.Context, rev, chartDir, version string) (string, error) {
	out, err := r.Git(ctx, "log", "--first-parent", "--format=%H", rev, "--", path.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return "", err
	}
	intro := ""
	for _, sha := range strings.Fields(out) {
		v, err := r.ChartVersionAt(ctx, sha, chartDir)
		if err != nil {
			return "", err
		}
		if v != version {
			break
		}
		intro = sha
	}
	return intro, nil
}
