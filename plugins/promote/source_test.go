package promote

import (
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
)

func TestTarget(t *testing.T) {
	hr := func(v string) *chartSource {
		return &chartSource{Kind: kindHelmRepository, RefType: refVersion, Value: v}
	}
	git := func(ref, v string) *chartSource { return &chartSource{Kind: kindGitRepository, RefType: ref, Value: v} }
	oci := func(ref, v string) *chartSource { return &chartSource{Kind: kindOCIRepository, RefType: ref, Value: v} }
	digest := "sha256:" + strings.Repeat("ab", 32)
	tests := []struct {
		name          string
		from, to      *chartSource
		explicit      string
		downgrade     bool
		want          string
		code          exitcode.Code
		errSays, note string
	}{
		{name: "helm exact up", from: hr("1.3.0"), to: hr("1.2.0"), want: "1.3.0"},
		{name: "helm range to range", from: hr("1.x"), to: hr(">=1.0.0"), want: "1.x"},
		{name: "helm exact onto a range", from: hr("1.3.0"), to: hr("1.x"), want: "1.3.0"},
		{name: "helm range onto exact", from: hr("1.x"), to: hr("1.2.0"), code: exitcode.Usage, errSays: "is the range"},
		{name: "helm unset source is a range", from: hr(""), to: hr("1.2.0"), code: exitcode.Usage, errSays: "is the range"},
		{name: "helm explicit", from: hr("1.x"), to: hr("1.2.0"), explicit: "1.4.0", want: "1.4.0"},
		{name: "helm explicit not semver", from: hr("1.3.0"), to: hr("1.2.0"), explicit: "banana", code: exitcode.Usage, errSays: "not a valid semver"},
		{name: "helm downgrade refused", from: hr("1.1.0"), to: hr("1.2.0"), code: exitcode.Conflict, errSays: "--allow-downgrade"},
		{name: "helm downgrade allowed", from: hr("1.1.0"), to: hr("1.2.0"), downgrade: true, want: "1.1.0", note: "downgrading"},
		{name: "prerelease is lower", from: hr("1.2.0-rc.1"), to: hr("1.2.0"), code: exitcode.Conflict, errSays: "would go down"},
		{name: "git tag up", from: git(refTag, "v0.1.3"), to: git(refTag, "v0.1.2"), want: "v0.1.3"},
		{name: "git tag down", from: git(refTag, "v0.1.1"), to: git(refTag, "v0.1.2"), code: exitcode.Conflict, errSays: "would go down from v0.1.2 to v0.1.1"},
		{name: "git non-semver tags are not compared", from: git(refTag, "release-b"), to: git(refTag, "release-c"), want: "release-b"},
		{name: "git semver range", from: git(refSemver, ">=0.2.0"), to: git(refSemver, ">=0.1.0"), want: ">=0.2.0"},
		{name: "git tag vs semver", from: git(refTag, "v0.1.3"), to: git(refSemver, "0.1.x"), code: exitcode.Conflict, errSays: "pins its GitRepository by tag and production by semver"},
		{name: "git tag vs semver with --version", from: git(refTag, "v0.1.3"), to: git(refSemver, "0.1.x"), explicit: "0.2.x", want: "0.2.x"},
		{name: "git range where a tag is needed", from: git(refTag, "v0.1.3"), to: git(refTag, "v0.1.2"), explicit: "^0.1.0", code: exitcode.Usage, errSays: "pins a tag"},
		{name: "git commit", from: git(refCommit, "0123456789abcdef0123456789abcdef01234567"), to: git(refCommit, "fedcba9876543210fedcba9876543210fedcba98"), want: "0123456789abcdef0123456789abcdef01234567", note: "cannot tell"},
		{name: "git bad commit", from: git(refCommit, "abc1234"), to: git(refCommit, "abc1235"), explicit: "not-a-sha", code: exitcode.Usage, errSays: "not a commit hash"},
		{name: "git branch", from: git(refBranch, "release"), to: git(refBranch, "main"), want: "release", note: "follows branch"},
		{name: "oci digest", from: oci(refDigest, digest), to: oci(refDigest, "sha256:"+strings.Repeat("cd", 32)), want: digest, note: "cannot tell"},
		{name: "oci bad digest", from: oci(refDigest, digest), to: oci(refDigest, digest), explicit: "sha256:xyz", code: exitcode.Usage, errSays: "not a digest"},
		{name: "oci tag", from: oci(refTag, "6.7.1"), to: oci(refTag, "6.6.0"), want: "6.7.1"},
		{name: "different kinds", from: hr("1.2.0"), to: git(refTag, "v1"), code: exitcode.Conflict, errSays: "from a HelmRepository and production from a GitRepository"},
		{name: "oci vs git", from: oci(refTag, "1"), to: git(refTag, "1"), code: exitcode.Conflict, errSays: "same kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, notes, err := target(tt.from, tt.to, "staging", "production", tt.explicit, tt.downgrade)
			if tt.errSays != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errSays) || exitcode.From(err) != tt.code {
					t.Fatalf("err = %v (code %d), want code %d saying %q", err, exitcode.From(err), tt.code, tt.errSays)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("target = %q, want %q", got, tt.want)
			}
			if joined := strings.Join(notes, "\n"); tt.note != "" && !strings.Contains(joined, tt.note) || tt.note == "" && joined != "" {
				t.Fatalf("notes = %q, want one saying %q", joined, tt.note)
			}
		})
	}
}

func TestRevisionMatches(t *testing.T) {
	sha := strings.Repeat("a1", 20)
	tests := []struct {
		ref, want, rev string
		ok             bool
	}{
		{refTag, "v0.1.3", "v0.1.3@sha1:" + sha, true},
		{refTag, "v0.1.3", "v0.1.2@sha1:" + sha, false},
		{refTag, "v0.1.3", "", false},
		{refBranch, "main", "main@sha1:" + sha, true},
		{refBranch, "main", "refs/heads/main@sha1:" + sha, true},
		{refName, "refs/tags/v1", "refs/tags/v1@sha1:" + sha, true},
		{refCommit, sha[:12], "sha1:" + sha, true},
		{refCommit, "deadbeef", "sha1:" + sha, false},
		{refSemver, ">=0.1.0 <0.2.0", "v0.1.7@sha1:" + sha, true},
		{refSemver, ">=0.2.0", "v0.1.7@sha1:" + sha, false},
		{refDigest, "sha256:" + sha, "latest@sha256:" + sha, true},
		{refTag, "6.7.1", "6.7.1@sha256:" + sha, true},
	}
	for _, tt := range tests {
		if got := revisionMatches(tt.ref, tt.want, tt.rev); got != tt.ok {
			t.Errorf("revisionMatches(%s, %q, %q) = %v, want %v", tt.ref, tt.want, tt.rev, got, tt.ok)
		}
	}
}

func TestVersionMatches(t *testing.T) {
	tests := []struct {
		want, got string
		ok        bool
	}{
		{"0.1.2", "0.1.2", true},
		{"0.1.2", "0.1.2+a1ec31cde25a", true},
		{"0.1.2", "0.1.3", false},
		{">=0.1.0 <0.2.0", "0.1.9", true},
		{">=0.1.0 <0.2.0", "0.2.0", false},
		{"", "1.0.0", true},
		{"*", "", false},
	}
	for _, tt := range tests {
		if got := versionMatches(tt.want, tt.got); got != tt.ok {
			t.Errorf("versionMatches(%q, %q) = %v, want %v", tt.want, tt.got, got, tt.ok)
		}
	}
}
