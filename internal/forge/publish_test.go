package forge

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
)

// publishRepo is a checkout on main whose origin looks like GitHub to the
// user; git is told to use a bare repository next to it instead.
type publishRepo struct {
	t          *testing.T
	work, bare string
	repo       *gitrepo.Repo
	env        []string
}

func newPublishRepo(t *testing.T) *publishRepo {
	t.Helper()
	dir := t.TempDir()
	p := &publishRepo{t: t, work: filepath.Join(dir, "work"), bare: filepath.Join(dir, "remote.git")}
	p.env = []string{"HOME=" + dir, "GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.com"}
	p.git(dir, "init", "-q", "--bare", "-b", "main", p.bare)
	if err := os.MkdirAll(p.work, 0o755); err != nil {
		t.Fatal(err)
	}
	p.git(p.work, "init", "-q", "-b", "main")
	p.git(p.work, "config", "url."+p.bare+".insteadOf", "https://github.com/acme/fleet.git")
	p.git(p.work, "remote", "add", "origin", "https://github.com/acme/fleet.git")
	p.commit("f.yaml", "a: 1\n", "init", "")
	p.git(p.work, "push", "-q", "-u", "origin", "main")
	p.repo = &gitrepo.Repo{Root: p.work, Env: p.env}
	return p
}

func (p *publishRepo) git(dir string, args ...string) string {
	p.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), p.env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		p.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func (p *publishRepo) commit(file, data, subject, trailer string) {
	p.t.Helper()
	if err := os.WriteFile(filepath.Join(p.work, file), []byte(data), 0o644); err != nil {
		p.t.Fatal(err)
	}
	msg := subject
	if trailer != "" {
		msg += "\n\n" + trailer
	}
	p.git(p.work, "add", file)
	p.git(p.work, "commit", "-q", "-m", msg)
}

// ourCommit makes branch at main with one kubectl-gitops commit, and
// checks main out again.
func (p *publishRepo) ourCommit(branch, value string) {
	p.t.Helper()
	p.git(p.work, "checkout", "-q", "-B", branch, "main")
	p.commit("f.yaml", "a: "+value+"\n", "Promote a", "Promoted-HelmRelease: ns/a")
	p.git(p.work, "checkout", "-q", "main")
}

func (p *publishRepo) options(srvURL string, out *bytes.Buffer) PublishOptions {
	return PublishOptions{
		Repo: p.repo, Branch: "promote/production/a", URL: srvURL, TokenEnv: "GH_ENTERPRISE_TOKEN",
		Getenv: func(k string) string {
			if k == "GH_ENTERPRISE_TOKEN" {
				return replayToken
			}
			return ""
		},
		Out: out,
	}
}

