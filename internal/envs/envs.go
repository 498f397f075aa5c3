// Package envs holds the environments of a GitOps repository: which
// directories make up "staging" or "production", in promotion order, and
// where each one's cluster is.
//
// They come from `.gitops.yaml` at the repository root when it exists, or
// else are inferred from the common Flux layouts (see Infer). The schema is
// documented in docs/promote.md.
package envs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
)

// FileName is the configuration file looked for at the repository root.
const FileName = ".gitops.yaml"

// Environment is one stage of the promotion pipeline.
type Environment struct {
	// Name is what users type after --from and --to.
	Name string `yaml:"name" json:"name"`
	// Paths are the directories or files (relative to the repo root, slash
	// separated) that belong to this environment alone. Promotion writes
	// only here.
	Paths []string `yaml:"paths" json:"paths"`
	// Bases are shared directories the environment builds on (kustomize
	// bases). They are read to complete what an overlay patches, never
	// written: a change there would move every environment at once.
	Bases []string `yaml:"bases,omitempty" json:"bases,omitempty"`
	// Context is the kube context of this environment's cluster; empty
	// means the current context (or --context).
	Context string `yaml:"context,omitempty" json:"context,omitempty"`
	// Namespace is where this environment's HelmReleases live when the
	// manifests leave it to kustomize; it is also the default for -n.
	Namespace string `yaml:"namespace,omitempty" json:"namespace,omitempty"`
}

// Config is the ordered list of environments, earliest first.
type Config struct {
	Environments []Environment `yaml:"environments" json:"environments"`
	// Source says where the list came from: ".gitops.yaml" or a sentence
	// naming the inferred layout. Tools print it so that users can see
	// what was guessed.
	Source string `yaml:"-" json:"-"`
	// Inferred is true when no .gitops.yaml was found.
	Inferred bool `yaml:"-" json:"-"`
}

// ErrNoEnvironments means neither a .gitops.yaml nor a known layout was found.
var ErrNoEnvironments = errors.New("no environments found")

// ErrUnknownEnvironment is returned by Get for a name not in the list.
var ErrUnknownEnvironment = exitcode.New(exitcode.NotFound, "unknown environment")

// Names lists the environments in order.
func (c *Config) Names() []string {
	out := make([]string, len(c.Environments))
	for i, e := range c.Environments {
		out[i] = e.Name
	}
	return out
}

// Get returns the environment called name, or an error listing the known ones.
func (c *Config) Get(name string) (*Environment, error) {
	for i := range c.Environments {
		if c.Environments[i].Name == name {
			return &c.Environments[i], nil
		}
	}
	return nil, fmt.Errorf("%w %q: known environments are %s (from %s)",
		ErrUnknownEnvironment, name, strings.Join(c.Names(), ", "), c.Source)
}

// Index returns the position of name in the promotion order, or -1.
func (c *Config) Index(name string) int {
	for i, e := range c.Environments {
		if e.Name == name {
			return i
		}
	}
	return -1
}

// ConfigError is a .gitops.yaml, or a layout without one, that does not
// describe environments: the user has to fix the file (exit code 2).
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// ExitCode is 2: the file (or the layout) is what to fix.
func (e *ConfigError) ExitCode() int { return int(exitcode.Usage) }

// Load reads root/.gitops.yaml, or infers the environments from the layout
// under root when the file does not exist. What is wrong with the file or
// the layout is a *ConfigError.
func Load(root string) (*Config, error) { return LoadFS(os.DirFS(root)) }

// LoadFS is Load of the repository whose root is fsys (the disk, or a
// commit's tree).
func LoadFS(fsys fs.FS) (*Config, error) {
	b, err := fs.ReadFile(fsys, FileName)
	switch {
	case err == nil:
		cfg, err := Parse(b)
		if err != nil {
			return nil, &ConfigError{fmt.Errorf("%s: %w", FileName, err)}
		}
		if err := cfg.checkPaths(fsys); err != nil {
			return nil, &ConfigError{fmt.Errorf("%s: %w", FileName, err)}
		}
		return cfg, nil
	case errors.Is(err, fs.ErrNotExist):
		cfg, err := Infer(fsys)
		if err != nil {
			return nil, &ConfigError{err}
		}
		return cfg, nil
	default:
		return nil, fmt.Errorf("reading %s: %w", FileName, err)
	}
}

