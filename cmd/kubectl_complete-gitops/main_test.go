package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Built as a user gets them: the launcher and the plugin side by side in a
// store directory, only a symlink to the launcher on PATH (what the krew
// instructions in docs/install.md set up), and a cleared environment.
func TestLauncherCompletesThroughThePluginNextToIt(t *testing.T) {
	store, binDir := t.TempDir(), t.TempDir()
	for _, pkg := range []string{"../kubectl-gitops", "."} {
		cmd := exec.Command("go", "build", "-o", store+"/", pkg)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	link := filepath.Join(binDir, "kubectl_complete-gitops")
	if err := os.Symlink(filepath.Join(store, "kubectl_complete-gitops"), link); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(link, args...)
		cmd.Env = []string{"PATH=" + binDir + ":/usr/bin:/bin", "HOME=" + t.TempDir()}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("kubectl_complete-gitops %q: %v", args, err)
		}
		return string(out)
	}
	// kubectl passes the words after `kubectl gitops`, the last one being
	// the word under completion, without __complete.
	out := run("")
	for _, want := range []string{"override\t", "promote\t", "trace\t", "version\t", "completion\t"} {
		if !strings.Contains(out, want) {
			t.Errorf("completing '': no %q in\n%s", want, out)
		}
	}
	if !strings.HasSuffix(out, ":4\n") {
		t.Errorf("completing '': want cobra's :4 directive last, got\n%s", out)
	}
	if out := run("completion", "z"); !strings.HasPrefix(out, "zsh\n") {
		t.Errorf("completing 'completion z': got\n%s", out)
	}
}

func TestLauncherWithoutPlugin(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", dir+"/", ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	run := exec.Command(filepath.Join(dir, "kubectl_complete-gitops"), "")
	run.Env = []string{"PATH=" + dir, "HOME=" + dir}
	out, err := run.CombinedOutput()
	if err == nil {
		t.Fatalf("want a failure without kubectl-gitops anywhere, got\n%s", out)
	}
	if !strings.Contains(string(out), "kubectl-gitops is neither next to this executable nor on PATH") {
		t.Errorf("unhelpful error:\n%s", out)
	}
}
