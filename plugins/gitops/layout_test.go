package gitops_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The core knows no CLI: no package under internal/ imports a flag or
// command library (pflag, cobra), nor the command tree; the flags are
// bound in plugins/ and the core takes plain config. (internal/kube
// reaches pflag only through cli-runtime's ConfigFlags, the kubectl flags
// it builds clients from.)
func TestCoreImportsNoCLI(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-test", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "../../internal/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const module = "github.com/kubectl-gitops/kubectl-gitops/"
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		// A test variant is listed as "pkg [pkg.test]": its Imports are
		// the test files' too.
		pkg := strings.TrimSuffix(f[0], ".test")
		if !strings.HasPrefix(pkg, module+"internal/") {
			continue
		}
		checked++
		for _, imp := range f[1:] {
			switch {
			case imp == "github.com/spf13/pflag", imp == "github.com/spf13/cobra",
				strings.HasPrefix(imp, module+"plugins"), strings.HasPrefix(imp, module+"cmd/"):
				t.Errorf("%s imports %s: bind flags and build commands under plugins/, and pass the core plain config", f[0], imp)
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d packages under internal/ listed; the check would prove nothing", checked)
	}
}

// The environment is read one way: through the Getenv main injects (the
// factory's, or a config's Getenv field), never os.Getenv in a command or
// the core, so tests can give each run its own environment.
func TestEnvironmentIsInjected(t *testing.T) {
	allowed := map[string]bool{
		// Test helpers: they build the environment of the runs they start.
		"../../internal/binarytest": true, "../../internal/kube/kubefake": true,
		// The root's default when Options.Getenv is nil, as main passes.
		"../gitops": true,
	}
	fset := token.NewFileSet()
	checked := 0
	for _, root := range []string{"../../internal", ".."} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || allowed[filepath.Dir(path)] {
				return err
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			if f.Name.Name == "main" {
				// A program's main reads its own environment, as
				// cmd/kubectl-gitops does (internal/binarytest/peakrss).
				return nil
			}
			checked++
			ast.Inspect(f, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == "os" && (sel.Sel.Name == "Getenv" || sel.Sel.Name == "LookupEnv" || sel.Sel.Name == "Environ") {
					t.Errorf("%s: os.%s: read the environment through the injected Getenv (kube.Factory.Getenv, or a config's Getenv field)", fset.Position(sel.Pos()), sel.Sel.Name)
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if checked < 100 {
		t.Fatalf("only %d files checked", checked)
	}
}

// docs/architecture.md names every package of the tree, and no package
// that is not there.
func TestArchitectureDocMatchesTree(t *testing.T) {
	doc, err := os.ReadFile("../../docs/architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "list", "-f", "{{.Dir}}", "../../cmd/...", "../../internal/...", "../../plugins/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, dir := range strings.Fields(string(out)) {
		rel, err := filepath.Rel(root, dir)
		if err != nil {
			t.Fatal(err)
		}
		have[filepath.ToSlash(rel)] = true
	}
	// Paths the text gives: packages, or files in one (the package is
	// the folder).
	named := map[string]bool{}
	for _, m := range regexp.MustCompile(`\b(?:cmd|internal|plugins)(?:/[a-z_-]+)+(\.[a-z]+)?`).FindAllStringSubmatch(string(doc), -1) {
		if m[1] != "" {
			m[0] = m[0][:strings.LastIndex(m[0], "/")]
		}
		named[m[0]] = true
	}
	for pkg := range have {
		// A package of the core may be named by its name alone (the picture
		// groups them); commands and mains by their path.
		base := pkg[strings.LastIndex(pkg, "/")+1:]
		if !named[pkg] && !(strings.HasPrefix(pkg, "internal/") && regexp.MustCompile(`\b`+regexp.QuoteMeta(base)+`\b`).Match(doc)) {
			t.Errorf("docs/architecture.md does not name %s", pkg)
		}
	}
	for pkg := range named {
		if !have[pkg] {
			t.Errorf("docs/architecture.md names %s, which is not a package of the tree", pkg)
		}
	}
}
