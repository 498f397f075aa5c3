package bench

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
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

// initYardstick is the package whose init the budget is measured against,
// in the same start-ups: client-go's scheme registers every built-in API
// type, a fixed amount of work that every kubectl plugin with the standard
// flags pays, about 2 ms on a quiet machine. On a busy one every init
// stretches, and an absolute budget failed for packages that take well
// under 1 ms when the machine is quiet (oras's registry: 1.8 ms at load
// 25, beside 4.8 ms for the scheme).
const initYardstick = "k8s.io/client-go/kubernetes/scheme"

// initBudget is the most one package's initialisation may cost at start-up,
// as a share of initYardstick's: half, about the 1 ms of issue #24 on a
// quiet machine. Every command pays it, `--help` included.
const initBudget = 0.5

// slowInitAllowed are the packages whose init costs more than initBudget and
// that stay linked for now, each with the reason. Nothing else may.
var slowInitAllowed = map[string]string{
	// Compiles the JSON Schema meta-schemas of five drafts at init (about
	// 4 ms, 1.7 MB). helm.sh/helm/v3/pkg/chartutil imports it for
	// values.schema.json, and Helm's engine, which renders for override,
	// promote and diff, takes chartutil's types: it goes only with
	// rendering moved out of this binary (docs/release.md, "Start-up").
	"github.com/santhosh-tekuri/jsonschema/v6": "helm chartutil (rendering, values.schema.json)",
	// Registers every built-in API type (about 2 ms). Imported by Helm's
	// chartutil (capabilities), client-go's discovery (rendering against the
	// cluster's API versions) and cli-runtime's ConfigFlags.
	"k8s.io/client-go/kubernetes/scheme": "helm chartutil, client-go discovery, cli-runtime ConfigFlags",
}

// initRuns: each package's cost is the least over this many start-ups, so
// that a run slowed by other work on the machine does not count against it.
const initRuns = 10

// TestNoSlowPackageInit starts the binary initRuns times with
// GODEBUG=inittrace=1 and fails for every package whose least init time
// was more than initBudget times initYardstick's, unless slowInitAllowed
// names it; and for every allowed package that is no longer slow or linked
// (drop it from the list).
func TestNoSlowPackageInit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the binary")
	}
	bin := binarytest.Installed(t, binarytest.Release(t))
	least := map[string]time.Duration{}
	for i := 0; i < initRuns; i++ {
		cmd := exec.Command(bin, "--help")
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "GODEBUG=inittrace=1"}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("kubectl-gitops --help: %v\n%s", err, stderr.String())
		}
		seen := 0
		for _, line := range strings.Split(stderr.String(), "\n") {
			// init <package> @<at> ms, <took> ms clock, <bytes> bytes, <allocs> allocs
			f := strings.Fields(line)
			if len(f) < 7 || f[0] != "init" || f[6] != "clock," {
				continue
			}
			ms, err := strconv.ParseFloat(f[4], 64)
			if err != nil {
				t.Fatalf("inittrace line %q: %v", line, err)
			}
			d := time.Duration(ms * float64(time.Millisecond))
			if old, ok := least[f[1]]; !ok || d < old {
				least[f[1]] = d
			}
			seen++
		}
		if seen == 0 {
			t.Fatalf("GODEBUG=inittrace=1 printed no init lines:\n%s", stderr.String())
		}
	}
	yard, ok := least[initYardstick]
	if !ok {
		t.Fatalf("%s is no longer linked: pick another package with a fixed init cost as initYardstick", initYardstick)
	}
	budget := time.Duration(initBudget * float64(yard))
	for p, d := range least {
		if d > budget && slowInitAllowed[p] == "" {
			t.Errorf("package %s takes %v to initialise (the least of %d start-ups), over the budget of %v (%.1fx the %v of %s in the same start-ups): stop linking it, or add it to slowInitAllowed with the reason", p, d, initRuns, budget, initBudget, yard, initYardstick)
		}
	}
	for p := range slowInitAllowed {
		if p == initYardstick {
			continue // slow by definition: the budget is a share of it
		}
		if d, ok := least[p]; !ok || d <= budget {
			t.Errorf("slowInitAllowed names %s, which is not linked or takes %v (<= %v): drop it from the list", p, d, budget)
		}
	}
}
