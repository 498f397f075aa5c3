package trace

import (
	"context"
	"path"
	"sync"

	"k8s.io/apimachinery/pkg/types"

	"github.com/kubectl-gitops/kubectl-gitops/internal/commitcache"
	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxmodel"
	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxstatus"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
)

// factCache answers the model's questions about the commit with git, once
// per revision: commits never change, so in --watch a redraw only runs git
// for revisions it has not seen.
type factCache struct {
	repo   *gitrepo.Repo
	commit *gitrepo.Commit
	store  *commitcache.Store

	mu        sync.Mutex
	base      *fluxstatus.Commit
	relations map[string]fluxstatus.Relation
	subjects  map[string]string
	builds    map[string]string
}

func newFactCache(repo *gitrepo.Repo, c *gitrepo.Commit, store *commitcache.Store) *factCache {
	return &factCache{repo: repo, commit: c, store: store, relations: map[string]fluxstatus.Relation{},
		subjects: map[string]string{}, builds: map[string]string{}}
}

// facts returns the commit's facts for the questions q.
func (fc *factCache) facts(ctx context.Context, input string, q fluxstatus.Questions) (*fluxstatus.Commit, error) {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if fc.base == nil {
		c := &fluxstatus.Commit{Input: input, SHA: fc.commit.SHA, Subject: fc.commit.Subject, CommittedAt: fc.commit.CommittedAt}
		// Whether the commit is pushed changes with time; what it
		// changed does not: the two are asked side by side.
		var pushErr error
		pushed := make(chan struct{})
		go func() { defer close(pushed); c.Pushed, pushErr = fc.repo.IsPushed(ctx, c.SHA) }()
		d, err := fc.derive(ctx, c.SHA)
		<-pushed
		if err != nil {
			return nil, err
		}
		if pushErr != nil {
			return nil, pushErr
		}
		c.Paths, c.HelmReleases = d.Paths, d.HelmReleases
		fc.base = c
	}
	for _, rev := range q.Revisions {
		if err := fc.relate(ctx, rev); err != nil {
			return nil, err
		}
	}
	for _, b := range q.ChartBuilds {
		key := b.Key() + "|" + b.Observed
		intro, ok := fc.builds[key]
		if !ok {
			if _, has := fc.repo.HasCommit(ctx, b.Observed); has {
				var err error
				if intro, err = fc.repo.VersionIntroducedBy(ctx, b.Observed, b.Path, b.Version); err != nil {
					return nil, err
				}
			}
			fc.builds[key] = intro
		}
		if intro != "" {
			if err := fc.relate(ctx, intro); err != nil {
				return nil, err
			}
		}
	}
	out := *fc.base
	out.Relations = make(map[string]fluxstatus.Relation, len(fc.relations))
	for k, v := range fc.relations {
		out.Relations[k] = v
	}
	out.Subjects = make(map[string]string, len(fc.subjects))
	for k, v := range fc.subjects {
		out.Subjects[k] = v
	}
	out.ChartBuilds = map[string]string{}
	for _, b := range q.ChartBuilds {
		if intro := fc.builds[b.Key()+"|"+b.Observed]; intro != "" {
			out.ChartBuilds[b.Key()] = intro
		}
	}
	return &out, nil
}

// derived is what the commit's content alone answers, kept in the commit
// cache between runs.
type derived struct {
	Paths        []string               `json:"paths"`
	HelmReleases []types.NamespacedName `json:"helmReleases"`
}

// derivedKind names trace's entries in the commit cache; a change to what
// derived holds or how it is computed changes the name.
const derivedKind = "trace-touched-v1"

// derive returns the paths the commit changed and the HelmReleases they
// reach, from the commit cache or else from git and the model.
func (fc *factCache) derive(ctx context.Context, sha string) (derived, error) {
	var d derived
	if fc.store.Get(derivedKind, sha, &d) {
		return d, nil
	}
	var err error
	if d.Paths, err = fc.repo.ChangedPaths(ctx, sha); err != nil {
		return d, err
	}
	if d.HelmReleases, err = fc.touched(ctx, sha, d.Paths); err != nil {
		return d, err
	}
	_ = fc.store.Put(derivedKind, sha, d) // no cache is a slower run, not a failure
	return d, nil
}

// touched lists the HelmReleases whose object or values come from the
// files the commit changed, by applied identity, from the model of what
// the repository applies at the commit (fluxmodel): a patch in an
// overlay reaches the release it patches, under the overlay's name and
// namespace, and a file nobody includes reaches nothing. A commit that
// changed no YAML file reaches no release and builds no model.
func (fc *factCache) touched(ctx context.Context, sha string, paths []string) ([]types.NamespacedName, error) {
	yamlChanged := false
	for _, p := range paths {
		if ext := path.Ext(p); ext == ".yaml" || ext == ".yml" || path.Base(p) == "Kustomization" {
			yamlChanged = true
			break
		}
	}
	if !yamlChanged {
		return nil, nil
	}
	m, err := fluxmodel.LoadCommit(ctx, fc.repo, sha)
	if err != nil {
		return nil, err
	}
	seen := map[types.NamespacedName]bool{}
	var out []types.NamespacedName
	for _, r := range m.Touching(paths) {
		k := types.NamespacedName{Namespace: r.Namespace, Name: r.Name}
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out, nil
}

func (fc *factCache) relate(ctx context.Context, rev string) error {
	if _, ok := fc.relations[rev]; ok {
		return nil
	}
	// The cluster runs the traced commit itself (the usual case once it is
	// deployed): its subject is known, and its full SHA needs no git.
	if rev == fc.commit.SHA {
		fc.relations[rev] = fluxstatus.Same
		fc.subjects[rev] = fc.commit.Subject
		return nil
	}
	full, ok := fc.repo.HasCommit(ctx, rev)
	if !ok {
		fc.relations[rev] = fluxstatus.Unknown
		return nil
	}
	if full == fc.commit.SHA {
		fc.relations[rev], fc.relations[full] = fluxstatus.Same, fluxstatus.Same
		fc.subjects[full] = fc.commit.Subject
		return nil
	}
	rel := fluxstatus.Contains
	in, err := fc.repo.IsAncestor(ctx, fc.commit.SHA, full)
	if err != nil {
		return err
	}
	if !in {
		behind, err := fc.repo.IsAncestor(ctx, full, fc.commit.SHA)
		if err != nil {
			return err
		}
		rel = fluxstatus.Diverged
		if behind {
			rel = fluxstatus.Behind
		}
	}
	fc.relations[rev] = rel
	fc.relations[full] = rel
	if c, err := fc.repo.ResolveCommit(ctx, full); err == nil {
		fc.subjects[full] = c.Subject
	}
	return nil
}
