package override_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOverrideKeysAndNames: an alias used as a values key matches like the
// key it names; empty key segments are usage errors; -n is never matched
// silently against a HelmRelease the repository gives no namespace; a
// HelmRelease symlinked from outside the repository is refused.
func TestOverrideKeysAndNames(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "outside.yaml")
	writeFile(t, outside, "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: linked\n  namespace: shop\nspec:\n  values:\n    a: 1\n")
	_, clones := setup(t, 1, map[string]string{
		"apps/aliased.yaml": "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: &app web\n  namespace: shop\nspec:\n  values:\n    *app :\n      image:\n        tag: \"1.0\"\n",
		"apps/nons.yaml":    "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: nons\nspec:\n  values:\n    a: 1\n",
	})
	dir := clones[0]
	if err := os.Symlink(outside, filepath.Join(dir, "apps", "linked.yaml")); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "add", "apps/linked.yaml")
	git(t, dir, "commit", "-q", "-m", "link")

	r := run(t, dir, "override", "web", "--set", "web.image.tag=2.0", "--validate=false")
	if r.ExitCode != 0 {
		t.Fatalf("alias key: exit %d\n%s", r.ExitCode, r.Stderr)
	}
	if got := git(t, dir, "show", "HEAD:apps/aliased.yaml"); !strings.Contains(got, "    *app :\n      image:\n        tag: \"2.0\"") {
		t.Errorf("alias key edit:\n%s", got)
	}
	head := git(t, dir, "rev-parse", "HEAD")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"web", "--set", "=x"}, 2, "empty segment"},
		{[]string{"web", "--set", ".a=x"}, 2, "empty segment"},
		{[]string{"web", "--set-string", "a..b=x"}, 2, "invalid --set-string"},
		{[]string{"nons", "-n", "prod", "--set", "a=2"}, 3, "has no namespace in the repository"},
		{[]string{"linked", "--set", "a=2"}, 2, "outside the repository"},
	} {
		r := run(t, dir, append(append([]string{"override"}, c.args...), "--validate=false")...)
		if r.ExitCode != c.code || !strings.Contains(r.Stderr, c.want) {
			t.Errorf("%v: exit %d, want %d and %q\n%s%s", c.args, r.ExitCode, c.code, c.want, r.Stdout, r.Stderr)
		}
	}
	if git(t, dir, "rev-parse", "HEAD") != head || git(t, dir, "status", "--porcelain") != "" {
		t.Error("a refused run changed the checkout")
	}
	if got, _ := os.ReadFile(outside); !strings.Contains(string(got), "a: 1") {
		t.Errorf("the file outside the repository changed:\n%s", got)
	}
}
