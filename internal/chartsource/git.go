package chartsource

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/Masterminds/semver/v3"
	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
)

// defaultBranch is the branch source-controller checks out when a
// GitRepository has no spec.ref.
const defaultBranch = "master"

// gitCache is one fetched repository: a bare repo under the cache.
type gitCache struct {
	dir, url string
	env      []string
}

func (g *gitCache) git(ctx context.Context, stdin io.Reader, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", g.dir}, args...)...)
	// Cancelled, git and its helpers (git-remote-http) are interrupted as
	// one process group: git removes its lock files, and no helper keeps
	// the output pipes open after it.
	gitrepo.Interruptible(cmd)
	cmd.Env = append(cmd.Environ(), g.env...)
	cmd.Env = append(cmd.Env, "GIT_TERMINAL_PROMPT=0")
	cmd.Stdin = stdin
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			// Stopped by ctx, not failed: say so, so that callers see the
			// cancellation (or the look-up's timeout) and not git's error.
			return "", fmt.Errorf("git %s: %w", args[0], context.Cause(ctx))
		}
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = err.Error()
		}
		return out.String(), fmt.Errorf("git %s: %s", strings.Join(args, " "), msg)
	}
	return out.String(), nil
}

func (g *gitCache) fetch(ctx context.Context, refspecs ...string) error {
	_, err := g.git(ctx, nil, append([]string{"fetch", "--quiet", "--no-tags", "--force", g.url}, refspecs...)...)
	return err
}

// commit returns the commit rev names in the cache, or "".
func (g *gitCache) commit(ctx context.Context, rev string) string {
	out, err := g.git(ctx, nil, "rev-parse", "--verify", "--quiet", rev+"^{commit}")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

func (r *Resolver) openGit(ctx context.Context, url string) (*gitCache, error) {
	root, err := r.cacheDir()
	if err != nil {
		return nil, err
	}
	g := &gitCache{dir: filepath.Join(root, "git", cacheKey(url)), url: url, env: r.GitEnv}
	if _, err := os.Stat(filepath.Join(g.dir, "HEAD")); err != nil {
		if err := os.MkdirAll(g.dir, 0o755); err != nil {
			return nil, err
		}
		if _, err := g.git(ctx, nil, "init", "--quiet", "--bare"); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// resolveRef fetches what ref selects and returns the commit and its Flux
// revision (main@sha1:<sha>), with source-controller's precedence: commit,
// name, semver, tag, branch (default master).
func (g *gitCache) resolveRef(ctx context.Context, ref *sourcev1.GitRepositoryRef) (sha, revision string, err error) {
	if ref == nil {
		ref = &sourcev1.GitRepositoryRef{}
	}
	algo := func(sha string) string {
		if len(sha) == 64 {
			return "sha256"
		}
		return "sha1"
	}
	switch {
	case ref.Commit != "":
		if sha = g.commit(ctx, ref.Commit); sha == "" {
			refspec := "+refs/heads/*:refs/heads/*"
			if ref.Branch != "" {
				refspec = "+refs/heads/" + ref.Branch + ":refs/heads/" + ref.Branch
			}
			if err := g.fetch(ctx, refspec, "+refs/tags/*:refs/tags/*"); err != nil {
				return "", "", err
			}
			if sha = g.commit(ctx, ref.Commit); sha == "" {
				return "", "", fmt.Errorf("commit %s is not in %s", ref.Commit, g.url)
			}
		}
		if ref.Branch != "" {
			return sha, ref.Branch + "@" + algo(sha) + ":" + sha, nil
		}
		return sha, algo(sha) + ":" + sha, nil
	case ref.Name != "":
		if err := g.fetch(ctx, "+"+ref.Name+":refs/kubectl-gitops/name"); err != nil {
			return "", "", err
		}
		sha = g.commit(ctx, "refs/kubectl-gitops/name")
		return sha, ref.Name + "@" + algo(sha) + ":" + sha, nil
	case ref.SemVer != "":
		c, err := semver.NewConstraint(ref.SemVer)
		if err != nil {
			return "", "", fmt.Errorf("spec.ref.semver %q: %w", ref.SemVer, err)
		}
		if err := g.fetch(ctx, "+refs/tags/*:refs/tags/*"); err != nil {
			return "", "", err
		}
		out, err := g.git(ctx, nil, "tag", "--list")
		if err != nil {
			return "", "", err
		}
		var best *semver.Version
		bestTag := ""
		for _, t := range strings.Fields(out) {
			v, err := semver.NewVersion(t)
			if err != nil || !c.Check(v) {
				continue
			}
			if best == nil || v.GreaterThan(best) {
				best, bestTag = v, t
			}
		}
		if best == nil {
			return "", "", fmt.Errorf("no tag of %s matches semver %q", g.url, ref.SemVer)
		}
		sha = g.commit(ctx, "refs/tags/"+bestTag)
		return sha, bestTag + "@" + algo(sha) + ":" + sha, nil
	case ref.Tag != "":
		if err := g.fetch(ctx, "+refs/tags/"+ref.Tag+":refs/tags/"+ref.Tag); err != nil {
			return "", "", err
		}
		sha = g.commit(ctx, "refs/tags/"+ref.Tag)
		return sha, ref.Tag + "@" + algo(sha) + ":" + sha, nil
	}
	branch := ref.Branch
	if branch == "" {
		branch = defaultBranch
	}
	if err := g.fetch(ctx, "+refs/heads/"+branch+":refs/heads/"+branch); err != nil {
		return "", "", err
	}
	sha = g.commit(ctx, "refs/heads/"+branch)
	return sha, branch + "@" + algo(sha) + ":" + sha, nil
}

// extract writes the files under p at commit sha into the cache once and
// returns the directory: checkouts/<sha>/<p>. A commit never changes, so a
// directory that exists is complete (it is renamed into place whole).
func (r *Resolver) extract(ctx context.Context, g *gitCache, sha, p string) (string, error) {
	root, err := r.cacheDir()
	if err != nil {
		return "", err
	}
	base := filepath.Join(root, "checkouts", sha)
	dest := filepath.Join(base, filepath.FromSlash(p))
	if _, err := os.Stat(dest); err == nil {
		return dest, nil
	}
	out, err := g.git(ctx, nil, "archive", "--format=tar", sha, "--", p)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dest), ".extract-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	tr := tar.NewReader(strings.NewReader(out))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("reading git archive of %s at %s: %w", p, sha, err)
		}
		rel, ok := strings.CutPrefix(h.Name, p)
		if !ok || (rel != "" && rel[0] != '/') || strings.Contains(rel, "..") {
			continue
		}
		target := filepath.Join(tmp, filepath.FromSlash(rel))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return "", err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return "", err
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				return "", err
			}
			if err := os.WriteFile(target, b, 0o644); err != nil {
				return "", err
			}
		}
	}
	if err := os.Rename(tmp, dest); err != nil {
		if _, statErr := os.Stat(dest); statErr == nil {
			return dest, nil // another process extracted it meanwhile
		}
		return "", err
	}
	return dest, nil
}

