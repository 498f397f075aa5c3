package override_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Real-world YAML through the built binary: anchors that an edit removes,
// anchor refusals, a UTF-8 BOM, and --set-json against --replace.

const hassRelease = `apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: home-assistant
  namespace: home
spec:
  interval: 15m
  chart:
    spec:
      chart: home-assistant
      sourceRef: {kind: HelmRepository, name: k8s-at-home}
  values:
    probes:
      readiness:
        enabled: true
        port: &port 8123 # the web UI
        path: /
      liveness:
        enabled: false
    resources:
      requests:
        cpu: 100m
      limits:
        memory: 1Gi
    service:
      main:
        port: *port
`

const bomRelease = "\ufeffapiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: grafana\n  namespace: monitoring\nspec:\n  values:\n    image:\n      tag: 10.4.1\n"

func TestOverrideAnchorsAndBOM(t *testing.T) {
	_, clones := setup(t, 1, map[string]string{"apps/hass.yaml": hassRelease, "apps/grafana.yaml": bomRelease,
		"apps/broken.yaml": strings.Replace(bomRelease[3:], "grafana", "loki", 1) + "---\nkind: ConfigMap\ndata: {a: [1}\n"})
	dir := clones[0]
	hass := filepath.Join(dir, "apps/hass.yaml")

	t.Run("anchor refusal names the path once and changes nothing", func(t *testing.T) {
		snap := snapshot(t, dir)
		r := run(t, dir, "override", "home-assistant", "--set", "probes.readiness.port=9000")
		if r.ExitCode != 6 || !strings.Contains(r.Stderr, "apps/hass.yaml: spec.values.probes.readiness.port: carries the anchor &port, which the aliases on line 27 share") ||
			strings.Contains(r.Stderr, "spec.values.spec.values") {
			t.Errorf("exit %d, stderr %q", r.ExitCode, r.Stderr)
		}
		if snapshot(t, dir) != snap {
			t.Error("a refused edit changed the checkout")
		}
	})

	t.Run("a syntax error in another document is refused", func(t *testing.T) {
		snap := snapshot(t, dir)
		r := run(t, dir, "override", "loki", "--set", "image.tag=2")
		if r.ExitCode != 1 || !strings.Contains(r.Stderr, "apps/broken.yaml:11: malformed YAML") {
			t.Errorf("exit %d, stderr %q", r.ExitCode, r.Stderr)
		}
		if snapshot(t, dir) != snap {
			t.Error("the checkout changed")
		}
	})

	t.Run("set-json merges, replace drops keys with a warning", func(t *testing.T) {
		r := run(t, dir, "override", "home-assistant", "--set-json", `resources={"limits":{"cpu":"500m"}}`, "--dry-run")
		if r.ExitCode != 0 || strings.Contains(r.Stdout, "\n-") || !strings.Contains(r.Stdout, "+        cpu: 500m\n") {
			t.Errorf("--set-json: exit %d, diff:\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
		}
		r = run(t, dir, "override", "home-assistant", "--replace", `resources={"limits":{"cpu":"500m"}}`, "--dry-run")
		if r.ExitCode != 0 || !strings.Contains(r.Stdout, "-      requests:\n-        cpu: 100m\n") || !strings.Contains(r.Stdout, "-        memory: 1Gi\n+        cpu: 500m\n") ||
			!strings.Contains(r.Stderr, `warning: --replace resources={"limits":{"cpu":"500m"}} removes resources.limits.memory, resources.requests`) {
			t.Errorf("--replace: exit %d, diff:\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
		}
	})

	t.Run("unset a block holding a used anchor moves the anchor", func(t *testing.T) {
		r := run(t, dir, "override", "home-assistant", "--unset", "probes.readiness")
		if r.ExitCode != 0 || !strings.Contains(r.Stderr, "warning: apps/hass.yaml: moved the anchor &port from line 16 to line 27") {
			t.Fatalf("exit %d, stderr %q", r.ExitCode, r.Stderr)
		}
		want := strings.Replace(hassRelease, "      readiness:\n        enabled: true\n        port: &port 8123 # the web UI\n        path: /\n", "", 1)
		want = strings.Replace(want, "port: *port", "port: &port 8123", 1)
		if got := readFile(t, hass); got != want {
			t.Errorf("file:\n%s\nwant:\n%s", got, want)
		}
	})

	t.Run("BOM before the first key is kept", func(t *testing.T) {
		r := run(t, dir, "override", "grafana", "--set", "image.tag=11.0.0", "--set", "replicas=2")
		if r.ExitCode != 0 {
			t.Fatalf("exit %d, stderr %q", r.ExitCode, r.Stderr)
		}
		b, err := os.ReadFile(filepath.Join(dir, "apps/grafana.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.Replace(bomRelease, "10.4.1", "11.0.0", 1) + "    replicas: 2\n"; string(b) != want {
			t.Errorf("file %q, want %q", b, want)
		}
	})
}