// Parse decodes and validates a .gitops.yaml. Unknown fields are errors so
// that a typo ("path:" for "paths:") does not silently promote nothing.
func Parse(b []byte) (*Config, error) {
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("invalid YAML: %w (see docs/promote.md for the schema)", err)
	}
	cfg.Source = FileName
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

func (c *Config) validate() error {
	if len(c.Environments) == 0 {
		return fmt.Errorf("%w: list at least one under `environments`", ErrNoEnvironments)
	}
	seen := map[string]bool{}
	for i := range c.Environments {
		e := &c.Environments[i]
		if e.Name == "" {
			return fmt.Errorf("environment #%d has no name", i+1)
		}
		if seen[e.Name] {
			return fmt.Errorf("environment %q is listed twice", e.Name)
		}
		seen[e.Name] = true
		if len(e.Paths) == 0 {
			return fmt.Errorf("environment %q has no paths: list the directories of its manifests", e.Name)
		}
		for j, p := range e.Paths {
			clean, err := cleanRel(p)
			if err != nil {
				return fmt.Errorf("environment %q: path %q: %w", e.Name, p, err)
			}
			e.Paths[j] = clean
		}
		for j, p := range e.Bases {
			clean, err := cleanRel(p)
			if err != nil {
				return fmt.Errorf("environment %q: base %q: %w", e.Name, p, err)
			}
			e.Bases[j] = clean
		}
	}
	return nil
}

// checkPaths makes sure every listed path exists, so that a renamed
// directory is reported instead of looking like a missing HelmRelease.
func (c *Config) checkPaths(fsys fs.FS) error {
	for _, e := range c.Environments {
		for _, p := range append(append([]string{}, e.Paths...), e.Bases...) {
			if _, err := fs.Stat(fsys, p); err != nil {
				return fmt.Errorf("environment %q: path %s does not exist in the repository (fix paths in %s)", e.Name, p, FileName)
			}
		}
	}
	return nil
}

func cleanRel(p string) (string, error) {
	p = path.Clean(filepath.ToSlash(strings.TrimPrefix(p, "./")))
	if path.IsAbs(p) || p == ".." || strings.HasPrefix(p, "../") {
		return "", errors.New("must be relative to the repository root and stay inside it")
	}
	return p, nil
}

// rank orders the usual environment names the way pipelines run them;
// anything else sorts after them, alphabetically.
var rank = map[string]int{
	"local": 0, "dev": 1, "develop": 1, "development": 1, "test": 2, "testing": 2, "qa": 3, "uat": 4,
	"integration": 4, "stage": 5, "staging": 5, "preprod": 6, "pre-production": 6, "canary": 7,
	"prod": 8, "production": 8,
}

func sortEnvs(envs []Environment) {
	sort.SliceStable(envs, func(i, j int) bool {
		ri, iok := rank[envs[i].Name]
		rj, jok := rank[envs[j].Name]
		switch {
		case iok && jok && ri != rj:
			return ri < rj
		case iok != jok:
			return iok
		}
		return envs[i].Name < envs[j].Name
	})
}

// Infer recognises the common Flux repository layouts:
//
//   - apps/base + apps/<env> (flux2-kustomize-helm-example): each apps/<env>
//     overlay is an environment, with clusters/<env> added when it exists
//     (it usually holds that cluster's sources), and apps/base as its base;
//   - <dir>/base + <dir>/overlays/<env> (kustomize's own convention, one
//     directory per app): each overlay name is an environment made of every
//     app's overlays/<env>;
//   - clusters/<env> alone: each cluster directory is an environment.
//
// The first layout that matches wins.
func Infer(fsys fs.FS) (*Config, error) {
	if cfg := inferAppsBase(fsys); cfg != nil {
		return cfg, nil
	}
	if cfg := inferOverlays(fsys); cfg != nil {
		return cfg, nil
	}
	if cfg := inferClusters(fsys); cfg != nil {
		return cfg, nil
	}
	return nil, fmt.Errorf("%w: no %s at the repository root and no known layout (apps/base + apps/<env>, <app>/base + <app>/overlays/<env>, clusters/<env>); write a %s (see docs/promote.md)",
		ErrNoEnvironments, FileName, FileName)
}

