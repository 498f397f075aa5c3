package cluster

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/kubectl-gitops/kubectl-gitops/sandbox/internal/pki"
)

// UpOptions configures Up.
type UpOptions struct {
	Bins Binaries
	// Clusters names the clusters to run (from SANDBOX_CLUSTERS); none runs the one-cluster sandbox whose
	// context is kubectl-gitops-sandbox.
	Clusters []string
	Out      io.Writer
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
	for _, c := range i.clusters() {
		pool.AppendCertsFromPEM([]byte(c.CACert))
	}
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
	api := false
	for _, cl := range i.clusters() {
		if strings.HasPrefix(u, cl.APIServer+"/") {
			req.Header.Set("Authorization", "Bearer "+cl.Token)
			api = true
		}
	}
	if !api && strings.HasPrefix(u, "https:") {
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
			if ri, rerr := s.readInfo(); rerr == nil && !sameNames(ri.names(), o.Clusters) {
				return fmt.Errorf("the sandbox in %s runs clusters %s, not %s; run `make sandbox-down` first, or set GITOPS_SANDBOX_DIR to another directory",
					s.Dir, describeNames(ri.names()), describeNames(o.Clusters))
			}
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
	specs := specsFor(o.Clusters)
	var dirs []string
	for _, d := range []string{"run", "logs", "work", "bin", "git"} {
		dirs = append(dirs, s.path(d))
	}
	for _, c := range specs {
		// source-controller refuses a --storage-path that does not exist yet.
		dirs = append(dirs, filepath.Join(s.clusterDir(c, "data"), "source-controller"))
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
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
	u := &upRun{s: s, o: o, started: time.Now(), timeout: o.Timeout}
	if u.timeout == 0 {
		u.timeout = 3 * time.Minute
	}
	u.i.Health = map[string]string{}

	// Keys, certificates and ports of every cluster first: the kubeconfig names them all.
	var pp ports
	var access []kubeAccess
	var clusters []*clusterRun
	for _, c := range specs {
		cr := &clusterRun{spec: c}
		if cr.certs, err = pki.Write(s.clusterDir(c, "pki")); err != nil {
			return err
		}
		if cr.ca, err = os.ReadFile(cr.certs.CACert); err != nil {
			return err
		}
		for _, p := range []*int{&cr.api, &cr.cm, &cr.sched, &cr.scStorage, &cr.scMetrics, &cr.scHealth, &cr.kcMetrics, &cr.kcHealth, &cr.hcMetrics, &cr.hcHealth, &cr.kwok} {
			if *p, err = pp.next(); err != nil {
				return err
			}
		}
		cr.kubeconfig = s.clusterKubeconfig(c)
		a := kubeAccess{context: c.context(), server: fmt.Sprintf("https://127.0.0.1:%d", cr.api), token: cr.certs.Token, ca: cr.ca}
		access = append(access, a)
		if c.name != "" {
			if err := writeKubeconfig(cr.kubeconfig, a); err != nil {
				return err
			}
		}
		u.i.Clusters = append(u.i.Clusters, clusterInfo{Name: c.name, Context: a.context, APIServer: a.server, Token: a.token, CACert: string(cr.ca)})
		clusters = append(clusters, cr)
	}
	u.i.APIServer, u.i.Token, u.i.CACert = u.i.Clusters[0].APIServer, u.i.Clusters[0].Token, u.i.Clusters[0].CACert
	etcdClient, err := pp.next()
	if err != nil {
		return err
	}
	etcdPeer, err := pp.next()
	if err != nil {
		return err
	}
	gitPort, err := pp.next()
	if err != nil {
		return err
	}
	u.i.GitURL = fmt.Sprintf("http://127.0.0.1:%d", gitPort)
	if err := writeKubeconfig(s.Kubeconfig(), access...); err != nil {
		return err
	}

	// etcd first: every API server keeps its objects in it, each under its own --etcd-prefix.
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", etcdClient)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", etcdPeer)
	etcd, err := u.run("etcd", o.Bins.Etcd, []string{
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
	if err := u.wait(ctx, etcd, nil); err != nil {
		return err
	}
	u.step("etcd ready")
	self, err := s.copySelf()
	if err != nil {
		return err
	}
	git, err := u.run("git-server", self, []string{"git-serve", "--addr=" + addr(gitPort), "--root=" + s.GitRoot()}, nil, u.i.GitURL+"/healthz")
	if err != nil {
		return err
	}

	// The clusters start side by side; each waits only for its own parts.
	errs := make([]error, len(clusters))
	var wg sync.WaitGroup
	for n, cr := range clusters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[n] = u.startCluster(ctx, cr, etcdURL)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := u.wait(ctx, git, nil); err != nil {
		return err
	}
	u.step("git-server ready")
	if err := s.writeInfo(u.i); err != nil {
		return err
	}
	env := fmt.Sprintf("export KUBECONFIG=%s\nexport GITOPS_SANDBOX_GIT_URL=%s\nexport GITOPS_SANDBOX_GIT_ROOT=%s\n", s.Kubeconfig(), u.i.GitURL, s.GitRoot())
	if len(o.Clusters) > 0 {
		env += "export GITOPS_SANDBOX_CONTEXTS=" + strings.Join(o.Clusters, ",") + "\n"
	}
	if err := os.WriteFile(s.EnvFile(), []byte(env), 0o644); err != nil {
		return err
	}
	u.step("sandbox ready")
	return s.PrintEnv(o.Out)
}

// upRun is one run of Up: what has been started so far, shared by the clusters starting side by side.
type upRun struct {
	s       *State
	o       UpOptions
	started time.Time
	timeout time.Duration

	mu sync.Mutex
	i  info
}

// clusterRun is one cluster being started: its keys, ports and kubeconfig.
type clusterRun struct {
	spec                                                                                           clusterSpec
	certs                                                                                          pki.Files
	ca                                                                                             []byte
	kubeconfig                                                                                     string
	api, cm, sched, scStorage, scMetrics, scHealth, kcMetrics, kcHealth, hcMetrics, hcHealth, kwok int
}

func (u *upRun) step(what string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	fmt.Fprintf(u.o.Out, "[%5.1fs] %s\n", time.Since(u.started).Seconds(), what)
}

func (u *upRun) run(name, exe string, args, env []string, health string) (*component, error) {
	p, err := u.s.start(name, exe, args, env)
	if err != nil {
		return nil, err
	}
	u.mu.Lock()
	u.i.Components = append(u.i.Components, name)
	u.i.Health[name] = health
	i := u.i // probe reads only the clusters' addresses and keys, all set before anything starts
	u.mu.Unlock()
	return &component{p: p, ready: func(ctx context.Context) error {
		if health == "" {
			return nil
		}
		return u.s.probe(ctx, i, health)
	}}, nil
}

func (u *upRun) wait(ctx context.Context, c *component, extra func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, u.timeout)
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
			return fmt.Errorf("%s not ready after %s: %v; last lines of %s:\n%s", c.p.Name, u.timeout, last, c.p.log, logTail(c.p.log, 25))
		case <-tick.C:
		}
	}
}

