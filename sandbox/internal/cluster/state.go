// Package cluster starts, checks and stops the sandbox cluster: etcd, the Kubernetes control plane, kwok,
// the Flux controllers, a HelmRelease reconciler and a smart-HTTP Git server, all on loopback.
package cluster

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
)

// marker is the file that says a directory is a sandbox state directory, so `down` never removes a
// directory it did not create.
const marker = ".kubectl-gitops-sandbox"

// State is the run-state directory ${GITOPS_SANDBOX_DIR:-/tmp/kubectl-gitops-sandbox}.
type State struct {
	Dir string
}

// DefaultStateDir honours GITOPS_SANDBOX_DIR.
func DefaultStateDir() string {
	if d := os.Getenv("GITOPS_SANDBOX_DIR"); d != "" {
		if abs, err := filepath.Abs(d); err == nil {
			return abs
		}
		return d
	}
	return "/tmp/kubectl-gitops-sandbox"
}

func (s *State) path(parts ...string) string {
	return filepath.Join(append([]string{s.Dir}, parts...)...)
}

// EnvFile is the file `sandbox env` prints.
func (s *State) EnvFile() string { return s.path("env") }

// Kubeconfig is the admin kubeconfig of the sandbox.
func (s *State) Kubeconfig() string { return s.path("kubeconfig") }

// GitRoot holds the bare repositories the Git server serves.
func (s *State) GitRoot() string { return s.path("git") }

func (s *State) exists() bool {
	_, err := os.Stat(s.path(marker))
	return err == nil
}

// info is what `up` records of a running sandbox, for `status` and a second `up`.
type info struct {
	// APIServer, Token and CACert are the first cluster's (what a one-cluster sandbox always recorded).
	APIServer  string            `json:"apiServer"`
	Token      string            `json:"token"`
	CACert     string            `json:"caCert"`
	GitURL     string            `json:"gitURL"`
	Health     map[string]string `json:"health"` // component -> health URL
	Components []string          `json:"components"`
	// Clusters are the API servers, in the order they were named; missing in state written before the
	// sandbox ran several clusters.
	Clusters []clusterInfo `json:"clusters,omitempty"`
}

// clusterInfo is one API server of the sandbox.
type clusterInfo struct {
	// Name is "" in a one-cluster sandbox.
	Name      string `json:"name"`
	Context   string `json:"context"`
	APIServer string `json:"apiServer"`
	Token     string `json:"token"`
	CACert    string `json:"caCert"`
}

// clusters returns the recorded clusters, also for state written by an older sandbox.
func (i info) clusters() []clusterInfo {
	if len(i.Clusters) > 0 {
		return i.Clusters
	}
	return []clusterInfo{{Context: DefaultContext, APIServer: i.APIServer, Token: i.Token, CACert: i.CACert}}
}

// names are the cluster names, nil for a one-cluster sandbox.
func (i info) names() []string {
	var out []string
	for _, c := range i.clusters() {
		if c.Name != "" {
			out = append(out, c.Name)
		}
	}
	return out
}

func (s *State) writeInfo(i info) error {
	data, err := json.MarshalIndent(i, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(s.path("state.json"), data, 0o600)
}

func (s *State) readInfo() (info, error) {
	var i info
	data, err := os.ReadFile(s.path("state.json"))
	if err != nil {
		return i, err
	}
	return i, json.Unmarshal(data, &i)
}

// freePort asks the kernel for an unused loopback port. Another process can take it before the component
// binds it; the component then fails to start, `up` reports it, and the next `up` picks new ports.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free loopback port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// ports hands out distinct free ports.
type ports struct{ seen map[int]bool }

func (p *ports) next() (int, error) {
	if p.seen == nil {
		p.seen = map[int]bool{}
	}
	for range 20 {
		n, err := freePort()
		if err != nil {
			return 0, err
		}
		if !p.seen[n] {
			p.seen[n] = true
			return n, nil
		}
	}
	return 0, fmt.Errorf("the kernel keeps handing out the same port")
}

func addr(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }
