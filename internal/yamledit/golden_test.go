package yamledit_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/helmvalues"
	"github.com/kubectl-gitops/kubectl-gitops/internal/textdiff"
	"github.com/kubectl-gitops/kubectl-gitops/internal/yamledit"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// goldenCases are real-world shaped HelmRelease files (testdata/golden) and
// overrides a user would give for them. Each golden file holds the unified
// diff, or the error.
var goldenCases = []struct {
	file string
	doc  int
	in   helmvalues.Input
}{
	{"01-podinfo.yaml", 0, helmvalues.Input{Set: []string{"redis.tag=7.2.4", "ingress.hosts[0].host=podinfo.example.com", "replicaCount=3"}}},
	{"01-podinfo.yaml", 0, helmvalues.Input{Set: []string{"ingress.hosts[1].host=extra.example.com"}, Unset: []string{"redis.repository"}}},
	{"02-anchors.yaml", 0, helmvalues.Input{Set: []string{"web.replicas=4", "worker.concurrency=8"}}},
	{"02-anchors.yaml", 0, helmvalues.Input{Set: []string{"web.resources.requests.cpu=1"}}},
	{"02-anchors.yaml", 0, helmvalues.Input{Set: []string{"defaults.requests.cpu=1"}}},
	{"03-flow.yaml", 0, helmvalues.Input{Set: []string{"auth.enabled=true", "master.persistence.size=20Gi", "replica.replicaCount=0"}}},
	{"04-block-scalars.yaml", 0, helmvalues.Input{Set: []string{"replicaCount=2"}, String: []string{"description=short now"}}},
	{"04-block-scalars.yaml", 0, helmvalues.Input{Files: []helmvalues.File{{Name: "extra.yaml", Data: []byte("serverBlock: |\n  server { listen 80; }\nmetrics:\n  enabled: true\n")}}}},
	{"05-multidoc.yaml", 2, helmvalues.Input{Set: []string{"persistence.enabled=true", "persistence.size=10Gi"}}},
	{"06-crlf.yaml", 0, helmvalues.Input{Set: []string{"image.tag=2024.2", "env[1].name=REGION", "env[1].value=eu"}}},
	{"07-no-trailing-newline.yaml", 0, helmvalues.Input{Set: []string{"replicaCount=2", "image.tag=v2"}}},
	{"08-comments.yaml", 0, helmvalues.Input{Set: []string{"image.tag=v3.2.2", "autoscaling.minReplicas=2", "podLabels.tier=critical"}}},
	{"09-quoting.yaml", 0, helmvalues.Input{Set: []string{"image.tag=1.1", "featureFlag=false", "ratio=0.75", "image.pullPolicy=Always"}, String: []string{"message=it's great"}}},
	{"10-indent4.yaml", 0, helmvalues.Input{Set: []string{"service.port=8080", "service.annotations.owner=team-a", "tolerations[0].effect=NoSchedule"}}},
	{"11-indentless.yaml", 0, helmvalues.Input{Set: []string{"extraArgs[2]=--enable-certificate-owner-ref", "webhook.replicaCount=2"}, JSON: []string{`resources={"requests":{"cpu":"50m"}}`}}},
	{"12-ingress-list.yaml", 0, helmvalues.Input{Set: []string{"ingress.hosts[1].paths={/,/api}", "ingress.tls[0].hosts[2]=api.shop.example.com"}}},
	{"13-deep.yaml", 0, helmvalues.Input{Set: []string{"prometheus.prometheusSpec.retention=7d", "prometheus.prometheusSpec.resources.limits.memory=2Gi", "grafana.adminPassword=changeme"}}},
	{"14-no-values.yaml", 0, helmvalues.Input{Set: []string{"image.tag=1.0.0", "replicaCount=2"}}},
	{"15-empty-values.yaml", 0, helmvalues.Input{Set: []string{"replicaCount=2"}}},
	{"16-null-values.yaml", 0, helmvalues.Input{Set: []string{`podAnnotations.prometheus\.io/scrape=true`}}},
	{"17-imagepolicy.yaml", 0, helmvalues.Input{Set: []string{"image.tag=1.4.3"}}},
	{"18-valuesfrom.yaml", 0, helmvalues.Input{Set: []string{"db.host=pg.shop.svc", "db.port=5432"}}},
	{"19-unicode.yaml", 0, helmvalues.Input{Set: []string{"labels.owner=zoé", "greeting=Hallo"}}},
	{"20-directives.yaml", 0, helmvalues.Input{Set: []string{"nodeSelector.kubernetes\\.io/arch=arm64"}}},
	{"08-comments.yaml", 0, helmvalues.Input{Set: []string{"image.tag.major=3"}}},
	// Real-world anchors (app-template), --set-json merging, --replace, BOM.
	{"21-app-template.yaml", 0, helmvalues.Input{Set: []string{"controllers.qbittorrent.containers.app.env.QBT_TORRENTING_PORT=50413"}}},
	{"21-app-template.yaml", 0, helmvalues.Input{JSON: []string{`controllers.qbittorrent.containers.app.resources={"limits":{"cpu":"500m"}}`}}},
	{"21-app-template.yaml", 0, helmvalues.Input{Replace: []string{`controllers.qbittorrent.containers.app.resources={"limits":{"cpu":"500m"}}`}}},
	{"21-app-template.yaml", 0, helmvalues.Input{Unset: []string{"controllers.qbittorrent.containers.app.probes.liveness"}}},
	{"21-app-template.yaml", 0, helmvalues.Input{Unset: []string{"controllers.qbittorrent.containers.app.env"}}},
	{"21-app-template.yaml", 0, helmvalues.Input{Set: []string{"controllers.qbittorrent.containers.app.probes.liveness.spec.httpGet.path=/x"}}},
	{"21-app-template.yaml", 0, helmvalues.Input{Set: []string{"podLabels.zone=b", "controllers.qbittorrent.replicas=1", "defaultPodOptions.securityContext.runAsUser=568", "defaultPodOptions.securityContext.fsGroup=568"}}},
	{"21-app-template.yaml", 0, helmvalues.Input{Files: []helmvalues.File{{Name: "extra.yaml", Data: []byte("persistence:\n  config:\n    type: configMap\n    name: qb-config\nconfigMaps:\n  config:\n    data:\n      qBittorrent.conf: |\n        [Preferences]\n        WebUI\\\\Port=8080\n")}}}},
	{"22-probes-anchor.yaml", 0, helmvalues.Input{Unset: []string{"probes.readiness"}}},
	{"22-probes-anchor.yaml", 0, helmvalues.Input{Set: []string{"probes.readiness=null"}}},
	{"22-probes-anchor.yaml", 0, helmvalues.Input{Replace: []string{`probes.readiness={"enabled":false}`}}},
	{"22-probes-anchor.yaml", 0, helmvalues.Input{Set: []string{"probes.readiness.port=9000"}}},
	{"23-bom.yaml", 0, helmvalues.Input{Set: []string{"image.tag=11.0.0", "replicas=2"}}},
	{"23-bom.yaml", 0, helmvalues.Input{Unset: []string{"image"}, JSON: []string{`persistence={"enabled":true,"size":"1Gi"}`}}},
}

