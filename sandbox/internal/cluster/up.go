package cluster

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/kubectl-gitops/kubectl-gitops/sandbox/internal/pki"
)

// UpOptions configures Up.
type UpOptions struct {
	Bins Binaries
	Out  io.Writer
	// Timeout bounds the wait for each component to become ready.
	Timeout time.Duration
}

// component is one started part and how to tell it is ready.
type component struct {
	p     *proc
	ready func(ctx context.Context) error
}

// Healthy reports whether a sandbox is running in s and every part of it answers.
func (s *State) Healthy(ctx context.Context) error {
	if !s.exists() {
		return fmt.Errorf("no sandbox in %s", s.Dir)
	}
	i, err := s.readInfo()
	if err != nil {
		return fmt.Errorf("the sandbox in %s was not fully started (no state.json): %w", s.Dir, err)
	}
	pids, _ := s.readPidFiles()
	running := map[string]bool{}
	for _, p := range pids {
		if s.alive(p.PID) {
			running[p.Name] = true
		}
	}
	for _, c := range i.Components {
		if !running[c] {
			return fmt.Errorf("%s is not running", c)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for _, c := range i.Components {
		if u := i.Health[c]; u != "" {
			if err := s.probe(ctx, i, u); err != nil {
				return fmt.Errorf("%s is not healthy: %w", c, err)
			}
		}
	}
	return nil
}

func (s *State) client(i info) *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(i.CACert))
	return &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			// The API server is checked against the sandbox CA. controller-manager and scheduler serve a
			// self-signed certificate of their own on /healthz, which is not worth pinning.
			TLSClientConfig: &tls.Config{RootCAs: pool, InsecureSkipVerify: false},
		},
	}
}

