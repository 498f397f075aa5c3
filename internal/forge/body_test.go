package forge

import (
	"io"
	"strings"
	"testing"
)

func TestBodyAndMeta(t *testing.T) {
	m := Meta{Command: "promote", HelmRelease: "apps/sample-app", From: "staging", To: "production"}
	body := Body(BodyInput{
		Summary:      "Promotes `apps/sample-app`.",
		Changes:      []string{"GitRepository x spec.ref.tag: v1 -> v2"},
		Notes:        []string{"production uses reconcileStrategy ChartVersion"},
		Diff:         "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n",
		Environments: "staging → production",
		Follow:       "kubectl gitops trace --helmrelease apps/sample-app --watch",
		Meta:         m,
	})
	for _, want := range []string{
		"Promotes `apps/sample-app`.\n\n**Environments:** staging → production\n\n### What changes\n\n- GitRepository x spec.ref.tag: v1 -> v2\n",
		"### Notes\n\n- production uses reconcileStrategy ChartVersion\n\n```diff\n--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n```\n",
		"```sh\nkubectl gitops trace --helmrelease apps/sample-app --watch\n```",
		`<!-- kubectl-gitops {"command":"promote","helmRelease":"apps/sample-app","from":"staging","to":"production"} -->`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	got, ok := ParseMeta("edited by a reviewer\n\n" + body)
	if !ok || got != m {
		t.Errorf("ParseMeta = %+v, %v; want %+v", got, ok, m)
	}
	for _, b := range []string{"", "no marker", "<!-- kubectl-gitops {} -->", "<!-- kubectl-gitops {not json} -->"} {
		if _, ok := ParseMeta(b); ok {
			t.Errorf("ParseMeta(%q) found a marker", b)
		}
	}
	// A diff holding a fence gets a longer one; a huge one is cut.
	body = Body(BodyInput{Summary: "s", Diff: "+```\n" + strings.Repeat("+x\n", maxDiff)})
	if !strings.Contains(body, "````diff\n") || !strings.Contains(body, "diff cut at") || len(body) > maxDiff+1000 {
		t.Errorf("fence or cut wrong (len %d):\n%.300s", len(body), body)
	}
}

func FuzzParseMeta(f *testing.F) {
	f.Add(Meta{Command: "promote", HelmRelease: "a/b", From: "x", To: "y"}.Marker())
	f.Add("<!-- kubectl-gitops {\"command\":\"\"} -->")
	f.Fuzz(func(t *testing.T, s string) {
		m, ok := ParseMeta(s)
		if ok && m.Command == "" {
			t.Fatalf("ParseMeta(%q) = %+v without a command", s, m)
		}
		if ok {
			if again, ok2 := ParseMeta(m.Marker()); !ok2 || again != m {
				t.Fatalf("round trip of %+v: %+v, %v", m, again, ok2)
			}
		}
	})
}

func TestOurs(t *testing.T) {
	for msg, want := range map[string]bool{
		"Promote a to b\n\nPromoted-HelmRelease: ns/a\nPromoted-From: x\n":     true,
		"override ns/a: x=1\n\nChanged-with: kubectl-gitops override v0.1.0\n": true,
		"fix typo\n": false,
		"mentions Promoted-HelmRelease: in a sentence\n": false,
	} {
		if got := ours(msg); got != want {
			t.Errorf("ours(%q) = %v", msg, got)
		}
	}
}

func TestFlagsValidate(t *testing.T) {
	for _, tc := range []struct {
		f   Flags
		err string
	}{
		{Flags{}, ""},
		{Flags{PR: true, Labels: []string{"a"}, Reviewers: []string{"bob", "org/team"}, Draft: true, Forge: "forgejo", URL: "https://git.example.com"}, ""},
		{Flags{Labels: []string{"a"}, Draft: true}, "--pr-label, --draft only apply with --pr"},
		{Flags{Forge: "gitea"}, "--forge only apply with --pr"},
		{Flags{PR: true, Forge: "svn"}, "unknown forge"},
		{Flags{PR: true, URL: "git.example.com"}, "not an http(s) URL"},
		{Flags{PR: true, Labels: []string{"a,b"}}, "one label per flag"},
		{Flags{PR: true, Reviewers: []string{"@bob"}}, "without @"},
	} {
		err := tc.f.Validate()
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%+v: %v, want %q", tc.f, err, tc.err)
		}
	}
}

func TestKindRef(t *testing.T) {
	if GitLab.Ref(7) != "!7" || GitHub.Ref(7) != "#7" || Gitea.Ref(12) != "#12" {
		t.Errorf("Ref: %s %s %s", GitLab.Ref(7), GitHub.Ref(7), Gitea.Ref(12))
	}
}

type fakeRendered string

func (f fakeRendered) WriteDiff(w io.Writer, color bool) (bool, error) {
	_, err := io.WriteString(w, string(f))
	return f != "", err
}

func TestBodyRendered(t *testing.T) {
	body := Body(BodyInput{Summary: "s", Rendered: fakeRendered("--- Deployment/x\n+  replicas: 5\n")})
	if !strings.Contains(body, "<details><summary>Rendered manifests</summary>\n\n```diff\n--- Deployment/x\n+  replicas: 5\n```\n\n</details>") {
		t.Errorf("body:\n%s", body)
	}
	if body := Body(BodyInput{Summary: "s", Rendered: fakeRendered("")}); strings.Contains(body, "Rendered") {
		t.Errorf("an unchanged render shows:\n%s", body)
	}
}
