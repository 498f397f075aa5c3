// Package gitserver serves bare Git repositories over smart HTTP with `git http-backend`, the same CGI
// program real Git hosts put behind Apache or nginx. Fetches and pushes both work, without authentication:
// it listens on loopback only.
package gitserver

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// repoName is what a repository may be called: one path segment ending in .git.
var repoName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*\.git$`)

// Handler returns the smart-HTTP handler for the bare repositories under root.
//
// A push to a repository that does not exist yet creates it (bare, default branch main), so a client can
// `git push $GITOPS_SANDBOX_GIT_URL/<name>.git main` without a setup step.
func Handler(root, gitPath string) http.Handler {
	backend := &cgi.Handler{
		Path: gitPath,
		Args: []string{"http-backend"},
		Dir:  root,
		Env: []string{
			"GIT_PROJECT_ROOT=" + root,
			"GIT_HTTP_EXPORT_ALL=1",
			// http.receivepack defaults to off without an authenticated REMOTE_USER; enable it for every
			// repository here rather than in each repository's config.
			"GIT_CONFIG_COUNT=1",
			"GIT_CONFIG_KEY_0=http.receivepack",
			"GIT_CONFIG_VALUE_0=true",
		},
		Logger: log.New(os.Stderr, "git http-backend: ", log.LstdFlags),
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" || r.URL.Path == "/healthz" {
			fmt.Fprintln(w, "ok")
			return
		}
		name, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		if r.URL.Query().Get("service") == "git-receive-pack" && repoName.MatchString(name) {
			if err := ensureRepo(r.Context(), gitPath, filepath.Join(root, name)); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		backend.ServeHTTP(w, r)
	})
}

func ensureRepo(ctx context.Context, gitPath, dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); err == nil {
		return nil
	}
	out, err := exec.CommandContext(ctx, gitPath, "init", "--quiet", "--bare", "--initial-branch=main", dir).CombinedOutput()
	if err != nil {
		return fmt.Errorf("creating bare repository %s: %v: %s", dir, err, out)
	}
	return nil
}

// Serve listens on addr and serves root until ctx ends.
func Serve(ctx context.Context, addr, root string) error {
	gitPath, err := exec.LookPath("git")
	if err != nil {
		return fmt.Errorf("the Git server needs the git binary on PATH: %w", err)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", root, err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: Handler(root, gitPath), ReadHeaderTimeout: 30 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