func subdirs(fsys fs.FS, dir string) []string {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out
}

func isDir(fsys fs.FS, p string) bool {
	st, err := fs.Stat(fsys, p)
	return err == nil && st.IsDir()
}

func inferAppsBase(fsys fs.FS) *Config {
	if !isDir(fsys, "apps/base") {
		return nil
	}
	var envs []Environment
	for _, d := range subdirs(fsys, "apps") {
		if d == "base" {
			continue
		}
		e := Environment{Name: d, Paths: []string{"apps/" + d}, Bases: []string{"apps/base"}}
		if isDir(fsys, "clusters/"+d) {
			e.Paths = append(e.Paths, "clusters/"+d)
		}
		envs = append(envs, e)
	}
	if len(envs) == 0 {
		return nil
	}
	sortEnvs(envs)
	return &Config{Environments: envs, Inferred: true, Source: "the apps/base + apps/<env> layout"}
}

func inferOverlays(fsys fs.FS) *Config {
	byEnv := map[string]*Environment{}
	var order []string
	// Walk a few levels only: overlays sit near the top in this layout, and
	// a deep walk of a big monorepo would cost more than it finds.
	var walk func(dir string, depth int)
	walk = func(dir string, depth int) {
		if depth > 3 {
			return
		}
		for _, d := range subdirs(fsys, dir) {
			p := path.Join(dir, d)
			if d == "overlays" && isDir(fsys, path.Join(dir, "base")) {
				for _, env := range subdirs(fsys, p) {
					e, ok := byEnv[env]
					if !ok {
						e = &Environment{Name: env}
						byEnv[env] = e
						order = append(order, env)
					}
					e.Paths = append(e.Paths, path.Join(p, env))
					e.Bases = append(e.Bases, path.Join(dir, "base"))
				}
				continue
			}
			walk(p, depth+1)
		}
	}
	walk(".", 0)
	if len(order) == 0 {
		return nil
	}
	envs := make([]Environment, 0, len(order))
	for _, name := range order {
		envs = append(envs, *byEnv[name])
	}
	sortEnvs(envs)
	return &Config{Environments: envs, Inferred: true, Source: "the <app>/base + <app>/overlays/<env> layout"}
}

func inferClusters(fsys fs.FS) *Config {
	var envs []Environment
	for _, d := range subdirs(fsys, "clusters") {
		envs = append(envs, Environment{Name: d, Paths: []string{"clusters/" + d}})
	}
	if len(envs) == 0 {
		return nil
	}
	sortEnvs(envs)
	return &Config{Environments: envs, Inferred: true, Source: "the clusters/<env> layout"}
}

// Describe is the one-paragraph account of the environments that commands
// print when they were inferred.
func (c *Config) Describe() string {
	var b strings.Builder
	if c.Inferred {
		fmt.Fprintf(&b, "No %s; inferred environments from %s (write a %s to change this):\n", FileName, c.Source, FileName)
	} else {
		fmt.Fprintf(&b, "Environments from %s:\n", FileName)
	}
	for _, e := range c.Environments {
		fmt.Fprintf(&b, "  %s: %s", e.Name, strings.Join(e.Paths, ", "))
		if len(e.Bases) > 0 {
			fmt.Fprintf(&b, " (base %s)", strings.Join(uniq(e.Bases), ", "))
		}
		if e.Context != "" {
			fmt.Fprintf(&b, " context %s", e.Context)
		}
		if e.Namespace != "" {
			fmt.Fprintf(&b, " namespace %s", e.Namespace)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func uniq(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// Sort orders environments in promotion order (dev before staging before
// production, the rest by name), as Infer does.
func Sort(envs []Environment) { sortEnvs(envs) }
