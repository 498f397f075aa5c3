package e2eutil

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Dump writes what a failed test needs to the test log: the Flux objects and workloads of each namespace
// with their status, the namespace's events, and the last lines of every controller's log.
func (e *Env) Dump(t testing.TB, namespaces ...string) {
	t.Helper()
	var b strings.Builder
	for _, ns := range namespaces {
		b.WriteString("===== namespace " + ns + " =====\n")
		for _, args := range [][]string{
			{"get", "gitrepositories,helmcharts,helmreleases,kustomizations", "-n", ns, "-o", "yaml"},
			{"get", "deployments,replicasets,pods,secrets", "-n", ns, "-o", "wide"},
			{"get", "events", "-n", ns, "--sort-by=.lastTimestamp"},
		} {
			out, err := e.kubectl("", args...)
			b.WriteString("$ kubectl " + strings.Join(args, " ") + "\n" + out)
			if err != nil {
				b.WriteString(err.Error() + "\n")
			}
		}
	}
	logs, _ := filepath.Glob(filepath.Join(e.StateDir, "logs", "*.log"))
	// A multi-cluster sandbox keeps each cluster's logs in logs/<cluster>/; the current context is the
	// first cluster.
	cluster := e.Context
	if cluster == "" && len(e.Contexts) > 0 {
		cluster = e.Contexts[0]
	}
	if cluster != "" {
		more, _ := filepath.Glob(filepath.Join(e.StateDir, "logs", cluster, "*.log"))
		logs = append(logs, more...)
	}
	for _, l := range logs {
		name := strings.TrimSuffix(filepath.Base(l), ".log")
		switch name {
		case "source-controller", "kustomize-controller", "helm-controller", "kwok", "git-server":
		default:
			continue
		}
		data, err := os.ReadFile(l)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > 40 {
			lines = lines[len(lines)-40:]
		}
		b.WriteString("===== last lines of " + l + " =====\n" + strings.Join(lines, "\n") + "\n")
	}
	t.Log("cluster state after the failure:\n" + b.String())
}
