package override_test

import (
	"bytes"
	"os"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-gitops/kubectl-gitops/plugins/override"
)

func TestProfLarge(t *testing.T) {
	if os.Getenv("PROF_LARGE") == "" {
		t.Skip()
	}
	var out, errb bytes.Buffer
	cmd := override.NewCmd(nil, genericiooptions.IOStreams{In: os.Stdin, Out: &out, ErrOut: &errb})
	cmd.SetArgs([]string{"big-app", "--repo", "/tmp/yaml-large", "--set", "image.tag=1.22", "--set", "replicaCount=5", "--unset", "sidecar", "--dry-run"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
}
