package envs

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

func files(paths ...string) fstest.MapFS {
	m := fstest.MapFS{}
	for _, p := range paths {
		m[p] = &fstest.MapFile{Data: []byte("kind: Kustomization\n")}
	}
	return m
}

func TestInfer(t *testing.T) {
	tests := []struct {
		name       string
		fs         fstest.MapFS
		want       []Environment
		wantSource string
	}{
		{
			name: "apps/base with overlays and cluster dirs",
			fs: files(
				"apps/base/podinfo/release.yaml",
				"apps/production/kustomization.yaml",
				"apps/staging/kustomization.yaml",
				"clusters/staging/apps.yaml",
				"clusters/production/apps.yaml",
				"infrastructure/controllers/x.yaml",
			),
			want: []Environment{
				{Name: "staging", Paths: []string{"apps/staging", "clusters/staging"}, Bases: []string{"apps/base"}},
				{Name: "production", Paths: []string{"apps/production", "clusters/production"}, Bases: []string{"apps/base"}},
			},
			wantSource: "apps/base + apps/<env>",
		},
		{
			name: "apps/base without cluster dirs, unknown env names sort last",
			fs: files(
				"apps/base/a.yaml",
				"apps/zeta/kustomization.yaml",
				"apps/prod/kustomization.yaml",
				"apps/dev/kustomization.yaml",
				"apps/alpha/kustomization.yaml",
			),
			want: []Environment{
				{Name: "dev", Paths: []string{"apps/dev"}, Bases: []string{"apps/base"}},
				{Name: "prod", Paths: []string{"apps/prod"}, Bases: []string{"apps/base"}},
				{Name: "alpha", Paths: []string{"apps/alpha"}, Bases: []string{"apps/base"}},
				{Name: "zeta", Paths: []string{"apps/zeta"}, Bases: []string{"apps/base"}},
			},
			wantSource: "apps/base + apps/<env>",
		},
		{
			name: "per-app base and overlays",
			fs: files(
				"deploy/web/base/hr.yaml",
				"deploy/web/overlays/production/kustomization.yaml",
				"deploy/web/overlays/staging/kustomization.yaml",
				"deploy/api/base/hr.yaml",
				"deploy/api/overlays/staging/kustomization.yaml",
			),
			want: []Environment{
				{Name: "staging", Paths: []string{"deploy/api/overlays/staging", "deploy/web/overlays/staging"}, Bases: []string{"deploy/api/base", "deploy/web/base"}},
				{Name: "production", Paths: []string{"deploy/web/overlays/production"}, Bases: []string{"deploy/web/base"}},
			},
			wantSource: "overlays/<env>",
		},
		{
			name: "clusters only",
			fs: files(
				"clusters/production/flux-system/gotk-sync.yaml",
				"clusters/staging/flux-system/gotk-sync.yaml",
				"clusters/dev/flux-system/gotk-sync.yaml",
			),
			want: []Environment{
				{Name: "dev", Paths: []string{"clusters/dev"}},
				{Name: "staging", Paths: []string{"clusters/staging"}},
				{Name: "production", Paths: []string{"clusters/production"}},
			},
			wantSource: "clusters/<env>",
		},
		{
			name: "apps/base wins over clusters",
			fs: files(
				"apps/base/a.yaml",
				"apps/staging/k.yaml",
				"clusters/local/k.yaml",
			),
			want: []Environment{
				{Name: "staging", Paths: []string{"apps/staging"}, Bases: []string{"apps/base"}},
			},
			wantSource: "apps/base + apps/<env>",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Infer(tt.fs)
			if err != nil {
				t.Fatalf("Infer: %v", err)
			}
			if !reflect.DeepEqual(cfg.Environments, tt.want) {
				t.Fatalf("environments:\n got %+v\nwant %+v", cfg.Environments, tt.want)
			}
			if !cfg.Inferred || !strings.Contains(cfg.Source, tt.wantSource) {
				t.Fatalf("Inferred=%v Source=%q, want inferred from %q", cfg.Inferred, cfg.Source, tt.wantSource)
			}
			if d := cfg.Describe(); !strings.Contains(d, "inferred") || !strings.Contains(d, tt.want[0].Name+": ") {
				t.Fatalf("Describe() = %q", d)
			}
		})
	}
}

func TestInferNothing(t *testing.T) {
	for _, fs := range []fstest.MapFS{
		files("README.md", "charts/x/Chart.yaml"),
		files("apps/base/a.yaml"), // a base and no overlay is not a pipeline
	} {
		if _, err := Infer(fs); !errors.Is(err, ErrNoEnvironments) {
			t.Fatalf("Infer(%v) = %v, want ErrNoEnvironments", fs, err)
		}
	}
}

func TestParse(t *testing.T) {
	good := `# promotion order: staging first
environments:
  - name: staging
    paths: [./apps/staging, clusters/staging/]
    bases: [apps/base]
    context: kind-staging
  - name: production
    paths:
      - apps/production
    namespace: web
`
	cfg, err := Parse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	want := []Environment{
		{Name: "staging", Paths: []string{"apps/staging", "clusters/staging"}, Bases: []string{"apps/base"}, Context: "kind-staging"},
		{Name: "production", Paths: []string{"apps/production"}, Namespace: "web"},
	}
	if !reflect.DeepEqual(cfg.Environments, want) {
		t.Fatalf("got %+v\nwant %+v", cfg.Environments, want)
	}
	if cfg.Inferred || cfg.Source != FileName {
		t.Fatalf("Inferred=%v Source=%q", cfg.Inferred, cfg.Source)
	}
	if _, err := cfg.Get("qa"); !errors.Is(err, ErrUnknownEnvironment) || !strings.Contains(err.Error(), "staging, production") {
		t.Fatalf("Get(qa) = %v, want the known environments listed", err)
	}
	if e, err := cfg.Get("production"); err != nil || e.Namespace != "web" {
		t.Fatalf("Get(production) = %+v, %v", e, err)
	}
	if cfg.Index("production") != 1 || cfg.Index("qa") != -1 {
		t.Fatal("Index")
	}

	bad := map[string]string{
		"typo in a field":  "environments:\n  - name: a\n    path: [x]\n",
		"no environments":  "environments: []\n",
		"no name":          "environments:\n  - paths: [x]\n",
		"no paths":         "environments:\n  - name: a\n",
		"duplicate":        "environments:\n  - name: a\n    paths: [x]\n  - name: a\n    paths: [y]\n",
		"escapes the repo": "environments:\n  - name: a\n    paths: [../other]\n",
		"absolute":         "environments:\n  - name: a\n    paths: [/etc]\n",
		"not yaml":         "environments: [\n",
	}
	for name, in := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse([]byte(in)); err == nil {
				t.Fatalf("Parse(%q) succeeded, want an error", in)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	root := t.TempDir()
	mk := func(p, data string) {
		t.Helper()
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mk("clusters/staging/a.yaml", "kind: X\n")
	cfg, err := Load(root)
	if err != nil || !cfg.Inferred || cfg.Names()[0] != "staging" {
		t.Fatalf("Load without file = %+v, %v", cfg, err)
	}
	mk(FileName, "environments:\n  - name: qa\n    paths: [envs/qa]\n")
	if _, err := Load(root); err == nil || !strings.Contains(err.Error(), "envs/qa does not exist") {
		t.Fatalf("Load with a missing path = %v", err)
	}
	mk("envs/qa/x.yaml", "kind: X\n")
	cfg, err = Load(root)
	if err != nil || cfg.Inferred || cfg.Names()[0] != "qa" {
		t.Fatalf("Load with file = %+v, %v", cfg, err)
	}
}