func TestGolden(t *testing.T) {
	seen := map[string]int{}
	for _, c := range goldenCases {
		seen[c.file]++
		name := strings.TrimSuffix(c.file, ".yaml")
		if seen[c.file] > 1 {
			name += "-" + strconv.Itoa(seen[c.file])
		}
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join("testdata", "golden", c.file))
			if err != nil {
				t.Fatal(err)
			}
			got := goldenOutput(t, c.file, src, c.doc, c.in)
			path := filepath.Join("testdata", "golden", name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test -update writes it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs (go test -update rewrites it):\n%s", path, got)
			}
		})
	}
}

func goldenOutput(t *testing.T, file string, src []byte, doc int, in helmvalues.Input) string {
	t.Helper()
	values := yamledit.Path{"spec", "values"}
	cur, _, err := yamledit.Get(src, doc, values)
	if err != nil {
		return "error: " + err.Error() + "\n"
	}
	m, _ := cur.(map[string]any)
	res, err := helmvalues.Compute(m, in)
	if err != nil {
		return "error: " + err.Error() + "\n"
	}
	out, changes, err := yamledit.Apply(src, doc, values, res.Ops)
	if err != nil {
		return "error: " + err.Error() + "\n"
	}
	// The file must decode to exactly what Helm's flags compute.
	got, _, err := yamledit.Get(out, doc, values)
	if err != nil {
		t.Fatal(err)
	}
	if !helmvalues.Equal(got, res.Final) {
		t.Errorf("decoded values %v, want %v", got, res.Final)
	}
	var b bytes.Buffer
	if _, err := textdiff.Unified(&b, file, src, out, textdiff.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, w := range res.Replaced {
		b.WriteString("warning: " + w + "\n")
	}
	for _, c := range changes {
		for _, m := range c.Moved {
			b.WriteString("moved: " + m + "\n")
		}
		if c.Marker != "" {
			b.WriteString("marker: " + c.Op.Path.String() + " " + c.Marker + "\n")
		}
	}
	return b.String()
}
