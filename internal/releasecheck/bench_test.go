package releasecheck

import (
	"context"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/kubectl-gitops/kubectl-gitops/internal/chartsource"
	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
	"github.com/kubectl-gitops/kubectl-gitops/internal/validate"
)

const chartDir = "../../examples/sample-app-helm-chart/charts/sample-app"

var foundingValues = map[string]any{"podAnnotations": map[string]any{"team": "web"}, "image": map[string]any{"tag": "1.22"}}

// helmTemplate is `helm template sample-app CHART -n sample-app` in process:
// load the chart, then Helm's install action in client-only dry-run mode.
func helmTemplate(b *testing.B) {
	ch, err := loader.Load(chartDir)
	if err != nil {
		b.Fatal(err)
	}
	cfg := &action.Configuration{}
	inst := action.NewInstall(cfg)
	inst.DryRun, inst.ClientOnly, inst.Replace = true, true, true
	inst.ReleaseName, inst.Namespace = "sample-app", "sample-app"
	inst.KubeVersion = &render.DefaultCapabilities().KubeVersion
	rel, err := inst.Run(ch, foundingValues)
	if err != nil {
		b.Fatal(err)
	}
	if !strings.Contains(rel.Manifest, "nginx:1.22") {
		b.Fatal("helm template did not render the value")
	}
}

// renderValidate is the same chart rendered and validated as override does
// it: load, values.schema.json, render, every object against the bundled
// OpenAPI schema (read from its embedded gzip each time, as a process does).
func renderValidate(b *testing.B, schemas func() (*validate.Schemas, error)) {
	ch, err := loader.Load(chartDir)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := validate.Values(ch, foundingValues); err != nil {
		b.Fatal(err)
	}
	objs, err := render.Render(ch, foundingValues, render.Options{ReleaseName: "sample-app", Namespace: "sample-app"})
	if err != nil {
		b.Fatal(err)
	}
	s, err := schemas()
	if err != nil {
		b.Fatal(err)
	}
	for _, o := range objs {
		if p, err := s.Object(o.Object); err != nil || len(p) > 0 {
			b.Fatalf("%s: %v %v", o.ID(""), p, err)
		}
	}
}

// BenchmarkRenderValidate reports render+validate of the founding
// HelmRelease's chart against `helm template` of the same chart, side by
// side in one run:
//   - x-helm-template: render+validate time over helm template time;
//   - x-helm-template-cold-schema: the same with the bundled schema decoded
//     every time (what one CLI process pays once);
//   - helm-template-us, render-validate-us: the means.
func BenchmarkRenderValidate(b *testing.B) {
	warm, err := validate.Bundled()
	if err != nil {
		b.Fatal(err)
	}
	var tHelm, tOurs, tCold time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		helmTemplate(b)
		tHelm += time.Since(start)
		start = time.Now()
		renderValidate(b, func() (*validate.Schemas, error) { return warm, nil })
		tOurs += time.Since(start)
		start = time.Now()
		renderValidate(b, validate.DecodeBundled)
		tCold += time.Since(start)
	}
	b.StopTimer()
	b.ReportMetric(float64(tOurs)/float64(tHelm), "x-helm-template")
	b.ReportMetric(float64(tCold)/float64(tHelm), "x-helm-template-cold-schema")
	b.ReportMetric(float64(tHelm.Microseconds())/float64(b.N), "helm-template-us")
	b.ReportMetric(float64(tOurs.Microseconds())/float64(b.N), "render-validate-us")
}

// BenchmarkCheckFounding is the whole check of one override of the founding
// example, as override runs it with the chart cache warm: resolve (git fetch
// of the branch from a local bare repo), compose, render and validate twice.
func BenchmarkCheckFounding(b *testing.B) {
	hr := foundingHR(b)
	repo := founding(b, hr)
	ctx := context.Background()
	doc := docIn(b, repo, "helmrelease/sample-app-helmrelease.yaml", "sample-app", "")
	after := strings.Replace(hr, "  values:\n", "  values:\n    replicaCount: 3\n", 1)
	c := &Checker{Resolver: &chartsource.Resolver{Repo: repo, CacheDir: b.TempDir(), GitEnv: gitEnv}}
	var tResolve, tCheck time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		bh, ah, err := Compose(ctx, repo, doc, []byte(hr), []byte(after))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Resolver.Resolve(ctx, ah); err != nil {
			b.Fatal(err)
		}
		tResolve += time.Since(start)
		start = time.Now()
		rep, err := c.Check(ctx, bh, ah)
		if err != nil || !rep.Valid() {
			b.Fatalf("%v %v", err, rep)
		}
		tCheck += time.Since(start)
	}
	b.ReportMetric(float64(tResolve.Microseconds())/1000/float64(b.N), "compose+resolve-ms")
	b.ReportMetric(float64(tCheck.Microseconds())/1000/float64(b.N), "check-ms")
}
