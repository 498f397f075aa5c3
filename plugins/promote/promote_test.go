package promote

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/envs"
	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kube"
)

var update = flag.Bool("update", false, "rewrite golden files")

// gitEnv pins identity and dates so that commit hashes, and with them the
// golden files, are the same on every run; and keeps the machine's git
// configuration out.
func gitEnv(t testing.TB) {
	for k, v := range map[string]string{
		"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
		"GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
		"GIT_AUTHOR_DATE": "2026-01-02T03:04:05Z", "GIT_COMMITTER_DATE": "2026-01-02T03:04:05Z",
		"GIT_CONFIG_GLOBAL": os.DevNull, "GIT_CONFIG_NOSYSTEM": "1", "NO_COLOR": "",
	} {
		t.Setenv(k, v)
	}
}

func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	return binarytest.Git(t, nil, dir, args...)
}

// fixtureRepo copies testdata/<name> (or any directory) into a new Git
// repository with one commit and a bare "origin" next to it.
func fixtureRepo(t testing.TB, src string) (work, remote string) {
	t.Helper()
	gitEnv(t)
	work = filepath.Join(t.TempDir(), "work")
	binarytest.CopyTree(t, src, work)
	binarytest.Commit(t, nil, work, "initial")
	return work, binarytest.Publish(t, nil, work)
}

// run runs the promote command as the root command would, in dir.
func run(t testing.TB, dir string, checker deployChecker, args ...string) (stdout, stderr string, code exitcode.Code) {
	t.Helper()
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	// A root like the plugins package's, for the kubectl flags (-n, --context).
	root := &cobra.Command{Use: "gitops", SilenceErrors: true, SilenceUsage: true}
	flags := genericclioptions.NewConfigFlags(true)
	flags.AddFlags(root.PersistentFlags())
	root.AddCommand(newCmd(kube.NewFactory(flags, nil, nil), streams, hooks{checker: checker}))
	cmd := root
	if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--validate") || a == "--status" }) {
		// The fixtures' sources point at github.com: validation, which
		// would fetch them, is tested in check_test.go with local ones.
		args = append(args, "--validate=false")
	}
	cmd.SetArgs(append(append([]string{"promote"}, args...), "--repo", dir))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	err := cmd.ExecuteContext(context.Background())
	if err != nil {
		errOut.WriteString("error: " + err.Error() + "\n")
	}
	return out.String(), errOut.String(), exitcode.From(err)
}

// golden compares got with testdata/golden/name.golden.
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", "golden", name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Fatalf("output differs from %s (go test -update to accept):\n--- want\n%s\n--- got\n%s", p, want, got)
	}
}

var tmpRe = regexp.MustCompile(`/[^ \n]*/(work|remote\.git)`)

func scrubPaths(s string) string { return tmpRe.ReplaceAllString(s, "<tmp>/$1") }

func TestPromoteGolden(t *testing.T) {
	tests := []struct {
		name    string
		fixture string
		args    []string
	}{
		{"git-tag", "../../examples/flux-multi-env", []string{"sample-app", "--from", "staging", "--to", "production", "--values", "image.tag"}},
		{"git-tag-explicit", "../../examples/flux-multi-env", []string{"sample-app", "--from", "staging", "--to", "production", "--version", "v0.1.4", "-m", "Ship 0.1.4 to production\n\nTested in staging since Monday."}},
		{"helmrepo-exact", "testdata/helmrepo", []string{"podinfo", "--from", "staging", "--to", "production", "--values", "replicaCount"}},
		{"helmrepo-range-to-range", "testdata/helmrepo", []string{"redis", "--from", "staging", "--to", "production", "--version", "~19.6.0"}},
		{"oci-tag-flow-style", "testdata/oci", []string{"podinfo", "--from", "staging", "--to", "production"}},
		{"patch-inserts-version", "testdata/patch", []string{"podinfo", "--from", "staging", "--to", "production", "--version", "6.7.0", "-n", "podinfo"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			work, _ := fixtureRepo(t, tt.fixture)
			stdout, stderr, code := run(t, work, nil, tt.args...)
			if code != exitcode.OK {
				t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
			}
			if s := git(t, work, "status", "--porcelain"); s != "" {
				t.Fatalf("work tree not clean after the commit:\n%s", s)
			}
			show := git(t, work, "show", "--format=%B", "HEAD")
			// The hashes change with every edit of a fixture: check them
			// here, then name them in the golden file.
			head, parent := strings.TrimSpace(git(t, work, "rev-parse", "HEAD")), strings.TrimSpace(git(t, work, "rev-parse", "HEAD~1"))
			if !strings.Contains(show, "Promoted-Source-Commit: "+parent+"\n") {
				t.Fatalf("the source commit trailer is not %s:\n%s", parent, show)
			}
			if !strings.Contains(stdout, "Committed "+head[:12]+": ") {
				t.Fatalf("stdout does not name the new commit %s:\n%s", head[:12], stdout)
			}
			out := "$ promote " + strings.Join(tt.args, " ") + "\n" + stdout + "--- stderr\n" + stderr + "--- git show HEAD\n" + show
			out = strings.NewReplacer(parent, "<HEAD~1>", head[:12], "<HEAD>").Replace(out)
			golden(t, "promote-"+tt.name, scrubPaths(out))
		})
	}
}

