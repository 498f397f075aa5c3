// Command kubectl_complete-gitops completes `kubectl gitops` arguments for
// kubectl's shell completion (kubectl 1.26+).
//
// kubectl looks it up on PATH and runs it with the words typed after
// `kubectl gitops`, the last one being the word being completed:
//
//	kubectl gitops override sam<TAB>  ->  kubectl_complete-gitops override sam
//
// It prepends cobra's hidden `__complete` command and runs kubectl-gitops,
// so all completion logic lives in one place. It stays a small launcher
// (only the standard library) so shipping it costs little and it starts
// fast; the plugin is looked up next to this executable first (where krew
// and the release archives put it), then on PATH.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

func main() {
	plugin, err := findPlugin()
	if err != nil {
		fmt.Fprintf(os.Stderr, "kubectl_complete-gitops: %v\n", err)
		os.Exit(1)
	}
	cmd := exec.Command(plugin, append([]string{"__complete"}, os.Args[1:]...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			os.Exit(exitErr.ExitCode())
		}
		fmt.Fprintf(os.Stderr, "kubectl_complete-gitops: running %s: %v\n", plugin, err)
		os.Exit(1)
	}
}

func findPlugin() (string, error) {
	name := "kubectl-gitops"
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	// Next to this executable, after resolving the symlink a user or krew
	// put on PATH: that is the plugin of the same release.
	if self, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(self); err == nil {
			self = real
		}
		candidate := filepath.Join(filepath.Dir(self), name)
		if info, err := os.Stat(candidate); err == nil && !info.IsDir() {
			return candidate, nil
		}
	}
	path, err := exec.LookPath("kubectl-gitops")
	if err != nil {
		return "", fmt.Errorf("kubectl-gitops is neither next to this executable nor on PATH: %w (install the plugin, e.g. kubectl krew install gitops)", err)
	}
	return path, nil
}
