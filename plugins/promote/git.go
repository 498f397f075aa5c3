package promote

import (
	"context"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/envs"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
)

// sourceCommit is the last commit that touched the source environment: the
// state being promoted.
func sourceCommit(ctx context.Context, r *gitrepo.Repo, env *envs.Environment) (string, error) {
	args := append([]string{"log", "-1", "--format=%H", "--"}, env.Paths...)
	out, err := r.Git(ctx, append(args, env.Bases...)...)
	if err != nil {
		return "", err
	}
	if s := strings.TrimSpace(out); s != "" {
		return s, nil
	}
	out, err = r.Git(ctx, "rev-parse", "HEAD")
	return strings.TrimSpace(out), err
}
