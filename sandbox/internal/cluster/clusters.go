package cluster

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// DefaultContext is the kube context (and cluster) name of a one-cluster sandbox, as it always was.
const DefaultContext = "kubectl-gitops-sandbox"

var clusterName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,28}[a-z0-9])?$`)

// ParseClusters reads the cluster names of SANDBOX_CLUSTERS ("staging production", commas or blanks).
// None means the one-cluster sandbox of old: context kubectl-gitops-sandbox, no per-cluster directories.
func ParseClusters(s string) ([]string, error) {
	names := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
	seen := map[string]bool{}
	for _, n := range names {
		if !clusterName.MatchString(n) {
			return nil, fmt.Errorf("cluster name %q: use 1 to 30 lower-case letters, digits and '-' (it becomes a kube context and a directory name)", n)
		}
		if seen[n] {
			return nil, fmt.Errorf("cluster %q is named twice in %q", n, s)
		}
		seen[n] = true
	}
	if len(names) == 0 {
		return nil, nil
	}
	return names, nil
}

// clusterSpec is one API server with its own controllers, as laid out in the state directory.
type clusterSpec struct {
	// name is "" for the one-cluster sandbox; otherwise it prefixes component names ("staging/kwok") and
	// the per-cluster directories (logs/staging/, data/staging/, pki/staging/).
	name string
}

func specsFor(names []string) []clusterSpec {
	if len(names) == 0 {
		return []clusterSpec{{}}
	}
	out := make([]clusterSpec, len(names))
	for i, n := range names {
		out[i] = clusterSpec{name: n}
	}
	return out
}

// context is the kube context of the cluster in the sandbox kubeconfig.
func (c clusterSpec) context() string {
	if c.name == "" {
		return DefaultContext
	}
	return c.name
}

// component names a process of this cluster.
func (c clusterSpec) component(n string) string {
	if c.name == "" {
		return n
	}
	return c.name + "/" + n
}

// dir is a per-cluster directory of kind ("data", "pki") under the state directory.
func (s *State) clusterDir(c clusterSpec, kind string) string {
	if c.name == "" {
		return s.path(kind)
	}
	return s.path(kind, c.name)
}

// clusterKubeconfig is the one-context kubeconfig the cluster's own components use (through KUBECONFIG,
// which follows the current context). In the one-cluster sandbox it is the sandbox kubeconfig itself.
func (s *State) clusterKubeconfig(c clusterSpec) string {
	if c.name == "" {
		return s.Kubeconfig()
	}
	return s.path("clusters", c.name, "kubeconfig")
}

// kubeAccess is what a kubeconfig needs of one cluster.
type kubeAccess struct {
	context, server, token string
	ca                     []byte
}

// kubeconfigYAML writes one cluster, user and context per entry; the first is the current context.
func kubeconfigYAML(entries []kubeAccess) string {
	var clusters, users, contexts strings.Builder
	for _, e := range entries {
		user := "admin"
		if len(entries) > 1 {
			user = "admin@" + e.context
		}
		fmt.Fprintf(&clusters, "- name: %s\n  cluster:\n    server: %s\n    certificate-authority-data: %s\n", e.context, e.server, base64.StdEncoding.EncodeToString(e.ca))
		fmt.Fprintf(&users, "- name: %s\n  user:\n    token: %s\n", user, e.token)
		fmt.Fprintf(&contexts, "- name: %s\n  context:\n    cluster: %s\n    user: %s\n", e.context, e.context, user)
	}
	return "apiVersion: v1\nkind: Config\nclusters:\n" + clusters.String() + "users:\n" + users.String() +
		"contexts:\n" + contexts.String() + "current-context: " + entries[0].context + "\n"
}

func writeKubeconfig(path string, entries ...kubeAccess) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(kubeconfigYAML(entries)), 0o600)
}

// clusterOf returns the cluster a component belongs to ("" for the shared etcd and Git server, and for
// every component of a one-cluster sandbox).
func clusterOf(component string) string {
	c, _, ok := strings.Cut(component, "/")
	if !ok {
		return ""
	}
	return c
}
