package build

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func hello(version, body string) Module {
	return Module{
		Name: "hello", Version: version,
		GoMod:   "module sandbox.local/hello\n\ngo 1.26.0\n",
		Files:   map[string]string{"main.go": "package main\n\nimport \"fmt\"\n\nfunc main() { " + body + " }\n"},
		Targets: []Target{{Bin: "hello", Pkg: "."}},
	}
}

// Ensure builds once, reuses the cache, and rebuilds when only a temporary file from an interrupted build
// is left.
func TestEnsureCachesAndRebuildsHalfBuilt(t *testing.T) {
	c := Cache{Dir: t.TempDir(), Log: io.Discard}
	m := hello("v1", `fmt.Println("hello v1")`)
	ctx := context.Background()
	if _, err := c.Ensure(ctx, m); err != nil {
		t.Fatal(err)
	}
	bin := c.BinPath(m, m.Targets[0])
	out, err := exec.Command(bin).Output()
	if err != nil || strings.TrimSpace(string(out)) != "hello v1" {
		t.Fatalf("running %s: %q, %v", bin, out, err)
	}
	if d, err := c.Ensure(ctx, m); err != nil || d != 0 {
		t.Fatalf("second Ensure = %v, %v; want a cache hit", d, err)
	}

	// A killed build leaves a temp file and no binary under the final name.
	os.Remove(bin)
	if err := os.WriteFile(bin+".tmp123", []byte("half"), 0o755); err != nil {
		t.Fatal(err)
	}
	if c.Built(m) {
		t.Fatal("Built = true with only a temporary file in the cache")
	}
	if d, err := c.Ensure(ctx, m); err != nil || d == 0 {
		t.Fatalf("Ensure after an interrupted build = %v, %v; want a rebuild", d, err)
	}
	if out, err := exec.Command(bin).Output(); err != nil || strings.TrimSpace(string(out)) != "hello v1" {
		t.Fatalf("rebuilt binary: %q, %v", out, err)
	}
}

// A failing build names the module and shows the compiler's complaint.
func TestEnsureReportsWhichModuleFailed(t *testing.T) {
	c := Cache{Dir: t.TempDir(), Log: io.Discard}
	m := hello("v2", `fmt.Println(undefinedThing)`)
	_, err := c.Ensure(context.Background(), m)
	var be *Error
	if !errors.As(err, &be) {
		t.Fatalf("Ensure = %v, want a *build.Error", err)
	}
	if be.Module != "hello v2" || !strings.Contains(be.Tail, "undefinedThing") || !strings.Contains(err.Error(), "hello v2") {
		t.Fatalf("error does not say which module failed and why: %v", err)
	}
	if c.Built(m) {
		t.Fatal("a failed build left a binary in the cache")
	}
}

func TestKubernetesModulePinsEveryStagingModule(t *testing.T) {
	m := Kubernetes()
	for _, s := range []string{"k8s.io/api", "k8s.io/client-go", "k8s.io/kube-scheduler", "k8s.io/externaljwt"} {
		if !strings.Contains(m.GoMod, "\t"+s+" => "+s+" "+StagingVersion+"\n") {
			t.Errorf("go.mod of the kubernetes module does not pin %s:\n%s", s, m.GoMod)
		}
	}
	if len(stagingModules) != 31 {
		t.Errorf("%d staging modules, k8s.io/kubernetes %s replaces 31", len(stagingModules), KubernetesVersion)
	}
}
