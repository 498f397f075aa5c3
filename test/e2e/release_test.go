//go:build e2e

package e2e

import (
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubectl-gitops/kubectl-gitops/test/e2e/e2eutil"
)

// wantRelease is the state of a HelmRelease after a Helm action, as flux-contract.md describes it.
type wantRelease struct {
	action       string // install | upgrade
	helmVersion  int64  // Helm revision of history[0]
	chartVersion string // includes +<sha12> with the Revision strategy
	history      int    // number of snapshots
}

// releasedAs reports whether hr has finished the Helm action of w (for use in WaitFor).
func releasedAs(hr *unstructured.Unstructured, w wantRelease) bool {
	reason := "InstallSucceeded"
	if w.action == "upgrade" {
		reason = "UpgradeSucceeded"
	}
	if !e2eutil.HasCondition(hr, "Released", "True", reason) || !e2eutil.HasCondition(hr, "Ready", "True", "") {
		return false
	}
	h := history(hr)
	return len(h) > 0 && e2eutil.Int(hr, "status", "lastAttemptedGeneration") == hr.GetGeneration() &&
		h[0]["version"] == fmt.Sprint(w.helmVersion) && h[0]["chartVersion"] == w.chartVersion
}

// checkRelease asserts every status field of the contract for a release that finished w.
func checkRelease(t *testing.T, hr *unstructured.Unstructured, w wantRelease) {
	t.Helper()
	ns, name := hr.GetNamespace(), hr.GetName()
	str := func(f ...string) string { return e2eutil.Str(hr, append([]string{"status"}, f...)...) }
	eq := func(field, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("HelmRelease %s/%s %s = %q, want %q", ns, name, field, got, want)
		}
	}
	eq("status.observedGeneration", fmt.Sprint(e2eutil.Int(hr, "status", "observedGeneration")), fmt.Sprint(hr.GetGeneration()))
	eq("status.lastAttemptedGeneration", fmt.Sprint(e2eutil.Int(hr, "status", "lastAttemptedGeneration")), fmt.Sprint(hr.GetGeneration()))
	eq("status.lastAttemptedRevision", str("lastAttemptedRevision"), w.chartVersion)
	eq("status.lastAttemptedReleaseAction", str("lastAttemptedReleaseAction"), w.action)
	eq("status.helmChart", str("helmChart"), ns+"/"+ns+"-"+name)
	eq("status.storageNamespace", str("storageNamespace"), ns)
	digest := str("lastAttemptedConfigDigest")
	if !strings.HasPrefix(digest, "sha256:") {
		t.Errorf("status.lastAttemptedConfigDigest = %q, want sha256:<hex>", digest)
	}
	for _, c := range []struct{ typ, reason string }{{"Ready", ""}, {"Released", map[string]string{"install": "InstallSucceeded", "upgrade": "UpgradeSucceeded"}[w.action]}} {
		if !e2eutil.HasCondition(hr, c.typ, "True", c.reason) {
			s, r, m, _ := e2eutil.Condition(hr, c.typ)
			t.Errorf("condition %s = %s %s %q, want True %s", c.typ, s, r, m, c.reason)
		}
	}
	verb := map[string]string{"install": "install", "upgrade": "upgrade"}[w.action]
	wantMsg := fmt.Sprintf("Helm %s succeeded for release %s/%s.v%d with chart sample-app@%s", verb, ns, name, w.helmVersion, w.chartVersion)
	if _, _, msg, _ := e2eutil.Condition(hr, "Released"); msg != wantMsg {
		t.Errorf("Released message = %q, want %q", msg, wantMsg)
	}
	h := history(hr)
	if len(h) != w.history {
		t.Fatalf("status.history has %d snapshots, want %d: %v", len(h), w.history, h)
	}
	top := h[0]
	for k, v := range map[string]string{
		"name": name, "namespace": ns, "version": fmt.Sprint(w.helmVersion), "status": "deployed",
		"chartName": "sample-app", "chartVersion": w.chartVersion, "configDigest": digest,
	} {
		eq("status.history[0]."+k, top[k], v)
	}
	for i := 1; i < len(h); i++ {
		eq(fmt.Sprintf("status.history[%d].status", i), h[i]["status"], "superseded")
	}
}

// history returns status.history with every field as a string.
func history(hr *unstructured.Unstructured) []map[string]string {
	raw, _, _ := unstructured.NestedSlice(hr.Object, "status", "history")
	var out []map[string]string
	for _, r := range raw {
		m, _ := r.(map[string]any)
		s := map[string]string{}
		for k, v := range m {
			s[k] = fmt.Sprint(v)
		}
		out = append(out, s)
	}
	return out
}
