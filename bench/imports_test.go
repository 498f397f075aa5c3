package bench

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"

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

// initBudget is the most one package's initialisation may cost at start-up
// (issue #24): every command pays it, `--help` included. Counted in
// allocations, which GODEBUG=inittrace reports the same on every run,
// rather than in milliseconds, which on a shared 2-core machine measure the
// other processes (the least of ten start-ups still put oras' 0.6 ms at
// 1.9 ms under load). On a quiet machine 1 ms of init is about 1,000
// allocations (Masterminds/semver: 1,261 allocations, 0.97 ms).
const initBudget = 1000

// slowInitAllowed are the packages whose init costs more than initBudget and
// that stay linked for now, each with the reason. Nothing else may.
var slowInitAllowed = map[string]string{
	// Compiles the JSON Schema meta-schemas of five drafts at init (about
	// 4 ms, 21,000 allocations). helm.sh/helm/v3/pkg/chartutil imports it
	// for values.schema.json, and Helm's engine, which renders for
	// override, promote and diff, takes chartutil's types: it goes only with
	// rendering moved out of this binary (docs/release.md, "Start-up").
	"github.com/santhosh-tekuri/jsonschema/v6": "helm chartutil (rendering, values.schema.json)",
	// Registers every built-in API type (about 2 ms). Imported by Helm's
	// chartutil (capabilities), client-go's discovery (rendering against the
	// cluster's API versions) and cli-runtime's ConfigFlags.
	"k8s.io/client-go/kubernetes/scheme": "helm chartutil, client-go discovery, cli-runtime ConfigFlags",
	// Helm's OCI registry client (charts from oci:// HelmRepositories and
	// OCIRepositories): helm.sh/helm/v3/pkg/registry builds on both.
	"oras.land/oras-go/v2":          "helm registry client (OCI charts)",
	"oras.land/oras-go/v2/registry": "helm registry client (OCI charts)",
	// The typed schema of structured-merge-diff: client-go's apply
	// configurations and kubectl's printers.
	"sigs.k8s.io/structured-merge-diff/v6/typed": "client-go apply configurations, kubectl printers",
	// Version constraints of charts and releases: Helm and Flux both.
	"github.com/Masterminds/semver/v3": "helm chart versions, flux version ranges",
}

// TestNoSlowPackageInit starts the binary with GODEBUG=inittrace=1 and
// fails for every package whose init allocates more than initBudget times,
// unless slowInitAllowed names it; and for every allowed package that no
// longer does or is not linked (drop it from the list). The milliseconds
// are logged for the record.
func TestNoSlowPackageInit(t *testing.T) {
	// The release build, as BenchmarkStartup measures it (one build for
	// both when they run together).
	bin := binarytest.Installed(t, binarytest.Release(t))
	cmd := exec.Command(bin, "--help")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "GODEBUG=inittrace=1"}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl-gitops --help: %v\n%s", err, stderr.String())
	}
	allocs := map[string]int{}
	for _, line := range strings.Split(stderr.String(), "\n") {
		// init <package> @<at> ms, <took> ms clock, <bytes> bytes, <allocs> allocs
		f := strings.Fields(line)
		if len(f) < 11 || f[0] != "init" || f[6] != "clock," || f[10] != "allocs" {
			continue
		}
		n, err := strconv.Atoi(f[9])
		if err != nil {
			t.Fatalf("inittrace line %q: %v", line, err)
		}
		allocs[f[1]] += n
		if n > initBudget {
			t.Logf("%s: %d allocations, %s ms", f[1], n, f[4])
		}
	}
	if len(allocs) == 0 {
		t.Fatalf("GODEBUG=inittrace=1 printed no init lines:\n%s", stderr.String())
	}
	for p, n := range allocs {
		if n > initBudget && slowInitAllowed[p] == "" {
			t.Errorf("package %s allocates %d times to initialise, over the budget of %d (about 1 ms): stop linking it, or add it to slowInitAllowed with the reason", p, n, initBudget)
		}
	}
	for p := range slowInitAllowed {
		if n, ok := allocs[p]; !ok || n <= initBudget {
			t.Errorf("slowInitAllowed names %s, which is not linked or allocates %d times (<= %d): drop it from the list", p, n, initBudget)
		}
	}
}
