package bench

import (
	"os/exec"
	"strings"
	"testing"
)

// heavyInit lists packages whose init work every command would pay, seen
// with GODEBUG=inittrace=1 on kubectl and on this binary: kubectl's option
// and helper packages (about 5 MB allocated at init), the component-base and
// Prometheus metric registries, and the Helm and controller-runtime packages
// that pull those in. `kubectl gitops --help` and `version` stay fast only
// while none of them is linked in. Use the narrow packages instead (Helm's
// pkg/strvals, controller-runtime's pkg/scheme, client-go's typed clients);
// if one is truly needed, measure with `make bench` and say so in the commit.
var heavyInit = []string{
	"k8s.io/kubectl/pkg/cmd/options",
	"k8s.io/kubectl/pkg/polymorphichelpers",
	"k8s.io/kubectl/pkg/scheme",
	"k8s.io/component-base/metrics/legacyregistry",
	"github.com/prometheus/client_golang/prometheus",
	"sigs.k8s.io/controller-runtime/pkg/metrics",
	"sigs.k8s.io/controller-runtime/pkg/client",
	"helm.sh/helm/v3/pkg/action",
	"helm.sh/helm/v3/pkg/kube",
}

func TestNoHeavyInitPackages(t *testing.T) {
	for _, main := range []string{"../cmd/kubectl-gitops", "../cmd/kubectl_complete-gitops"} {
		out, err := exec.Command("go", "list", "-deps", main).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", main, err)
		}
		deps := map[string]bool{}
		for _, p := range strings.Fields(string(out)) {
			deps[p] = true
		}
		for _, p := range heavyInit {
			if deps[p] {
				t.Errorf("%s links %s, whose init runs on every start-up (see heavyInit)", main, p)
			}
		}
		if main == "../cmd/kubectl_complete-gitops" {
			// The launcher must stay standard-library only: kubectl runs it
			// on every <TAB>.
			for p := range deps {
				if strings.Contains(strings.SplitN(p, "/", 2)[0], ".") && !strings.HasPrefix(p, "github.com/kubectl-gitops/") {
					t.Errorf("kubectl_complete-gitops links %s; keep it to the standard library", p)
				}
			}
		}
	}
}
