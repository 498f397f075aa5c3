package gitops

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
)

func TestDisplayName(t *testing.T) {
	tests := map[string]string{
		"/usr/local/bin/kubectl-gitops":       "kubectl gitops",
		"kubectl-gitops.exe":                  "kubectl gitops",
		"/home/u/.fluxcd/plugins/flux-gitops": "flux gitops",
		"./main":                              "kubectl gitops",
	}
	for in, want := range tests {
		if got := DisplayName(in); got != want {
			t.Errorf("DisplayName(%q) = %q, want %q", in, got, want)
		}
	}
}

func run(t *testing.T, name string, args ...string) (string, string, error) {
	t.Helper()
	in, out, errOut := &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	root := NewRootCmd(Options{DisplayName: name, Streams: genericiooptions.IOStreams{In: in, Out: out, ErrOut: errOut}})
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), errOut.String(), err
}

func TestHelpNamesTheHost(t *testing.T) {
	for _, name := range []string{"kubectl gitops", "flux gitops"} {
		out, _, err := run(t, name, "--help")
		if err != nil {
			t.Fatalf("%s --help: %v", name, err)
		}
		if !strings.Contains(out, name+" [command]") {
			t.Errorf("%s --help does not name itself:\n%s", name, out)
		}
		other := map[string]string{"kubectl gitops": "flux gitops", "flux gitops": "kubectl gitops"}[name]
		if strings.Contains(out, other) {
			t.Errorf("%s --help mentions %q", name, other)
		}
		// Every command's help, examples included: what a user copies
		// must be the command they run.
		for _, sub := range [][]string{{"override"}, {"promote"}, {"promote", "status"}, {"trace"}, {"diff"}} {
			out, _, err := run(t, name, append(sub, "--help")...)
			if err != nil {
				t.Fatalf("%s %v --help: %v", name, sub, err)
			}
			if !strings.Contains(out, name+" "+sub[0]) {
				t.Errorf("%s %v --help has no example naming %q:\n%s", name, sub, name, out)
			}
			if strings.Contains(out, other) {
				t.Errorf("%s %v --help mentions %q:\n%s", name, sub, other, out)
			}
		}
	}
}

func TestVersionJSON(t *testing.T) {
	out, _, err := run(t, "kubectl gitops", "version", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("version -o json is not JSON: %v\n%s", err, out)
	}
	for _, k := range []string{"version", "commit", "date", "goVersion", "platform"} {
		if got[k] == "" {
			t.Errorf("version -o json lacks %q: %s", k, out)
		}
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"--no-such-flag"},
		{"version", "-o", "xml"},
		{"no-such-command"},
	} {
		_, _, err := run(t, "kubectl gitops", args...)
		if code := exitcode.From(err); code != exitcode.Usage {
			t.Errorf("%v: exit %d (%v), want %d", args, code, err, exitcode.Usage)
		}
	}
}