// startCluster starts one API server with its CRDs, then its controller-manager, scheduler, kwok and Flux
// controllers, and waits for each.
func (u *upRun) startCluster(ctx context.Context, cr *clusterRun, etcdURL string) error {
	s, o, c := u.s, u.o, cr.spec
	kubeconfig := cr.kubeconfig
	server := fmt.Sprintf("https://127.0.0.1:%d", cr.api)
	label := ""
	if c.name != "" {
		label = c.name + ": "
	}
	apiArgs := []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", cr.api),
		"--tls-cert-file=" + cr.certs.ServingCert, "--tls-private-key-file=" + cr.certs.ServingKey,
		"--cert-dir=" + s.path("work", c.component("kube-apiserver")),
		"--token-auth-file=" + cr.certs.TokenFile,
		// Client certificates signed by the sandbox CA are accepted too (pki/admin.crt, for tests of
		// --client-certificate/--client-key).
		"--client-ca-file=" + cr.certs.CACert,
		"--authorization-mode=RBAC",
		"--service-account-key-file=" + cr.certs.SAPublicKey,
		"--service-account-signing-key-file=" + cr.certs.SAPrivateKey,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-cluster-ip-range=10.0.0.0/24",
		// No token controller runs, so pods must not wait for service-account tokens.
		"--disable-admission-plugins=ServiceAccount",
		"--allow-privileged=true",
		"--profiling=false",
	}
	if c.name != "" {
		// One etcd serves every cluster; each keeps its objects under a prefix of its own.
		apiArgs = append(apiArgs, "--etcd-prefix=/clusters/"+c.name+"/registry")
	}
	api, err := u.run(c.component("kube-apiserver"), o.Bins.APIServer, apiArgs, nil, server+"/readyz")
	if err != nil {
		return err
	}
	if err := u.wait(ctx, api, nil); err != nil {
		return err
	}
	u.step(label + "kube-apiserver ready at " + server)

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
	u.step(fmt.Sprintf("%s%d Flux CRDs established", label, len(o.Bins.CRDs)))

	fluxEnv := []string{"KUBECONFIG=" + kubeconfig, "RUNTIME_NAMESPACE=flux-system"}
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
	if err := add(u.run(c.component("kube-controller-manager"), o.Bins.ControllerManager, append(append(cfgFlags,
		"--leader-elect=false", "--controllers=*,-serviceaccount-token",
		"--service-account-private-key-file="+cr.certs.SAPrivateKey, "--root-ca-file="+cr.certs.CACert,
		"--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", cr.cm),
		"--concurrent-deployment-syncs=10", "--concurrent-replicaset-syncs=10",
	), noQPSLimit...), nil, fmt.Sprintf("https://127.0.0.1:%d/healthz", cr.cm))); err != nil {
		return err
	}
	if err := add(u.run(c.component("kube-scheduler"), o.Bins.Scheduler, append(append(cfgFlags,
		"--leader-elect=false", "--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", cr.sched),
	), noQPSLimit...), nil, fmt.Sprintf("https://127.0.0.1:%d/healthz", cr.sched))); err != nil {
		return err
	}
	if err := add(u.run(c.component("kwok"), o.Bins.Kwok, []string{
		"--kubeconfig=" + kubeconfig, "--manage-all-nodes=true", "--config=" + o.Bins.KwokStages,
		"--node-lease-duration-seconds=40",
		"--server-address=" + addr(cr.kwok),
	}, nil, fmt.Sprintf("http://127.0.0.1:%d/healthz", cr.kwok))); err != nil {
		return err
	}
	if err := add(u.run(c.component("source-controller"), o.Bins.SourceController, []string{
		"--storage-path=" + filepath.Join(s.clusterDir(c, "data"), "source-controller"),
		"--storage-addr=" + addr(cr.scStorage), "--storage-adv-addr=" + addr(cr.scStorage),
		"--metrics-addr=" + addr(cr.scMetrics), "--health-addr=" + addr(cr.scHealth),
		"--enable-leader-election=false", "--watch-all-namespaces=true", "--events-addr=",
	}, fluxEnv, fmt.Sprintf("http://127.0.0.1:%d/readyz", cr.scHealth))); err != nil {
		return err
	}
	if err := add(u.run(c.component("kustomize-controller"), o.Bins.KustomizeController, []string{
		"--metrics-addr=" + addr(cr.kcMetrics), "--health-addr=" + addr(cr.kcHealth),
		"--enable-leader-election=false", "--watch-all-namespaces=true", "--events-addr=",
	}, fluxEnv, fmt.Sprintf("http://127.0.0.1:%d/readyz", cr.kcHealth))); err != nil {
		return err
	}
	if o.Bins.HelmController != "" {
		// The flags and environment of a real helm-controller, so GITOPS_SANDBOX_HELM_CONTROLLER can name one.
		if err := add(u.run(c.component("helm-controller"), o.Bins.HelmController, []string{
			"--watch-all-namespaces=true",
			"--metrics-addr=" + addr(cr.hcMetrics), "--health-addr=" + addr(cr.hcHealth),
			"--enable-leader-election=false", "--events-addr=",
		}, fluxEnv, fmt.Sprintf("http://127.0.0.1:%d/readyz", cr.hcHealth))); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(o.Out, "WARNING: no HelmRelease reconciler: sandbox/helm-controller is missing and GITOPS_SANDBOX_HELM_CONTROLLER is unset; HelmReleases will not be reconciled")
	}
	if err := kubectlApply(ctx, kubeconfig, nodeManifest); err != nil {
		return err
	}
	for _, comp := range rest {
		var extra func(context.Context) error
		if strings.HasSuffix(comp.p.Name, "kwok") {
			extra = func(ctx context.Context) error { return nodeReady(ctx, kubeconfig) }
		}
		if err := u.wait(ctx, comp, extra); err != nil {
			return err
		}
		u.step(comp.p.Name + " ready")
	}
	return nil
}

func sameNames(a, b []string) bool {
	return strings.Join(a, ",") == strings.Join(b, ",")
}

func describeNames(n []string) string {
	if len(n) == 0 {
		return "(one cluster, context " + DefaultContext + ")"
	}
	return "[" + strings.Join(n, " ") + "]"
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
	err := copyFiles(dst, files...)
	// A cluster's logs keep their directory (logs/staging/kwok.log): every cluster has a kwok.log.
	dirs, _ := filepath.Glob(s.path("logs", "*"))
	for _, d := range dirs {
		if fi, serr := os.Stat(d); serr != nil || !fi.IsDir() {
			continue
		}
		sub := filepath.Join(dst, filepath.Base(d))
		nested, _ := filepath.Glob(filepath.Join(d, "*.log"))
		err = errors.Join(err, os.MkdirAll(sub, 0o755), copyFiles(sub, nested...))
	}
	if err == nil {
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