func TestStatusGolden(t *testing.T) {
	tests := []struct {
		name    string
		fixture string
		args    []string
	}{
		{"multi-env", "../../examples/flux-multi-env", []string{"--status"}},
		{"multi-env-json", "../../examples/flux-multi-env", []string{"--status", "sample-app", "-o", "json"}},
		{"helmrepo-yaml", "testdata/helmrepo", []string{"--status", "-o", "yaml"}},
		{"helmrepo", "testdata/helmrepo", []string{"--status"}},
		{"oci", "testdata/oci", []string{"--status"}},
		{"patch", "testdata/patch", []string{"--status"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			work, _ := fixtureRepo(t, tt.fixture)
			stdout, stderr, code := run(t, work, nil, tt.args...)
			if code != exitcode.OK {
				t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
			}
			golden(t, "status-"+tt.name, "$ promote "+strings.Join(tt.args, " ")+"\n"+stdout+"--- stderr\n"+stderr)
		})
	}
}

// TestBadInput: every refusal exits with its code, says what to do, and
// leaves the checkout exactly as it was.
func TestBadInput(t *testing.T) {
	example := "../../examples/flux-multi-env"
	tests := []struct {
		name    string
		fixture string
		prepare func(t *testing.T, work string)
		args    []string
		code    exitcode.Code
		want    string
	}{
		{"unknown environment", example, nil, []string{"sample-app", "--from", "staging", "--to", "prod"},
			exitcode.NotFound, `unknown environment "prod": known environments are staging, production`},
		{"unknown source environment", example, nil, []string{"sample-app", "--from", "qa", "--to", "production"},
			exitcode.NotFound, `unknown environment "qa"`},
		{"release missing everywhere", example, nil, []string{"sample-ap", "--from", "staging", "--to", "production"},
			exitcode.NotFound, "HelmRelease sample-ap not found in environment staging"},
		{"release missing in the target", "testdata/helmrepo", func(t *testing.T, work string) {
			git(t, work, "rm", "-q", "clusters/production/redis.yaml")
			git(t, work, "commit", "-q", "-m", "no redis in production")
		}, []string{"redis", "--from", "staging", "--to", "production"},
			exitcode.NotFound, "HelmRelease redis not found in environment production"},
		{"sources of different kinds", "testdata/helmrepo", func(t *testing.T, work string) {
			replaceIn(t, work, "clusters/production/redis.yaml", "kind: HelmRepository", "kind: GitRepository")
			appendTo(t, work, "clusters/production/redis.yaml", "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: bitnami\n  namespace: flux-system\nspec:\n  ref:\n    tag: v1.0.0\n")
			git(t, work, "commit", "-q", "-am", "redis from git")
		}, []string{"redis", "--from", "staging", "--to", "production"},
			exitcode.Conflict, "staging takes the chart from a HelmRepository and production from a GitRepository"},
		{"version not semver", "testdata/helmrepo", nil, []string{"podinfo", "--from", "staging", "--to", "production", "--version", "latest-and-greatest"},
			exitcode.Usage, `"latest-and-greatest" is not a valid semver version or range`},
		{"range where a tag is needed", example, nil, []string{"sample-app", "--from", "staging", "--to", "production", "--version", ">=0.1.0"},
			exitcode.Usage, "is a version range, but this environment pins a tag"},
		{"range in the source, exact in the target", "testdata/helmrepo", nil, []string{"redis", "--from", "staging", "--to", "production"},
			exitcode.Usage, `staging's version is the range ">=19.0.0 <20.0.0" but production pins the exact version 19.6.4`},
		{"range in a patch, exact from the base", "testdata/patch", nil, []string{"podinfo", "--from", "staging", "--to", "production"},
			exitcode.Usage, "give the exact version to promote with --version"},
		{"dirty target file", example, func(t *testing.T, work string) {
			appendTo(t, work, "apps/production/sample-app-source.yaml", "# half-done edit\n")
		}, []string{"sample-app", "--from", "staging", "--to", "production"},
			exitcode.Conflict, "uncommitted changes"},
		{"downgrade", example, nil, []string{"sample-app", "--from", "production", "--to", "staging"},
			exitcode.Conflict, "staging would go down from v0.1.3 to v0.1.2: pass --allow-downgrade"},
		{"value not set in the source", example, nil, []string{"sample-app", "--from", "staging", "--to", "production", "--values", "image.repository"},
			exitcode.NotFound, "does not set spec.values.image.repository"},
		{"shared base", "testdata/oci", func(t *testing.T, work string) {
			// Move production's source into the base and drop staging's:
			// now both apply the base's.
			git(t, work, "mv", "deploy/podinfo/overlays/production/source.yaml", "deploy/podinfo/base/source.yaml")
			git(t, work, "rm", "-q", "deploy/podinfo/overlays/staging/source.yaml")
			replaceIn(t, work, "deploy/podinfo/overlays/production/kustomization.yaml", "  - source.yaml\n", "")
			replaceIn(t, work, "deploy/podinfo/overlays/staging/kustomization.yaml", "  - source.yaml\n", "")
			replaceIn(t, work, "deploy/podinfo/base/kustomization.yaml", "  - release.yaml\n", "  - release.yaml\n  - source.yaml\n")
			git(t, work, "commit", "-q", "-am", "shared source")
		}, []string{"podinfo", "--from", "staging", "--to", "production", "--version", "6.7.1"},
			exitcode.Conflict, "comes from the shared base deploy/podinfo/base/source.yaml"},
		{"same environment twice", example, nil, []string{"sample-app", "--from", "staging", "--to", "staging"},
			exitcode.Usage, "--from and --to are both"},
		{"missing --to", example, nil, []string{"sample-app", "--from", "staging"},
			exitcode.Usage, "missing --to"},
		{"--no-commit with --push", example, nil, []string{"sample-app", "--from", "staging", "--to", "production", "--no-commit", "--push"},
			exitcode.Usage, "--no-commit cannot be combined"},
		{"status with promotion flags", example, nil, []string{"--status", "--to", "production"},
			exitcode.Usage, "--status only reads"},
		{"--pr with --push", example, nil, []string{"sample-app", "--from", "staging", "--to", "production", "--pr", "--push"},
			exitcode.Usage, "--pr pushes a branch for review"},
		{"--pr-label without --pr", example, nil, []string{"sample-app", "--from", "staging", "--to", "production", "--pr-label", "x", "--draft"},
			exitcode.Usage, "--pr-label, --draft only apply with --pr"},
		{"--pr to a local remote", example, nil, []string{"sample-app", "--from", "staging", "--to", "production", "--pr"},
			exitcode.Usage, "is a local path, not a forge"},
		{"--pr with an unknown --forge", example, nil, []string{"sample-app", "--from", "staging", "--to", "production", "--pr", "--forge", "svn"},
			exitcode.Usage, `unknown forge "svn"`},
		{"status with --pr flags", example, nil, []string{"--status", "--pr-reviewer", "bob"},
			exitcode.Usage, "--status only reads"},
		{"status of an unknown release", example, nil, []string{"--status", "sample-ap"},
			exitcode.NotFound, "did you mean sample-app?"},
		{"bad .gitops.yaml", example, func(t *testing.T, work string) {
			replaceIn(t, work, ".gitops.yaml", "paths:", "path:")
			git(t, work, "commit", "-q", "-am", "typo")
		}, []string{"sample-app", "--from", "staging", "--to", "production"},
			exitcode.Usage, "field path not found"},
		{"require-deployed refused", example, nil, []string{"sample-app", "--from", "staging", "--to", "production", "--require-deployed"},
			exitcode.Failed, "staging is failing in the fake"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			work, remote := fixtureRepo(t, tt.fixture)
			if tt.prepare != nil {
				tt.prepare(t, work)
			}
			before := git(t, work, "status", "--porcelain") + git(t, work, "rev-parse", "HEAD")
			remoteBefore := git(t, remote, "rev-parse", "main")
			stdout, stderr, code := run(t, work, fakeChecker{err: exitcode.Errorf(exitcode.Failed, "refusing to promote: staging is failing in the fake")}, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tt.code, stdout, stderr)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Fatalf("stderr does not say %q:\n%s", tt.want, stderr)
			}
			after := git(t, work, "status", "--porcelain") + git(t, work, "rev-parse", "HEAD")
			if after != before || git(t, remote, "rev-parse", "main") != remoteBefore {
				t.Fatalf("the checkout or remote changed:\nbefore %s\nafter %s", before, after)
			}
		})
	}
}

type fakeChecker struct{ err error }

func (f fakeChecker) Check(context.Context, *envs.Environment, string, string, *chartSource) error {
	return f.err
}

func replaceIn(t *testing.T, work, file, old, new string) {
	t.Helper()
	p := filepath.Join(work, file)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s does not contain %q", file, old)
	}
	if err := os.WriteFile(p, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendTo(t *testing.T, work, file, text string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(work, file), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}
