package fluxstatus

import (
	"path"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// Relation is how a revision seen in the cluster relates to the traced commit,
// as established by the Git side (merge-base --is-ancestor in the checkout).
type Relation string

const (
	// Same: the revision is the commit.
	Same Relation = "same"
	// Contains: the revision descends from the commit (the commit was
	// superseded by a later one that carries it).
	Contains Relation = "contains"
	// Behind: the revision is an ancestor of the commit: not there yet.
	Behind Relation = "behind"
	// Diverged: neither contains the other (another branch, a rewritten history).
	Diverged Relation = "diverged"
	// Unknown: the revision is not in the local checkout (git fetch).
	Unknown Relation = "unknown"
)

func (r Relation) included() bool { return r == Same || r == Contains }

// Commit is what the Git side knows about the traced commit. The model never
// runs git; the plugin answers the questions Questions asks and fills this in.
type Commit struct {
	Input       string
	SHA         string
	Subject     string
	CommittedAt time.Time
	// Pushed: some remote-tracking branch contains the commit.
	Pushed bool
	// Paths the commit touched (relative to the repository root).
	Paths []string
	// HelmReleases the commit touched: those whose object or values come
	// from a file it changed, by applied identity, in the model of what the
	// repository applies at the commit (Namespace is empty for a release
	// of a plain-files repository that does not say).
	HelmReleases []types.NamespacedName
	// Relations maps a revision (full SHA, or the 12-hex prefix Flux puts in
	// chart versions) to its relation with the commit.
	Relations map[string]Relation
	// Subjects maps SHAs to their subject lines, for "deployed by".
	Subjects map[string]string
	// ChartBuilds maps ChartBuild.Key() to the SHA of the commit that set the
	// chart's current version (ChartVersion strategy).
	ChartBuilds map[string]string
}

// Relation returns the relation of rev (any SHA form, or "branch@sha1:hex")
// with the commit.
func (c *Commit) Relation(rev string) Relation {
	sha := RevisionSHA(rev)
	if sha == "" {
		return Unknown
	}
	if strings.HasPrefix(c.SHA, sha) || strings.HasPrefix(sha, c.SHA) {
		return Same
	}
	if r, ok := c.Relations[sha]; ok {
		return r
	}
	for k, r := range c.Relations {
		if strings.HasPrefix(k, sha) || strings.HasPrefix(sha, k) {
			return r
		}
	}
	return Unknown
}

func (c *Commit) subject(sha string) string {
	for k, s := range c.Subjects {
		if strings.HasPrefix(k, sha) || strings.HasPrefix(sha, k) {
			return s
		}
	}
	return ""
}

// RevisionSHA extracts the hex commit from the revision strings Flux uses:
// "main@sha1:<hex>", "sha1:<hex>", "refs/...@sha1:<hex>", "<hex>", and the
// "+<12 hex>" suffix of chart versions built with reconcileStrategy Revision.
func RevisionSHA(rev string) string {
	if i := strings.LastIndex(rev, ":"); i >= 0 {
		rev = rev[i+1:]
	}
	if i := strings.LastIndex(rev, "+"); i >= 0 {
		rev = rev[i+1:]
	}
	if i := strings.LastIndex(rev, "@"); i >= 0 {
		rev = rev[i+1:]
	}
	if len(rev) < 7 || !isHex(rev) {
		return ""
	}
	return strings.ToLower(rev)
}

// ChartVersionSHA returns the +<sha> suffix of a chart version, if any.
func ChartVersionSHA(version string) string {
	_, suffix, ok := strings.Cut(version, "+")
	if !ok || len(suffix) < 7 || !isHex(suffix) {
		return ""
	}
	return strings.ToLower(suffix)
}

func isHex(s string) bool {
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

// ChartBuild is a question for the Git side: which commit set version
// Version of the chart at Path, looking back from Observed?
type ChartBuild struct {
	Path     string // chart directory, relative to the repo root, cleaned
	Version  string
	Observed string // SHA the HelmChart last looked at
}

// Key identifies the build in Commit.ChartBuilds.
func (b ChartBuild) Key() string { return b.Path + "@" + b.Version }

// Questions is what the Git side must answer before Trace can decide.
type Questions struct {
	// Revisions to relate to the commit (full SHAs or 12-hex prefixes).
	Revisions []string
	// ChartBuilds for HelmCharts with the ChartVersion strategy.
	ChartBuilds []ChartBuild
}

// Ask lists the questions for the releases downstream of sources.
func Ask(c *Cluster, sources []types.NamespacedName) Questions {
	var q Questions
	seen := map[string]bool{}
	addRev := func(rev string) {
		if s := RevisionSHA(rev); s != "" && !seen[s] {
			seen[s] = true
			q.Revisions = append(q.Revisions, s)
		}
	}
	for _, src := range sources {
		if gr := c.gitRepository(src); gr != nil && gr.Status.Artifact != nil {
			addRev(gr.Status.Artifact.Revision)
		}
	}
	for _, l := range links(c, sources, nil) {
		if l.kustomization != nil {
			addRev(l.kustomization.Status.LastAppliedRevision)
			addRev(l.kustomization.Status.LastAttemptedRevision)
		}
		if l.chart == nil {
			continue
		}
		hc := l.chart
		addRev(hc.Status.ObservedSourceArtifactRevision)
		if hc.Status.Artifact != nil {
			if s := ChartVersionSHA(hc.Status.Artifact.Revision); s != "" {
				addRev(s)
			} else if o := RevisionSHA(hc.Status.ObservedSourceArtifactRevision); o != "" {
				q.ChartBuilds = append(q.ChartBuilds, ChartBuild{Path: cleanPath(hc.Spec.Chart), Version: hc.Status.Artifact.Revision, Observed: o})
			}
		}
		if hr := l.hr; hr != nil {
			addRev(ChartVersionSHA(hr.Status.LastAttemptedRevision))
			for _, s := range hr.Status.History {
				addRev(ChartVersionSHA(s.ChartVersion))
			}
		}
	}
	return q
}

func cleanPath(p string) string {
	p = path.Clean(strings.TrimPrefix(strings.TrimSpace(p), "./"))
	if p == "." {
		return ""
	}
	return strings.TrimPrefix(p, "/")
}