func (r *Resolver) fromGit(ctx context.Context, gr *sourcev1.GitRepository, where string, spec helmv2.HelmChartTemplateSpec) (*Chart, error) {
	id := fmt.Sprintf("GitRepository %s/%s", gr.Namespace, gr.Name)
	if gr.Spec.URL == "" {
		return nil, unresolvable(nil, "%s (%s) has no spec.url", id, where)
	}
	g, err := r.openGit(ctx, gr.Spec.URL)
	if err != nil {
		return nil, unresolvable(err, "preparing the cache for %s", gr.Spec.URL)
	}
	sha, rev, err := r.resolveRefOnce(ctx, g, gr.Spec.Reference)
	if err != nil {
		return nil, unresolvable(err, "fetching %s (%s) with your git; pass --chart-dir with a local checkout of the chart to skip the fetch", id, gr.Spec.URL)
	}
	chartPath := cleanPath(spec.Chart)
	dir, err := r.extract(ctx, g, sha, chartPath)
	if err != nil {
		return nil, unresolvable(err, "chart path %s in %s at %s", spec.Chart, gr.Spec.URL, rev)
	}
	ch, err := loader.LoadDir(dir)
	if err != nil {
		return nil, unresolvable(err, "loading chart %s from %s at %s", spec.Chart, gr.Spec.URL, rev)
	}
	read := func(p string) ([]byte, bool, error) {
		out, err := g.git(ctx, nil, "cat-file", "blob", sha+":"+cleanPath(p))
		if err != nil {
			if _, err2 := g.git(ctx, nil, "cat-file", "-e", sha+":"+cleanPath(p)); err2 != nil {
				return nil, false, nil
			}
			return nil, false, err
		}
		return []byte(out), true, nil
	}
	if err := applyValuesFiles(ch, spec, read); err != nil {
		return nil, err
	}
	return &Chart{
		Chart:    ch,
		From:     fmt.Sprintf("%s (%s, %s), chart %s", id, gr.Spec.URL, shortRev(rev), spec.Chart),
		Revision: rev,
	}, nil
}

// shortRev shortens the SHA in a Flux revision for display.
func shortRev(rev string) string {
	i := strings.LastIndexByte(rev, ':')
	if i < 0 || len(rev)-i-1 <= 12 {
		return rev
	}
	return rev[:i+1+12]
}

// resolveRefOnce is resolveRef, remembered per URL and ref for the run
// (failures too), each fetch bounded by the Lookups' timeout.
func (r *Resolver) resolveRefOnce(ctx context.Context, g *gitCache, ref *sourcev1.GitRepositoryRef) (string, string, error) {
	key := "git|" + gitrepo.NormalizeURL(g.url)
	if ref != nil {
		key += fmt.Sprintf("|%s|%s|%s|%s|%s", ref.Branch, ref.Tag, ref.SemVer, ref.Name, ref.Commit)
	}
	v, err := r.lookups().do(ctx, key, func(ctx context.Context) (any, error) {
		sha, rev, err := g.resolveRef(ctx, ref)
		return [2]string{sha, rev}, err
	})
	if err != nil {
		return "", "", err
	}
	pair := v.([2]string)
	return pair[0], pair[1], nil
}
