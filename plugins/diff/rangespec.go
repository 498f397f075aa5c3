package diff

import (
	"context"
	"fmt"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
)

// span is the range diff compares: the commits as given and what they
// resolve to.
type span struct {
	// BaseRef and HeadRef are as the user gave them (or as found).
	BaseRef, HeadRef string
	// Base is the merge base of BaseRef and HeadRef, Head HeadRef's commit.
	Base, Head string
	// Implicit says BaseRef was found, not given: a branch with no commits
	// of its own then has nothing to compare rather than a wrong range.
	Implicit bool
}

// resolveSpan resolves the range. An empty BaseRef is found with
// defaultBase. tool is the name the hints spell the command with.
func resolveSpan(ctx context.Context, repo *gitrepo.Repo, tool, baseRef, headRef string) (span, error) {
	s := span{BaseRef: baseRef, HeadRef: headRef}
	if s.BaseRef == "" {
		b, err := defaultBase(ctx, repo)
		if err != nil {
			return s, exitcode.Wrap(exitcode.Usage, err)
		}
		s.BaseRef, s.Implicit = b, true
	}
	// An unknown revision is not found (exit 3), as for trace.
	head, err := revParse(ctx, repo, s.HeadRef)
	if err != nil {
		return s, err
	}
	base, err := revParse(ctx, repo, s.BaseRef)
	if err != nil {
		return s, fmt.Errorf("%w (fetch it, or name the base: --base main, or %s diff main..HEAD)", err, tool)
	}
	out, err := repo.Git(ctx, "merge-base", base, head)
	if err != nil {
		return s, exitcode.Errorf(exitcode.Usage, "%s and %s have no common ancestor: %w", s.BaseRef, s.HeadRef, err)
	}
	s.Base, s.Head = strings.TrimSpace(out), head
	if s.Implicit || s.Base != s.Head {
		return s, nil
	}
	// HEAD is reachable from BASE: the range holds no commit.
	if base == head {
		return s, exitcode.Errorf(exitcode.Usage, "the range %s..%s is empty: both are commit %s; name the branch the change is on (%s diff %s..my-branch) or the base it starts from (--base main)", s.BaseRef, s.HeadRef, short(head), tool, s.BaseRef)
	}
	return s, exitcode.Errorf(exitcode.Usage, "the range %s..%s is reversed: %s is already in %s, so it brings nothing; swap them: %s diff %s..%s", s.BaseRef, s.HeadRef, s.HeadRef, s.BaseRef, tool, s.HeadRef, s.BaseRef)
}

// defaultBase is the branch a pull request from the checkout would merge
// into: the branch it tracks when that is another branch (created with
// `git switch -c feature origin/main`); else the remote's default branch
// (refs/remotes/<remote>/HEAD, or the one of <remote>/main and
// <remote>/master that exists); else the tracked branch itself.
func defaultBase(ctx context.Context, repo *gitrepo.Repo) (string, error) {
	branch, err := repo.CurrentBranch(ctx)
	if err != nil {
		return "", err
	}
	remote, tracked := "origin", ""
	if branch != "" {
		if r := gitConfig(ctx, repo, "branch."+branch+".remote"); r != "" && r != "." {
			remote = r
			if m := strings.TrimPrefix(gitConfig(ctx, repo, "branch."+branch+".merge"), "refs/heads/"); m != "" {
				tracked = remote + "/" + m
				if m != branch && hasRef(ctx, repo, "refs/remotes/"+tracked) {
					return tracked, nil
				}
			}
		}
	}
	if out, err := repo.Git(ctx, "symbolic-ref", "--quiet", "--short", "refs/remotes/"+remote+"/HEAD"); err == nil && strings.TrimSpace(out) != "" {
		return strings.TrimSpace(out), nil
	}
	var found []string
	for _, b := range []string{"main", "master"} {
		if hasRef(ctx, repo, "refs/remotes/"+remote+"/"+b) {
			found = append(found, remote+"/"+b)
		}
	}
	if len(found) == 1 {
		return found[0], nil
	}
	if tracked != "" && hasRef(ctx, repo, "refs/remotes/"+tracked) {
		return tracked, nil
	}
	why := fmt.Sprintf("%s has no default branch (refs/remotes/%s/HEAD)", remote, remote)
	if len(found) > 1 {
		why += " and has both main and master"
	}
	return "", fmt.Errorf("cannot tell which branch to compare with: %s; name it with --base main (or set it: git remote set-head %s --auto)", why, remote)
}

func gitConfig(ctx context.Context, repo *gitrepo.Repo, key string) string {
	out, err := repo.Git(ctx, "config", "--get", key)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

func hasRef(ctx context.Context, repo *gitrepo.Repo, ref string) bool {
	_, err := repo.Git(ctx, "rev-parse", "--verify", "--quiet", ref)
	return err == nil
}
