// Package e2eutil is what the end-to-end tests share: the running sandbox cluster (see docs/sandbox.md),
// the kubectl-gitops binary built once per run, a namespace per test, Git repositories on the sandbox's
// Git server, applying manifests, waiting on watches, and a dump of the cluster when a test fails.
//
// Every end-to-end test starts with
//
//	e := e2eutil.Setup(t)
//	ns := e.Namespace(t)
//
// and the package has a TestMain calling e2eutil.Main(m). Tests fail (never skip) when no sandbox runs.
package e2eutil

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
)

// Env is the running sandbox and clients for it.
type Env struct {
	// Kubeconfig, GitURL and GitRoot are $KUBECONFIG, $GITOPS_SANDBOX_GIT_URL and $GITOPS_SANDBOX_GIT_ROOT.
	Kubeconfig, GitURL, GitRoot string
	// StateDir is the sandbox's state directory (component logs are in StateDir/logs).
	StateDir string
	// Root is the root of the kubectl-gitops checkout (examples/ is under it).
	Root string
	// Context is the kube context of this cluster in Kubeconfig; "" is the current context.
	Context string
	// Contexts are the clusters of a multi-cluster sandbox ($GITOPS_SANDBOX_CONTEXTS), nil for one.
	Contexts []string

	Config  *rest.Config
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface
}

var (
	setupOnce sync.Once
	setupEnv  *Env
	setupErr  error
)

// Main runs the tests and removes what the run built. Use it from TestMain:
//
//	func TestMain(m *testing.M) { e2eutil.Main(m) }
func Main(m *testing.M) {
	code := binarytest.Main(m)
	stopFleet()
	os.Exit(code)
}

// Setup returns the sandbox environment, failing the test when no sandbox is running. It reads
// KUBECONFIG, GITOPS_SANDBOX_GIT_URL and GITOPS_SANDBOX_GIT_ROOT from the environment, or else the env file
// of the sandbox in ${GITOPS_SANDBOX_DIR:-/tmp/kubectl-gitops-sandbox}, so `go test -tags e2e` works right
// after `make sandbox-up` without an eval.
func Setup(t testing.TB) *Env {
	t.Helper()
	setupOnce.Do(func() { setupEnv, setupErr = load() })
	if setupErr != nil {
		t.Fatalf("no sandbox cluster: %v\nstart one with `make sandbox-up` (and `eval \"$(make -s sandbox-env)\"`)", setupErr)
	}
	return setupEnv
}

func load() (*Env, error) {
	vars := map[string]string{}
	for _, k := range []string{"KUBECONFIG", "GITOPS_SANDBOX_GIT_URL", "GITOPS_SANDBOX_GIT_ROOT"} {
		vars[k] = os.Getenv(k)
	}
	if vars["GITOPS_SANDBOX_GIT_URL"] == "" {
		// Not exported: fall back to the env file of the sandbox (the whole file, so KUBECONFIG of the
		// caller's own cluster never mixes with the sandbox's Git server).
		dir := os.Getenv("GITOPS_SANDBOX_DIR")
		if dir == "" {
			dir = "/tmp/kubectl-gitops-sandbox"
		}
		f, err := os.Open(filepath.Join(dir, "env"))
		if err != nil {
			return nil, fmt.Errorf("GITOPS_SANDBOX_GIT_URL is not set and %w", err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "=")
			if ok {
				vars[k] = v
			}
		}
	}
	for k, v := range vars {
		if v == "" {
			return nil, fmt.Errorf("%s is not set", k)
		}
	}
	contexts := os.Getenv("GITOPS_SANDBOX_CONTEXTS")
	if contexts == "" {
		contexts = vars["GITOPS_SANDBOX_CONTEXTS"] // from the env file
	}
	e := &Env{
		Kubeconfig: vars["KUBECONFIG"],
		GitURL:     strings.TrimRight(vars["GITOPS_SANDBOX_GIT_URL"], "/"),
		GitRoot:    vars["GITOPS_SANDBOX_GIT_ROOT"],
		StateDir:   filepath.Dir(vars["KUBECONFIG"]),
	}
	if contexts != "" {
		e.Contexts = strings.Split(contexts, ",")
	}
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	e.Root = root
	if err := e.connect(); err != nil {
		return nil, err
	}
	return e, nil
}

// connect builds the clients of e's context and checks the API server answers.
func (e *Env) connect() error {
	var err error
	e.Config, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: e.Kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: e.Context}).ClientConfig()
	if err != nil {
		return fmt.Errorf("loading %s (context %q): %w", e.Kubeconfig, e.Context, err)
	}
	e.Config.QPS, e.Config.Burst = 50, 100
	if e.Kube, err = kubernetes.NewForConfig(e.Config); err != nil {
		return err
	}
	if e.Dynamic, err = dynamic.NewForConfig(e.Config); err != nil {
		return err
	}
	if _, err := e.Kube.Discovery().ServerVersion(); err != nil {
		return fmt.Errorf("the sandbox API server in %s (context %q) does not answer: %w", e.Kubeconfig, e.Context, err)
	}
	return nil
}

// repoRoot walks up from the working directory to the main module's go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(data, []byte("module github.com/kubectl-gitops/kubectl-gitops\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("not inside the kubectl-gitops checkout")
		}
		dir = parent
	}
}

// Binary returns the path of a kubectl-gitops binary built from this checkout, once per test run.
func (e *Env) Binary(t testing.TB) string {
	t.Helper()
	return binarytest.Build(t)
}

// Result is what a run of the binary printed and how it exited.
type Result struct {
	Stdout, Stderr string
	ExitCode       int
}

// Run runs the kubectl-gitops binary in dir with a cleared environment, as a user would: only PATH, HOME
// (a fresh one per test), KUBECONFIG pointing at the sandbox, and a fixed Git identity. A non-zero exit is
// not a test failure; check Result.ExitCode.
func (e *Env) Run(t testing.TB, ctx context.Context, dir string, args ...string) Result {
	t.Helper()
	cmd := exec.CommandContext(ctx, e.Binary(t), args...)
	cmd.Dir = dir
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"KUBECONFIG=" + e.Kubeconfig,
	}, gitIdentity...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("running kubectl-gitops %s: %v", strings.Join(args, " "), err)
		}
		r.ExitCode = ee.ExitCode()
	}
	t.Logf("kubectl-gitops %s -> exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.ExitCode, r.Stdout, r.Stderr)
	return r
}

// gitIdentity makes commits work without a user's ~/.gitconfig.
var gitIdentity = []string{
	"GIT_AUTHOR_NAME=e2e", "GIT_AUTHOR_EMAIL=e2e@example.com",
	"GIT_COMMITTER_NAME=e2e", "GIT_COMMITTER_EMAIL=e2e@example.com",
	"GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1",
}
