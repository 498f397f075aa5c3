package cluster

import (
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseClusters(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{in: "", want: nil},
		{in: "  ", want: nil},
		{in: "staging production", want: []string{"staging", "production"}},
		{in: "staging,production", want: []string{"staging", "production"}},
		{in: " a-1 , b ", want: []string{"a-1", "b"}},
		{in: "Staging", wantErr: `cluster name "Staging"`},
		{in: "staging/x", wantErr: `cluster name "staging/x"`},
		{in: "-a", wantErr: `cluster name "-a"`},
		{in: "a a", wantErr: `cluster "a" is named twice`},
		{in: strings.Repeat("x", 31), wantErr: "1 to 30"},
	}
	for _, tt := range tests {
		got, err := ParseClusters(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseClusters(%q) error = %v, want it to contain %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseClusters(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// The kubeconfig is read by kubectl itself: one context per cluster, the first current, each with its own
// server and token; a one-cluster sandbox keeps the names it always had.
func TestKubeconfigContexts(t *testing.T) {
	dir := t.TempDir()
	kc := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("kubectl", append(args, "--kubeconfig", filepath.Join(dir, "kubeconfig"))...).CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if err := writeKubeconfig(filepath.Join(dir, "kubeconfig"),
		kubeAccess{context: "staging", server: "https://127.0.0.1:1001", token: "t1", ca: []byte("ca1")},
		kubeAccess{context: "production", server: "https://127.0.0.1:1002", token: "t2", ca: []byte("ca2")},
	); err != nil {
		t.Fatal(err)
	}
	if got := kc("config", "get-contexts", "-o", "name"); got != "production\nstaging" {
		t.Errorf("contexts = %q", got)
	}
	if got := kc("config", "current-context"); got != "staging" {
		t.Errorf("current context = %q", got)
	}
	if got := kc("config", "view", "--raw", "--minify", "--context", "production", "-o", "jsonpath={.clusters[0].cluster.server} {.users[0].user.token}"); got != "https://127.0.0.1:1002 t2" {
		t.Errorf("production = %q", got)
	}

	if err := writeKubeconfig(filepath.Join(dir, "kubeconfig"), kubeAccess{context: DefaultContext, server: "https://127.0.0.1:1003", token: "t", ca: []byte("ca")}); err != nil {
		t.Fatal(err)
	}
	if got := kc("config", "view", "-o", "jsonpath={.current-context} {.contexts[0].context.cluster} {.contexts[0].context.user}"); got != "kubectl-gitops-sandbox kubectl-gitops-sandbox admin" {
		t.Errorf("one-cluster kubeconfig = %q", got)
	}
}

// Components of a named cluster live in per-cluster directories; a one-cluster sandbox keeps the flat
// layout.
func TestClusterLayout(t *testing.T) {
	s := &State{Dir: "/s"}
	one, staging := clusterSpec{}, clusterSpec{name: "staging"}
	for _, tt := range []struct{ got, want string }{
		{one.component("kwok"), "kwok"},
		{staging.component("kwok"), "staging/kwok"},
		{one.context(), DefaultContext},
		{staging.context(), "staging"},
		{s.clusterDir(one, "data"), "/s/data"},
		{s.clusterDir(staging, "data"), "/s/data/staging"},
		{s.clusterKubeconfig(one), "/s/kubeconfig"},
		{s.clusterKubeconfig(staging), "/s/clusters/staging/kubeconfig"},
		{clusterOf("staging/kwok"), "staging"},
		{clusterOf("etcd"), ""},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

// pid files of a named cluster's components (run/staging/kwok.pid) are found, so down and status see them.
func TestNestedPidFiles(t *testing.T) {
	s := newState(t)
	for _, n := range []string{"etcd", "staging/kwok"} {
		p, err := s.start(n, "/bin/sh", []string{"-c", "exit 0"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		<-p.exited
	}
	pids, err := s.readPidFiles()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range pids {
		names = append(names, p.Name)
	}
	if !reflect.DeepEqual(names, []string{"etcd", "staging/kwok"}) {
		t.Errorf("pid files = %q", names)
	}
}