func TestPublishOpensThenUpdates(t *testing.T) {
	p := newPublishRepo(t)
	fake, srv := newFakeForge(t, GitHub)
	ctx := context.Background()
	var out bytes.Buffer

	pub, err := Prepare(ctx, p.options(srv.URL, &out))
	if err != nil {
		t.Fatal(err)
	}
	if pub.Start != "main" || pub.Remote != "origin" || pub.Base != "main" || pub.LocalExists {
		t.Fatalf("Prepare: %+v", pub)
	}
	p.ourCommit("promote/production/a", "2")
	res, err := pub.Publish(ctx, Spec{Title: "Promote a", Body: "b1"})
	if err != nil || !res.Created || !res.Pushed || res.PullRequest.Number != 1 {
		t.Fatalf("Publish = %+v, %v\n%s", res, err, fake.requests())
	}
	if got := p.git(p.bare, "rev-parse", "promote/production/a"); got != p.git(p.work, "rev-parse", "promote/production/a") {
		t.Errorf("remote branch at %s", got)
	}
	if !strings.Contains(out.String(), "Pushed branch promote/production/a to origin.\nOpened pull request #1: https://github.example.com/acme/fleet/pull/1\n") {
		t.Errorf("output:\n%s", out.String())
	}

	// Second run: the local and remote branches are ours, so they are
	// rebuilt and force-pushed, and the same request is updated.
	out.Reset()
	pub, err = Prepare(ctx, p.options(srv.URL, &out))
	if err != nil || !pub.LocalExists {
		t.Fatalf("second Prepare: %+v, %v", pub, err)
	}
	p.ourCommit("promote/production/a", "3")
	res, err = pub.Publish(ctx, Spec{Title: "Promote a", Body: "b2"})
	if err != nil || res.Created || !res.Pushed || res.PullRequest.Body != "b2" {
		t.Fatalf("second Publish = %+v, %v", res, err)
	}
	if got := p.git(p.bare, "show", "promote/production/a:f.yaml"); got != "a: 3" {
		t.Errorf("remote has %q", got)
	}
	if !strings.Contains(out.String(), "replacing kubectl-gitops's previous commit") || !strings.Contains(out.String(), "Updated pull request #1") {
		t.Errorf("output:\n%s", out.String())
	}
	if strings.Contains(out.String(), replayToken) {
		t.Error("output shows the token")
	}

	// Third run, same change on the same base: the commit on the remote
	// stays, and the local branch moves onto it.
	out.Reset()
	remoteHead := p.git(p.bare, "rev-parse", "promote/production/a")
	pub, err = Prepare(ctx, p.options(srv.URL, &out))
	if err != nil {
		t.Fatal(err)
	}
	p.ourCommit("promote/production/a", "3")
	// The same change, made at another time: another commit.
	p.git(p.work, "checkout", "-q", "promote/production/a")
	p.git(p.work, "commit", "-q", "--amend", "--no-edit", "--date=2001-01-01T00:00:00")
	p.git(p.work, "checkout", "-q", "main")
	if p.git(p.work, "rev-parse", "promote/production/a") == remoteHead {
		t.Fatal("fixture: the new commit is the old one")
	}
	res, err = pub.Publish(ctx, Spec{Title: "Promote a", Body: "b3"})
	if err != nil || res.Pushed || res.Created {
		t.Fatalf("third Publish = %+v, %v", res, err)
	}
	if got := p.git(p.bare, "rev-parse", "promote/production/a"); got != remoteHead {
		t.Errorf("remote moved %s -> %s", remoteHead, got)
	}
	if got := p.git(p.work, "rev-parse", "promote/production/a"); got != remoteHead {
		t.Errorf("local branch at %s, want the remote's %s", got, remoteHead)
	}
	if !strings.Contains(out.String(), "is up to date") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestPublishRefusesForeignBranches(t *testing.T) {
	ctx := context.Background()
	t.Run("remote", func(t *testing.T) {
		p := newPublishRepo(t)
		_, srv := newFakeForge(t, GitHub)
		p.git(p.work, "checkout", "-q", "-b", "promote/production/a")
		p.commit("g.yaml", "x\n", "someone's work", "")
		p.git(p.work, "push", "-q", "origin", "promote/production/a")
		p.git(p.work, "checkout", "-q", "main")
		p.git(p.work, "branch", "-q", "-D", "promote/production/a")
		_, err := Prepare(ctx, p.options(srv.URL, &bytes.Buffer{}))
		if exitcode.From(err) != exitcode.Conflict || !strings.Contains(err.Error(), "exists on origin with commit") || !strings.Contains(err.Error(), "someone's work") {
			t.Fatalf("err = %v (exit %d)", err, exitcode.From(err))
		}
	})
	t.Run("local", func(t *testing.T) {
		p := newPublishRepo(t)
		_, srv := newFakeForge(t, GitHub)
		p.git(p.work, "checkout", "-q", "-b", "promote/production/a")
		p.commit("g.yaml", "x\n", "local work", "")
		p.git(p.work, "checkout", "-q", "main")
		_, err := Prepare(ctx, p.options(srv.URL, &bytes.Buffer{}))
		if exitcode.From(err) != exitcode.Conflict || !strings.Contains(err.Error(), "local branch promote/production/a has commit") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("moved meanwhile", func(t *testing.T) {
		p := newPublishRepo(t)
		_, srv := newFakeForge(t, GitHub)
		pub, err := Prepare(ctx, p.options(srv.URL, &bytes.Buffer{}))
		if err != nil {
			t.Fatal(err)
		}
		// Someone pushes the branch between Prepare and Publish: the lease
		// ("must not exist") refuses to overwrite it.
		p.ourCommit("other", "9")
		p.git(p.work, "push", "-q", "origin", "other:refs/heads/promote/production/a")
		p.ourCommit("promote/production/a", "2")
		_, err = pub.Publish(ctx, Spec{Title: "t"})
		if exitcode.From(err) != exitcode.Conflict || !strings.Contains(err.Error(), "changed on origin while this ran") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("unpushed commits", func(t *testing.T) {
		p := newPublishRepo(t)
		_, srv := newFakeForge(t, GitHub)
		p.commit("g.yaml", "x\n", "not pushed yet", "")
		_, err := Prepare(ctx, p.options(srv.URL, &bytes.Buffer{}))
		if exitcode.From(err) != exitcode.Conflict || !strings.Contains(err.Error(), "main has 1 commit(s) not on origin/main") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("checked out", func(t *testing.T) {
		p := newPublishRepo(t)
		_, srv := newFakeForge(t, GitHub)
		p.git(p.work, "checkout", "-q", "-b", "promote/production/a")
		_, err := Prepare(ctx, p.options(srv.URL, &bytes.Buffer{}))
		if exitcode.From(err) != exitcode.Usage || !strings.Contains(err.Error(), "is checked out") {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestPublishReportsPushedBranch: when the forge refuses the request, the
// error says the branch is pushed and how to finish.
func TestPublishReportsPushedBranch(t *testing.T) {
	p := newPublishRepo(t)
	fake, srv := newFakeForge(t, GitHub)
	ctx := context.Background()
	pub, err := Prepare(ctx, p.options(srv.URL, &bytes.Buffer{}))
	if err != nil {
		t.Fatal(err)
	}
	p.ourCommit("promote/production/a", "2")
	fake.fail.prefix, fake.fail.status, fake.fail.body = "POST /api/v3/repos/acme/fleet/pulls", 422, `{"message":"Validation Failed","errors":[{"message":"base main is protected"}]}`
	_, err = pub.Publish(ctx, Spec{Title: "t"})
	for _, want := range []string{"branch promote/production/a is pushed to origin", "HTTP 422", "base main is protected", "run the same command again",
		srv.URL + "/acme/fleet/compare/main...promote/production/a"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if got := p.git(p.bare, "rev-parse", "--verify", "promote/production/a"); got == "" {
		t.Error("branch not pushed")
	}
}
