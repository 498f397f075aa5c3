// Package giteaserver runs a real Gitea server on loopback for the forge
// tests: the binary is built from Go modules by `hack/tools.sh gitea`
// (cached by version under ~/.cache/kubectl-gitops/tools), its state lives
// in a temporary directory, and an admin user with an access token is made
// through Gitea's own CLI before the server starts.
//
// Gitea is built without its "bindata" tag (the generated web assets are
// not in the module), so templates and options are read from the module's
// source directory; the API and Git over HTTP need nothing else.
package giteaserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Server is a running Gitea.
type Server struct {
	// URL is the web root, http://127.0.0.1:PORT (no trailing slash).
	URL string
	// Admin and Password log in over Git's HTTP; Token is an access token
	// with every scope.
	Admin, Password, Token string
	// Dir holds the configuration, database, repositories and log.
	Dir string
	// Version is what /api/v1/version reports.
	Version string

	bin, ini string
	cmd      *exec.Cmd
	exited   chan error
}

// Options configure Start.
type Options struct {
	// Root is the kubectl-gitops checkout (where hack/tools.sh is).
	Root string
	// Dir is where the server keeps its state; it must exist and be empty.
	Dir string
	// Log receives build progress; nil discards it.
	Log io.Writer
}

// Binary builds (or finds in the cache) the Gitea binary and returns its
// path and the module source directory templates are read from.
func Binary(ctx context.Context, root string, log io.Writer) (bin, static string, err error) {
	if log == nil {
		log = io.Discard
	}
	cmd := exec.CommandContext(ctx, filepath.Join(root, "hack", "tools.sh"), "gitea")
	cmd.Dir = root
	cmd.Stderr = log
	out, err := cmd.Output()
	if err != nil {
		return "", "", fmt.Errorf("hack/tools.sh gitea: %w", err)
	}
	bin = strings.TrimSpace(string(out))
	// `go mod download` fetches the module source when the binary is cached
	// but the module cache was cleaned, and says where it is.
	dirOut, err := exec.CommandContext(ctx, "go", "-C", filepath.Join(root, "hack", "gitea"), "mod", "download", "-json", "code.gitea.io/gitea").Output()
	if err != nil {
		return "", "", fmt.Errorf("finding Gitea's module directory: %w", err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(dirOut, &mod); err != nil || mod.Dir == "" {
		return "", "", fmt.Errorf("finding Gitea's module directory: %v (%s)", err, dirOut)
	}
	return bin, mod.Dir, nil
}

// Start builds Gitea if needed, configures it in o.Dir, creates the admin
// user and token, starts the server on a free loopback port and waits for
// its API.
func Start(ctx context.Context, o Options) (*Server, error) {
	bin, static, err := Binary(ctx, o.Root, o.Log)
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &Server{
		URL:      fmt.Sprintf("http://127.0.0.1:%d", port),
		Admin:    "gitops-admin",
		Password: "pw-" + randHex(12),
		Dir:      o.Dir,
		bin:      bin,
		ini:      filepath.Join(o.Dir, "custom", "conf", "app.ini"),
	}
	if err := os.MkdirAll(filepath.Dir(s.ini), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(s.ini, []byte(s.config(port, static)), 0o600); err != nil {
		return nil, err
	}
	if _, err := s.run(ctx, "migrate"); err != nil {
		return nil, err
	}
	out, err := s.run(ctx, "admin", "user", "create", "--username", s.Admin, "--password", s.Password,
		"--email", s.Admin+"@example.com", "--admin", "--must-change-password=false", "--access-token", "--access-token-name", "forge-tests")
	if err != nil {
		return nil, err
	}
	const marker = "Access token was successfully created... "
	i := strings.Index(out, marker)
	if i < 0 {
		return nil, fmt.Errorf("gitea admin user create printed no token:\n%s", out)
	}
	s.Token = strings.Fields(out[i+len(marker):])[0]

	logf, err := os.Create(filepath.Join(o.Dir, "gitea-web.log"))
	if err != nil {
		return nil, err
	}
	s.cmd = exec.Command(bin, "web", "--config", s.ini)
	s.cmd.Dir = o.Dir
	s.cmd.Env = s.env()
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	s.exited = make(chan error, 1)
	go func() { s.exited <- s.cmd.Wait(); logf.Close() }()
	if err := s.waitReady(ctx); err != nil {
		s.Stop()
		return nil, fmt.Errorf("%w\n%s", err, s.LogTail())
	}
	return s, nil
}

func (s *Server) config(port int, static string) string {
	d := s.Dir
	return fmt.Sprintf(`APP_NAME = kubectl-gitops forge tests
RUN_MODE = prod
RUN_USER = %[4]s
WORK_PATH = %[1]s
I_AM_BEING_UNSAFE_RUNNING_AS_ROOT = true

[server]
PROTOCOL = http
HTTP_ADDR = 127.0.0.1
HTTP_PORT = %[2]d
ROOT_URL = http://127.0.0.1:%[2]d/
LOCAL_ROOT_URL = http://127.0.0.1:%[2]d/
DISABLE_SSH = true
START_SSH_SERVER = false
OFFLINE_MODE = true
LFS_START_SERVER = false
APP_DATA_PATH = %[1]s/data
STATIC_ROOT_PATH = %[3]s

[database]
DB_TYPE = sqlite3
PATH = %[1]s/data/gitea.db

[repository]
ROOT = %[1]s/repos
DEFAULT_BRANCH = main

[security]
INSTALL_LOCK = true
SECRET_KEY = %[5]s
INTERNAL_TOKEN = %[6]s

[oauth2]
ENABLED = false

[service]
DISABLE_REGISTRATION = true
REQUIRE_SIGNIN_VIEW = false

[mailer]
ENABLED = false

[indexer]
ISSUE_INDEXER_TYPE = db
REPO_INDEXER_ENABLED = false

[cron]
ENABLED = false

[cron.update_checker]
ENABLED = false

[actions]
ENABLED = false

[packages]
ENABLED = false

[log]
MODE = file
LEVEL = Warn
ROOT_PATH = %[1]s/log
`, d, port, static, currentUser(), randHex(32), "it-"+randHex(40))
}

func (s *Server) env() []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + filepath.Join(s.Dir, "home"),
		"GITEA_WORK_DIR=" + s.Dir,
		"GITEA_CUSTOM=" + filepath.Join(s.Dir, "custom"),
		"GIT_CONFIG_NOSYSTEM=1",
		"USER=" + currentUser(),
	}
}

// run runs a gitea CLI command against the configuration.
func (s *Server) run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, s.bin, append(args, "--config", s.ini)...)
	cmd.Dir = s.Dir
	cmd.Env = s.env()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("gitea %s: %w\n%s", strings.Join(args[:min(3, len(args))], " "), err, out.String())
	}
	return out.String(), nil
}

