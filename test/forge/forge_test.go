//go:build forge

// Package forge_test runs `promote --pr` and `override --pr` end to end
// against a real Gitea server built from Go modules and started on
// loopback for this package (test/forge/giteaserver). hack/test.sh runs it
// with `go test -tags forge ./test/forge/`.
package forge_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kubectl-gitops/kubectl-gitops/internal/binarytest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/forge"
	"github.com/kubectl-gitops/kubectl-gitops/test/forge/giteaserver"
)

var srv *giteaserver.Server

func TestMain(m *testing.M) {
	root, err := filepath.Abs("../..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "kubectl-gitops-gitea-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	start := time.Now()
	srv, err = giteaserver.Start(context.Background(), giteaserver.Options{Root: root, Dir: dir, Log: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting Gitea:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "Gitea %s at %s, ready in %s\n", srv.Version, srv.URL, time.Since(start).Round(time.Millisecond))
	code := binarytest.Main(m)
	if code != 0 {
		fmt.Fprint(os.Stderr, srv.LogTail())
	}
	srv.Stop()
	os.RemoveAll(dir)
	os.Exit(code)
}

// fleet is a checkout of examples/flux-multi-env whose origin is a fresh
// repository on the test Gitea, pushed over HTTP with the admin's password
// in a credential store (never in a URL).
type fleet struct {
	t          *testing.T
	name, work string
	env        []string
	// outputs collects every run's stdout and stderr, to check that no
	// token ever shows.
	outputs []string
}

func newFleet(t *testing.T) *fleet {
	t.Helper()
	ctx := context.Background()
	name := strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "-"))
	cloneURL, err := srv.CreateRepo(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	cred, err := srv.CredentialFile(home)
	if err != nil {
		t.Fatal(err)
	}
	env := binarytest.Env(home, "Promoter", "promoter@example.com")
	// The user's global git config: the credential helper Git uses for the
	// forge, as a user's would.
	if err := os.WriteFile(filepath.Join(home, ".gitconfig"), []byte("[credential]\n\thelper = store --file="+cred+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := &fleet{t: t, name: name, work: filepath.Join(t.TempDir(), "fleet"), env: env}
	binarytest.CopyTree(t, "../../examples/flux-multi-env", f.work)
	binarytest.Commit(t, env, f.work, "fleet")
	f.git("remote", "add", "origin", cloneURL)
	f.git("push", "-q", "-u", "origin", "main")
	// Gitea marks a repository non-empty once its push queue has handled
	// the first push; until then the pulls API answers 404.
	eventually(t, "the repository to be non-empty", func() (bool, string) {
		var repo struct {
			Empty bool `json:"empty"`
		}
		_, err := srv.API(ctx, http.MethodGet, "/repos/"+srv.Admin+"/"+name, nil, &repo)
		return err == nil && !repo.Empty, fmt.Sprintf("empty=%v err=%v", repo.Empty, err)
	})
	return f
}

// eventually polls cond until it holds, for what Gitea does after a push
// in its background queues (updating a pull request's head and merge
// base); it fails the test after a minute.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(time.Minute)
	for {
		ok, state := cond()
		if ok {
			if d := time.Since(start); d > time.Second {
				t.Logf("waited %s for %s", d.Round(time.Millisecond), what)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s; last: %s", what, state)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (f *fleet) git(args ...string) string {
	f.t.Helper()
	return binarytest.Git(f.t, f.env, f.work, args...)
}

// run runs kubectl-gitops in the checkout with extra environment.
func (f *fleet) run(extraEnv []string, args ...string) binarytest.Result {
	f.t.Helper()
	r := binarytest.Run(f.t, append(append([]string{}, f.env...), extraEnv...), f.work, binarytest.Build(f.t), args...)
	f.outputs = append(f.outputs, r.Stdout, r.Stderr)
	return r
}

func tokenEnv() []string { return []string{"GITEA_TOKEN=" + srv.Token} }

// noSecrets fails when any output holds the token or the password.
func (f *fleet) noSecrets() {
	f.t.Helper()
	for _, out := range f.outputs {
		for _, secret := range []string{srv.Token, srv.Password} {
			if strings.Contains(out, secret) {
				f.t.Errorf("an output contains a secret:\n%s", out)
			}
		}
	}
}

// edit replaces old with new in a file of the checkout, commits and pushes.
func (f *fleet) edit(file, old, new, msg string) {
	f.t.Helper()
	p := filepath.Join(f.work, file)
	data, err := os.ReadFile(p)
	if err != nil {
		f.t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		f.t.Fatalf("%s does not contain %q", file, old)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		f.t.Fatal(err)
	}
	f.git("commit", "-q", "-am", msg)
	f.git("push", "-q", "origin", "main")
}

type apiPull struct {
	Number int64  `json:"number"`
	Title  string `json:"title"`
	Body   string `json:"body"`
	State  string `json:"state"`
	Head   struct {
		Ref string `json:"ref"`
		Sha string `json:"sha"`
	} `json:"head"`
	Base struct {
		Ref string `json:"ref"`
	} `json:"base"`
	Labels []struct {
		Name string `json:"name"`
	} `json:"labels"`
	RequestedReviewers []struct {
		Login string `json:"login"`
	} `json:"requested_reviewers"`
}

type apiFile struct {
	Filename  string `json:"filename"`
	Status    string `json:"status"`
	Additions int    `json:"additions"`
	Deletions int    `json:"deletions"`
}

func (f *fleet) api(path string, out any) {
	f.t.Helper()
	if _, err := srv.API(context.Background(), http.MethodGet, "/repos/"+srv.Admin+"/"+f.name+path, nil, out); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fleet) openPulls() []apiPull {
	f.t.Helper()
	var prs []apiPull
	f.api("/pulls?state=open", &prs)
	return prs
}

// changedLines is the diff's added and removed lines, without headers.
func changedLines(diff string) []string {
	var out []string
	for _, l := range strings.Split(diff, "\n") {
		if (strings.HasPrefix(l, "+") || strings.HasPrefix(l, "-")) && !strings.HasPrefix(l, "+++") && !strings.HasPrefix(l, "---") {
			out = append(out, l)
		}
	}
	return out
}

// checkPromotionPR checks, through Gitea's API, that the one open request
// is the promotion and that its diff is exactly tag old -> new in
// production's source file.
func (f *fleet) checkPromotionPR(oldTag, newTag string) apiPull {
	f.t.Helper()
	prs := f.openPulls()
	if len(prs) != 1 {
		f.t.Fatalf("%d open pull requests, want 1: %+v", len(prs), prs)
	}
	pr := prs[0]
	if pr.Head.Ref != "promote/production/sample-app" || pr.Base.Ref != "main" {
		f.t.Errorf("pull request %s -> %s, want promote/production/sample-app -> main", pr.Head.Ref, pr.Base.Ref)
	}
	// The head is the commit the checkout made (Gitea moves the request's
	// head in its push queue, after the push returns).
	local := strings.TrimSpace(f.git("rev-parse", "promote/production/sample-app"))
	eventually(f.t, "the pull request's head to be the pushed commit", func() (bool, string) {
		f.api(fmt.Sprintf("/pulls/%d", pr.Number), &pr)
		return pr.Head.Sha == local, "head " + pr.Head.Sha + ", local " + local
	})
	if oldTag != "v0.1.2" {
		f.t.Fatalf("fixture: production starts at v0.1.2")
	}
	want := "-    tag: v0.1.2\n+    tag: " + newTag
	eventually(f.t, "the pull request's diff to be exactly the promotion", func() (bool, string) {
		var files []apiFile
		f.api(fmt.Sprintf("/pulls/%d/files", pr.Number), &files)
		var diff string
		f.api(fmt.Sprintf("/pulls/%d.diff", pr.Number), &diff)
		got := strings.Join(changedLines(diff), "\n")
		ok := len(files) == 1 && files[0].Filename == "apps/production/sample-app-source.yaml" && files[0].Additions == 1 && files[0].Deletions == 1 && got == want
		return ok, fmt.Sprintf("files %+v, want apps/production/sample-app-source.yaml +1 -1; changed lines:\n%s\nwant exactly:\n%s\nfull diff:\n%s", files, got, want, diff)
	})
	for _, want := range []string{
		"Promote sample-app to production: tag " + newTag + " (from staging)",
	} {
		if pr.Title != want {
			f.t.Errorf("title %q, want %q", pr.Title, want)
		}
	}
	for _, want := range []string{
		"`sample-app-production/sample-app` from **staging** to **production**: tag " + newTag,
		"**Environments:** staging → production",
		"GitRepository sample-app-chart spec.ref.tag (`apps/production/sample-app-source.yaml`): v0.1.2 -> " + newTag,
		"```diff\n--- a/apps/production/sample-app-source.yaml",
		"git pull && kubectl gitops trace --helmrelease sample-app-production/sample-app --watch",
	} {
		if !strings.Contains(pr.Body, want) {
			f.t.Errorf("body lacks %q:\n%s", want, pr.Body)
		}
	}
	if m, ok := forge.ParseMeta(pr.Body); !ok || m.Command != "promote" || m.From != "staging" || m.To != "production" || m.HelmRelease != "sample-app-production/sample-app" {
		f.t.Errorf("body marker: %+v, %v", m, ok)
	}
	return pr
}

// TestPromotePR is the "done when": promote --pr opens a pull
// request on the test Gitea whose diff is exactly the promotion, a second
// run after a further change updates it, and the token never shows.
func TestPromotePR(t *testing.T) {
	f := newFleet(t)
	mainBefore := f.git("rev-parse", "main")

	// --dry-run checks the forge, the token and the branch, and stops.
	r := f.run(tokenEnv(), "promote", "sample-app", "--from", "staging", "--to", "production", "--pr", "--dry-run")
	if r.ExitCode != 0 || !strings.Contains(r.Stdout, "Dry run: nothing written.") || len(f.openPulls()) != 0 ||
		f.git("ls-remote", "origin", "refs/heads/promote/*") != "" || f.git("branch", "--list", "promote/*") != "" {
		t.Fatalf("--pr --dry-run: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}

	r = f.run(tokenEnv(), "promote", "sample-app", "--from", "staging", "--to", "production", "--pr")
	if r.ExitCode != 0 {
		t.Fatalf("exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	if !regexp.MustCompile(`Opened pull request #1: ` + regexp.QuoteMeta(srv.URL) + `/gitops-admin/` + f.name + `/pulls/1\n`).MatchString(r.Stdout) {
		t.Errorf("stdout does not report the new pull request:\n%s", r.Stdout)
	}
	if !strings.Contains(r.Stdout, "Pushed branch promote/production/sample-app to origin.") {
		t.Errorf("stdout does not report the push:\n%s", r.Stdout)
	}
	first := f.checkPromotionPR("v0.1.2", "v0.1.3")
	// The checkout is back on main, which is as it was.
	if b := strings.TrimSpace(f.git("branch", "--show-current")); b != "main" {
		t.Errorf("checked out %s after --pr, want main", b)
	}
	if got := f.git("rev-parse", "main"); got != mainBefore {
		t.Errorf("main moved: %s -> %s", mainBefore, got)
	}
	if st := f.git("status", "--porcelain"); st != "" {
		t.Errorf("work tree not clean:\n%s", st)
	}

	// Staging moves on; promoting again updates the same request.
	f.edit("apps/staging/sample-app-source.yaml", "tag: v0.1.3", "tag: v0.1.4", "staging: v0.1.4")
	r = f.run(tokenEnv(), "promote", "sample-app", "--from", "staging", "--to", "production", "--pr")
	if r.ExitCode != 0 {
		t.Fatalf("second run: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	if !strings.Contains(r.Stdout, "Updated pull request #1: ") || !strings.Contains(r.Stdout, "replacing kubectl-gitops's previous commit") {
		t.Errorf("second run does not report the update:\n%s", r.Stdout)
	}
	second := f.checkPromotionPR("v0.1.2", "v0.1.4")
	if second.Number != first.Number || second.Head.Sha == first.Head.Sha {
		t.Errorf("second run: pull request #%d at %s, first #%d at %s", second.Number, second.Head.Sha, first.Number, first.Head.Sha)
	}

	// Nothing new: the branch keeps its commit and the request is updated.
	r = f.run(tokenEnv(), "promote", "sample-app", "--from", "staging", "--to", "production", "--pr", "--pr-label", "promotion")
	if r.ExitCode != 0 || !strings.Contains(r.Stdout, "Branch promote/production/sample-app on origin is up to date.") || !strings.Contains(r.Stdout, "Updated pull request #1") {
		t.Fatalf("third run: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	if again := f.checkPromotionPR("v0.1.2", "v0.1.4"); again.Head.Sha != second.Head.Sha {
		t.Errorf("third run moved the head from %s to %s", second.Head.Sha, again.Head.Sha)
	}
	if prs := f.openPulls(); len(prs) != 1 || len(prs[0].Labels) != 1 || prs[0].Labels[0].Name != "promotion" {
		t.Errorf("after --pr-label: %+v", prs)
	}

	// --status lists the open request under the environment it targets.
	r = f.run(tokenEnv(), "promote", "--status")
	want := "Open requests:\n  sample-app -> production: #1 Promote sample-app to production: tag v0.1.4 (from staging) (promote/production/sample-app)\n      " +
		srv.URL + "/gitops-admin/" + f.name + "/pulls/1\n"
	if r.ExitCode != 0 || !strings.Contains(r.Stdout, want) {
		t.Errorf("--status: exit %d\n%s%s\nwant:\n%s", r.ExitCode, r.Stdout, r.Stderr, want)
	}
	r = f.run(tokenEnv(), "promote", "--status", "-o", "json")
	if r.ExitCode != 0 || !strings.Contains(r.Stdout, `"openRequests": [`) || !strings.Contains(r.Stdout, `"head": "promote/production/sample-app"`) {
		t.Errorf("--status -o json: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	// Without a token the matrix still prints, with a note.
	r = f.run(nil, "promote", "--status")
	if r.ExitCode != 0 || strings.Contains(r.Stdout, "Open requests") || !strings.Contains(r.Stderr, "note: open pull requests not shown: no token") {
		t.Errorf("--status without a token: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	f.noSecrets()
}

// TestPromotePRLabelsReviewersDraft: --pr-label creates and sets the
// label, --pr-reviewer asks for a review, --draft marks it work in
// progress (Gitea's WIP: prefix).
func TestPromotePRLabelsReviewersDraft(t *testing.T) {
	f := newFleet(t)
	ctx := context.Background()
	if err := srv.CreateUser(ctx, "reviewer1"); err != nil && !strings.Contains(err.Error(), "already exists") {
		t.Fatal(err)
	}
	if err := srv.GrantWrite(ctx, f.name, "reviewer1"); err != nil {
		t.Fatal(err)
	}
	r := f.run(tokenEnv(), "promote", "sample-app", "--from", "staging", "--to", "production",
		"--pr", "--branch", "release/prod-0.1.3", "--pr-label", "promotion", "--pr-label", "env/production", "--pr-reviewer", "reviewer1", "--draft")
	if r.ExitCode != 0 {
		t.Fatalf("exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	prs := f.openPulls()
	if len(prs) != 1 {
		t.Fatalf("open pull requests: %+v", prs)
	}
	pr := prs[0]
	if pr.Head.Ref != "release/prod-0.1.3" || !strings.HasPrefix(pr.Title, "WIP: Promote sample-app") {
		t.Errorf("head %s title %q", pr.Head.Ref, pr.Title)
	}
	var labels []string
	for _, l := range pr.Labels {
		labels = append(labels, l.Name)
	}
	if strings.Join(labels, ",") != "env/production,promotion" && strings.Join(labels, ",") != "promotion,env/production" {
		t.Errorf("labels %v", labels)
	}
	if len(pr.RequestedReviewers) != 1 || pr.RequestedReviewers[0].Login != "reviewer1" {
		t.Errorf("requested reviewers %+v", pr.RequestedReviewers)
	}
	f.noSecrets()
}

// TestPromotePRRefusesForeignBranch: a branch of that name on the remote
// with someone else's commit is never overwritten (exit 6), and nothing
// changes locally.
func TestPromotePRRefusesForeignBranch(t *testing.T) {
	f := newFleet(t)
	f.git("switch", "-q", "-c", "promote/production/sample-app")
	f.edit("README.md", "# ", "# (someone's edit) ", "someone's work in progress")
	f.git("push", "-q", "origin", "promote/production/sample-app")
	f.git("switch", "-q", "main")
	f.git("branch", "-q", "-D", "promote/production/sample-app")
	remoteHead := f.git("ls-remote", "origin", "refs/heads/promote/production/sample-app")

	r := f.run(tokenEnv(), "promote", "sample-app", "--from", "staging", "--to", "production", "--pr")
	if r.ExitCode != 6 {
		t.Fatalf("exit %d, want 6\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	if !strings.Contains(r.Stderr, "branch promote/production/sample-app exists on origin with commit") ||
		!strings.Contains(r.Stderr, "someone's work in progress") || !strings.Contains(r.Stderr, "pick another --branch") {
		t.Errorf("stderr does not explain the refusal:\n%s", r.Stderr)
	}
	if got := f.git("ls-remote", "origin", "refs/heads/promote/production/sample-app"); got != remoteHead {
		t.Errorf("remote branch moved: %s -> %s", remoteHead, got)
	}
	if out := f.git("branch", "--list", "promote/*"); out != "" {
		t.Errorf("a local branch was left behind: %s", out)
	}
	if len(f.openPulls()) != 0 {
		t.Error("a pull request was opened")
	}
	f.noSecrets()
}

// TestPromotePRTokenErrors: a refused token (401) and a missing one stop
// the command before anything is written, say what to do, and never show
// the token.
func TestPromotePRTokenErrors(t *testing.T) {
	f := newFleet(t)
	bad := "0123456789abcdef0123456789abcdef01234567"
	r := f.run([]string{"GITEA_TOKEN=" + bad}, "promote", "sample-app", "--from", "staging", "--to", "production", "--pr")
	if r.ExitCode != 1 || !strings.Contains(r.Stderr, "HTTP 401") || !strings.Contains(r.Stderr, "set GITEA_TOKEN") || !strings.Contains(r.Stderr, "nothing was changed") {
		t.Errorf("bad token: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	if strings.Contains(r.Stdout+r.Stderr, bad) {
		t.Errorf("the refused token is shown:\n%s%s", r.Stdout, r.Stderr)
	}
	r = f.run(nil, "promote", "sample-app", "--from", "staging", "--to", "production", "--pr")
	if r.ExitCode != 2 || !strings.Contains(r.Stderr, "no token for Gitea at 127.0.0.1:") || !strings.Contains(r.Stderr, "GITEA_TOKEN") {
		t.Errorf("no token: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	if out := f.git("branch", "--list", "promote/*"); out != "" {
		t.Errorf("a local branch was left behind: %s", out)
	}
	if got := f.git("ls-remote", "origin", "refs/heads/promote/*"); got != "" {
		t.Errorf("a branch was pushed: %s", got)
	}
	f.noSecrets()
}

// TestOverridePR: override --pr opens a request with the values diff, and
// a second run with the same flags updates it.
func TestOverridePR(t *testing.T) {
	f := newFleet(t)
	args := []string{"override", "sample-app", "-n", "sample-app-production", "--set", "replicaCount=5", "--pr", "--forge", "gitea"}
	r := f.run(tokenEnv(), args...)
	if r.ExitCode != 0 || !strings.Contains(r.Stdout, "Opened pull request #1") {
		t.Fatalf("exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	prs := f.openPulls()
	if len(prs) != 1 || prs[0].Head.Ref != "override/sample-app-production/sample-app" {
		t.Fatalf("open pull requests: %+v", prs)
	}
	var diff string
	f.api("/pulls/1.diff", &diff)
	if got := strings.Join(changedLines(diff), "\n"); got != "-    replicaCount: 3\n+    replicaCount: 5" {
		t.Errorf("diff changes:\n%s", got)
	}
	if !strings.Contains(prs[0].Body, "replicaCount=5") || !strings.Contains(prs[0].Body, "**Environments:** production") {
		t.Errorf("body:\n%s", prs[0].Body)
	}
	r = f.run(tokenEnv(), append(args, "-o", "json")...)
	if r.ExitCode != 0 || !strings.Contains(r.Stdout, `"pullRequest": "`+srv.URL) || !strings.Contains(r.Stderr, "Updated pull request #1") {
		t.Fatalf("second run: exit %d\n%s%s", r.ExitCode, r.Stdout, r.Stderr)
	}
	if n := len(f.openPulls()); n != 1 {
		t.Errorf("%d open pull requests after the second run, want 1", n)
	}
	f.noSecrets()
}