// probe GETs u; for the API server it sends the admin token.
func (s *State) probe(ctx context.Context, i info, u string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	c := s.client(i)
	if strings.HasPrefix(u, i.APIServer) {
		req.Header.Set("Authorization", "Bearer "+i.Token)
	} else if strings.HasPrefix(u, "https:") {
		c.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", u, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// Up starts a sandbox in s. If one is already running and healthy it only prints the exports; if a broken
// or stopped one is found (stale pid files after a crash or a reboot), it is cleaned away first.
func (s *State) Up(ctx context.Context, o UpOptions) (err error) {
	unlock, err := s.lock(ctx, o.Out)
	if err != nil {
		return err
	}
	defer unlock()
	if s.exists() {
		if herr := s.Healthy(ctx); herr == nil {
			fmt.Fprintf(o.Out, "sandbox already running in %s\n", s.Dir)
			return s.PrintEnv(o.Out)
		} else {
			fmt.Fprintf(o.Out, "found a stopped or broken sandbox in %s (%v); cleaning it up\n", s.Dir, herr)
		}
		if err := s.down(ctx, io.Discard); err != nil {
			return err
		}
	} else if entries, err := os.ReadDir(s.Dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s exists, is not empty, and was not made by the sandbox; remove it or set GITOPS_SANDBOX_DIR to another directory", s.Dir)
	}
	// source-controller refuses a --storage-path that does not exist yet.
	for _, d := range []string{"run", "logs", "work", "data/source-controller", "bin", "git"} {
		if err := os.MkdirAll(s.path(d), 0o755); err != nil {
			return fmt.Errorf("creating the state directory: %w", err)
		}
	}
	if err := os.WriteFile(s.path(marker), []byte("state of a kubectl-gitops sandbox; `sandbox down` removes this directory\n"), 0o644); err != nil {
		return err
	}
	// Whatever fails from here on, nothing may be left running.
	defer func() {
		if err != nil {
			fmt.Fprintf(o.Out, "sandbox up failed; stopping what was started (logs were in %s)\n", s.path("logs"))
			s.saveLogs(o.Out)
			if derr := s.down(context.Background(), io.Discard); derr != nil {
				err = errors.Join(err, derr)
			}
		}
	}()
	started := time.Now()
	step := func(what string) {
		fmt.Fprintf(o.Out, "[%5.1fs] %s\n", time.Since(started).Seconds(), what)
	}
	timeout := o.Timeout
	if timeout == 0 {
		timeout = 3 * time.Minute
	}

	certs, err := pki.Write(s.path("pki"))
	if err != nil {
		return err
	}
	caPEM, err := os.ReadFile(certs.CACert)
	if err != nil {
		return err
	}
	var pp ports
	port := func() int {
		if err != nil {
			return 0
		}
		var n int
		n, err = pp.next()
		return n
	}
	etcdClient, etcdPeer, apiPort, cmPort, schedPort, gitPort := port(), port(), port(), port(), port(), port()
	scStorage, scMetrics, scHealth, kcMetrics, kcHealth, hcMetrics, hcHealth, kwokPort := port(), port(), port(), port(), port(), port(), port(), port()
	if err != nil {
		return err
	}
	i := info{
		APIServer: fmt.Sprintf("https://127.0.0.1:%d", apiPort),
		Token:     certs.Token,
		CACert:    string(caPEM),
		GitURL:    fmt.Sprintf("http://127.0.0.1:%d", gitPort),
		Health:    map[string]string{},
	}
	kubeconfig := s.Kubeconfig()
	if err := os.WriteFile(kubeconfig, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: kubectl-gitops-sandbox
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: admin
  user:
    token: %s
contexts:
- name: kubectl-gitops-sandbox
  context:
    cluster: kubectl-gitops-sandbox
    user: admin
current-context: kubectl-gitops-sandbox
`, i.APIServer, base64.StdEncoding.EncodeToString(caPEM), certs.Token)), 0o600); err != nil {
		return err
	}
	fluxEnv := []string{"KUBECONFIG=" + kubeconfig, "RUNTIME_NAMESPACE=flux-system"}

	run := func(name, exe string, args, env []string, health string) (*component, error) {
		p, err := s.start(name, exe, args, env)
		if err != nil {
			return nil, err
		}
		i.Components = append(i.Components, name)
		i.Health[name] = health
		return &component{p: p, ready: func(ctx context.Context) error {
			if health == "" {
				return nil
			}
			return s.probe(ctx, i, health)
		}}, nil
	}
	wait := func(c *component, extra func(context.Context) error) error {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		tick := time.NewTicker(150 * time.Millisecond)
		defer tick.Stop()
		var last error
		for {
			last = c.ready(ctx)
			if last == nil && extra != nil {
				last = extra(ctx)
			}
			if last == nil {
				return nil
			}
			select {
			case <-c.p.exited:
				return fmt.Errorf("%s exited during start-up (%v); last lines of %s:\n%s", c.p.Name, c.p.err, c.p.log, logTail(c.p.log, 25))
			case <-ctx.Done():
				return fmt.Errorf("%s not ready after %s: %v; last lines of %s:\n%s", c.p.Name, timeout, last, c.p.log, logTail(c.p.log, 25))
			case <-tick.C:
			}
		}
	}

	// etcd, then the API server: everything else needs both.
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", etcdClient)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", etcdPeer)
	etcd, err := run("etcd", o.Bins.Etcd, []string{
		"--name=sandbox", "--data-dir=" + s.path("data", "etcd"),
		"--listen-client-urls=" + etcdURL, "--advertise-client-urls=" + etcdURL,
		"--listen-peer-urls=" + peerURL, "--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=sandbox=" + peerURL,
		// A throwaway cluster: durability is not worth the fsync latency.
		"--unsafe-no-fsync", "--log-level=warn",
	}, nil, etcdURL+"/health")
	if err != nil {
		return err
	}
	if err := wait(etcd, nil); err != nil {
		return err
	}
	step("etcd ready")
	api, err := run("kube-apiserver", o.Bins.APIServer, []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", apiPort),
		"--tls-cert-file=" + certs.ServingCert, "--tls-private-key-file=" + certs.ServingKey,
		"--cert-dir=" + s.path("work", "kube-apiserver"),
		"--token-auth-file=" + certs.TokenFile,
		"--authorization-mode=RBAC",
		"--service-account-key-file=" + certs.SAPublicKey,
		"--service-account-signing-key-file=" + certs.SAPrivateKey,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=10.0.0.0/24",
		// No token controller runs, so pods must not wait for service-account tokens.
		"--disable-admission-plugins=ServiceAccount",
		"--allow-privileged=true",
		"--profiling=false",
	}, nil, i.APIServer+"/readyz")
	if err != nil {
		return err
	}
	if err := wait(api, nil); err != nil {
		return err
	}
	step("kube-apiserver ready at " + i.APIServer)

	// Namespaces and CRDs before any controller starts, so none of them logs "no matches for kind".
	if err := kubectl(ctx, kubeconfig, "create", "namespace", "flux-system"); err != nil {
		return err
	}
	applyArgs := []string{"apply", "--server-side", "--force-conflicts"}
	for _, f := range o.Bins.CRDs {
		applyArgs = append(applyArgs, "-f", f)
	}
	if err := kubectl(ctx, kubeconfig, applyArgs...); err != nil {
		return err
	}
	if err := kubectl(ctx, kubeconfig, "wait", "--for=condition=Established", "--timeout=60s", "crd", "--all"); err != nil {
		return err
	}
	step(fmt.Sprintf("%d Flux CRDs established", len(o.Bins.CRDs)))

	cfgFlags := []string{"--kubeconfig=" + kubeconfig, "--authentication-kubeconfig=" + kubeconfig, "--authorization-kubeconfig=" + kubeconfig}
	// The controller-manager's client is limited to 20 requests/s by default (the scheduler's to 50), which
	// protects a shared API server but makes filling this one-user cluster with thousands of pods (the
	// trace benchmark: 10,000) take ten minutes. kwokctl lifts the limits the same way.
	noQPSLimit := []string{"--kube-api-qps=5000", "--kube-api-burst=10000"}
	var rest []*component
	add := func(c *component, err error) error {
		if err != nil {
			return err
		}
		rest = append(rest, c)
		return nil
	}
	if err := add(run("kube-controller-manager", o.Bins.ControllerManager, append(append(cfgFlags,
		"--leader-elect=false", "--controllers=*,-serviceaccount-token",
		"--service-account-private-key-file="+certs.SAPrivateKey, "--root-ca-file="+certs.CACert,
		"--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", cmPort),
		"--concurrent-deployment-syncs=10", "--concurrent-replicaset-syncs=10",
	), noQPSLimit...), nil, fmt.Sprintf("https://127.0.0.1:%d/healthz", cmPort))); err != nil {
		return err
	}
	if err := add(run("kube-scheduler", o.Bins.Scheduler, append(append(cfgFlags,
		"--leader-elect=false", "--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", schedPort),
	), noQPSLimit...), nil, fmt.Sprintf("https://127.0.0.1:%d/healthz", schedPort))); err != nil {
		return err
	}
	if err := add(run("kwok", o.Bins.Kwok, []string{
		"--kubeconfig=" + kubeconfig, "--manage-all-nodes=true", "--config=" + o.Bins.KwokStages,
		"--node-lease-duration-seconds=40",
		"--server-address=" + addr(kwokPort),
	}, nil, fmt.Sprintf("http://127.0.0.1:%d/healthz", kwokPort))); err != nil {
		return err
	}
	self, err := s.copySelf()
	if err != nil {
		return err
	}
	if err := add(run("git-server", self, []string{"git-serve", "--addr=" + addr(gitPort), "--root=" + s.GitRoot()},
		nil, i.GitURL+"/healthz")); err != nil {
		return err
	}
	if err := add(run("source-controller", o.Bins.SourceController, []string{
		"--storage-path=" + s.path("data", "source-controller"),
		"--storage-addr=" + addr(scStorage), "--storage-adv-addr=" + addr(scStorage),
		"--metrics-addr=" + addr(scMetrics), "--health-addr=" + addr(scHealth),
		"--enable-leader-election=false", "--watch-all-namespaces=true", "--events-addr=",
	}, fluxEnv, fmt.Sprintf("http://127.0.0.1:%d/readyz", scHealth))); err != nil {
		return err
	}
	if err := add(run("kustomize-controller", o.Bins.KustomizeController, []string{
		"--metrics-addr=" + addr(kcMetrics), "--health-addr=" + addr(kcHealth),
		"--enable-leader-election=false", "--watch-all-namespaces=true", "--events-addr=",
	}, fluxEnv, fmt.Sprintf("http://127.0.0.1:%d/readyz", kcHealth))); err != nil {
		return err
	}
	if o.Bins.HelmController != "" {
		// The flags and environment of a real helm-controller, so GITOPS_SANDBOX_HELM_CONTROLLER can name one.
		if err := add(run("helm-controller", o.Bins.HelmController, []string{
			"--watch-all-namespaces=true",
			"--metrics-addr=" + addr(hcMetrics), "--health-addr=" + addr(hcHealth),
			"--enable-leader-election=false", "--events-addr=",
		}, fluxEnv, fmt.Sprintf("http://127.0.0.1:%d/readyz", hcHealth))); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(o.Out, "WARNING: no HelmRelease reconciler: sandbox/helm-controller is missing and GITOPS_SANDBOX_HELM_CONTROLLER is unset; HelmReleases will not be reconciled")
	}
	if err := kubectlApply(ctx, kubeconfig, nodeManifest); err != nil {
		return err
	}
	for _, c := range rest {
		var extra func(context.Context) error
		if c.p.Name == "kwok" {
			extra = func(ctx context.Context) error { return nodeReady(ctx, kubeconfig) }
		}
		if err := wait(c, extra); err != nil {
			return err
		}
		step(c.p.Name + " ready")
	}
	if err := s.writeInfo(i); err != nil {
		return err
	}
	env := fmt.Sprintf("export KUBECONFIG=%s\nexport GITOPS_SANDBOX_GIT_URL=%s\nexport GITOPS_SANDBOX_GIT_ROOT=%s\n", kubeconfig, i.GitURL, s.GitRoot())
	if err := os.WriteFile(s.EnvFile(), []byte(env), 0o644); err != nil {
		return err
	}
	step("sandbox ready")
	return s.PrintEnv(o.Out)
}

// nodeManifest is the fake node kwok manages. It has no taint so ordinary charts schedule onto it.
const nodeManifest = `apiVersion: v1
kind: Node
metadata:
  name: kwok-node-0
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/arch: amd64
    kubernetes.io/hostname: kwok-node-0
    kubernetes.io/os: linux
    kubernetes.io/role: agent
    type: kwok
status:
  allocatable:
    cpu: "32"
    memory: 256Gi
    pods: "110"
  capacity:
    cpu: "32"
    memory: 256Gi
    pods: "110"
`

func kubectl(ctx context.Context, kubeconfig string, args ...string) error {
	_, err := kubectlOut(ctx, kubeconfig, nil, args...)
	return err
}

func kubectlApply(ctx context.Context, kubeconfig, manifest string) error {
	_, err := kubectlOut(ctx, kubeconfig, strings.NewReader(manifest), "apply", "-f", "-")
	return err
}

func kubectlOut(ctx context.Context, kubeconfig string, stdin io.Reader, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "kubectl", args...)
	cmd.Env = mergeEnv(os.Environ(), []string{"KUBECONFIG=" + kubeconfig})
	cmd.Stdin = stdin
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

func nodeReady(ctx context.Context, kubeconfig string) error {
	out, err := kubectlOut(ctx, kubeconfig, nil, "get", "node", "kwok-node-0", "-o", "json")
	if err != nil {
		return err
	}
	var n struct {
		Status struct {
			Conditions []struct{ Type, Status string }
		}
	}
	if err := json.Unmarshal(out, &n); err != nil {
		return err
	}
	for _, c := range n.Status.Conditions {
		if c.Type == "Ready" && c.Status == "True" {
			return nil
		}
	}
	return fmt.Errorf("node kwok-node-0 is not Ready yet")
}

// copySelf copies the running sandbox binary into the state directory: the Git server runs from there,
// because `go run` deletes its binary when it returns.
func (s *State) copySelf() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("finding the sandbox binary: %w", err)
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		return "", fmt.Errorf("reading the sandbox binary: %w", err)
	}
	dst := s.path("bin", "sandbox")
	if err := os.WriteFile(dst, data, 0o755); err != nil {
		return "", fmt.Errorf("copying the sandbox binary: %w", err)
	}
	return dst, nil
}

// saveLogs copies the logs of a failed start next to the state directory, since Down removes it.
func (s *State) saveLogs(out io.Writer) {
	dst := s.Dir + "-failed-logs"
	os.RemoveAll(dst)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return
	}
	files, _ := filepath.Glob(s.path("logs", "*.log"))
	if copyFiles(dst, files...) == nil {
		fmt.Fprintf(out, "logs of the failed start saved in %s\n", dst)
	}
}

// PrintEnv prints the env file.
func (s *State) PrintEnv(out io.Writer) error {
	data, err := os.ReadFile(s.EnvFile())
	if err != nil {
		return fmt.Errorf("no running sandbox in %s (run `make sandbox-up`): %w", s.Dir, err)
	}
	_, err = out.Write(data)
	return err
}