// waitReady polls the API until it answers, the server exits, or two
// minutes pass (a cold start migrates the database first).
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		select {
		case err := <-s.exited:
			return fmt.Errorf("gitea web exited before it was ready: %v", err)
		case <-ctx.Done():
			return fmt.Errorf("gitea web not ready at %s: %w", s.URL, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
		var v struct {
			Version string `json:"version"`
		}
		if st, err := s.API(ctx, http.MethodGet, "/version", nil, &v); err == nil && st == http.StatusOK {
			s.Version = v.Version
			return nil
		}
	}
}

// API calls Gitea's API as the admin (path after /api/v1), decoding the
// JSON answer into out when it is not nil.
func (s *Server) API(ctx context.Context, method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.URL+"/api/v1"+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "token "+s.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, strings.TrimSpace(string(data)))
	}
	if out != nil {
		if s, ok := out.(*string); ok {
			*s = string(data)
			return resp.StatusCode, nil
		}
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// CreateRepo makes an empty repository owned by the admin and returns its
// clone URL.
func (s *Server) CreateRepo(ctx context.Context, name string) (string, error) {
	var r struct {
		CloneURL string `json:"clone_url"`
	}
	if _, err := s.API(ctx, http.MethodPost, "/user/repos", map[string]any{"name": name, "default_branch": "main", "private": false}, &r); err != nil {
		return "", err
	}
	return r.CloneURL, nil
}

// CreateUser makes a plain user (a reviewer) through the admin API.
func (s *Server) CreateUser(ctx context.Context, name string) error {
	_, err := s.API(ctx, http.MethodPost, "/admin/users", map[string]any{
		"username": name, "email": name + "@example.com", "password": "pw-" + randHex(12), "must_change_password": false,
	}, nil)
	return err
}

// GrantWrite makes user a collaborator with write access on the admin's
// repository, so that review requests to them are allowed.
func (s *Server) GrantWrite(ctx context.Context, repo, user string) error {
	_, err := s.API(ctx, http.MethodPut, "/repos/"+s.Admin+"/"+repo+"/collaborators/"+user, map[string]any{"permission": "write"}, nil)
	return err
}

// CredentialFile writes a git-credential-store file holding the admin's
// password for the server and returns its path, for
// `git -c credential.helper='store --file=PATH'`: no password in a URL,
// so none in any output.
func (s *Server) CredentialFile(dir string) (string, error) {
	u := strings.Replace(s.URL, "http://", "http://"+s.Admin+":"+s.Password+"@", 1)
	p := filepath.Join(dir, "gitea-credentials")
	return p, os.WriteFile(p, []byte(u+"\n"), 0o600)
}

// LogTail is the end of the server's log, for failure messages.
func (s *Server) LogTail() string {
	var b strings.Builder
	for _, p := range []string{filepath.Join(s.Dir, "gitea-web.log"), filepath.Join(s.Dir, "log", "gitea.log")} {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if len(data) > 4000 {
			data = data[len(data)-4000:]
		}
		fmt.Fprintf(&b, "--- %s\n%s\n", p, data)
	}
	return b.String()
}

// Stop ends the server (its whole process group) and waits for it.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
	s.cmd = nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)[:n]
}

func currentUser() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	if os.Geteuid() == 0 {
		return "root"
	}
	return strconv.Itoa(os.Geteuid())
}
