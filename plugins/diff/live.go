package diff

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"github.com/kubectl-gitops/kubectl-gitops/internal/envs"
	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxmodel"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kube"
	"github.com/kubectl-gitops/kubectl-gitops/internal/live"
	"github.com/kubectl-gitops/kubectl-gitops/internal/releasecheck"
)

// LiveFlags are --live and the flags that go with it.
type LiveFlags struct {
	// Live compares the new render with what the cluster runs: the
	// deployed Helm release and the live objects (internal/live).
	Live bool
	// All compares every HelmRelease of HEAD, not only those the range changes.
	All bool
	// Envs and AllEnvs pick environments of .gitops.yaml, each compared
	// with its own cluster (its context).
	Envs    []string
	AllEnvs bool
}

// AddFlags registers --live, --all, --env and --all-envs.
func (l *LiveFlags) AddFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&l.Live, "live", false, "Compare the new render with the cluster: the Helm release helm-controller last deployed, and the live objects (server-side dry-run apply as helm-controller), with drift")
	fs.BoolVar(&l.All, "all", false, "With --live: every HelmRelease of HEAD, not only those the range changes")
	fs.StringSliceVar(&l.Envs, "env", nil, "With --live: compare these environments of .gitops.yaml, each with its own cluster (its context)")
	fs.BoolVar(&l.AllEnvs, "all-envs", false, "With --live: compare every environment of .gitops.yaml with its cluster")
}

// Validate checks the flags alone.
func (l *LiveFlags) Validate() error {
	if !l.Live {
		var set []string
		if l.All {
			set = append(set, "--all")
		}
		if len(l.Envs) > 0 {
			set = append(set, "--env")
		}
		if l.AllEnvs {
			set = append(set, "--all-envs")
		}
		if len(set) > 0 {
			return fmt.Errorf("%s only apply with --live", strings.Join(set, ", "))
		}
		return nil
	}
	if len(l.Envs) > 0 && l.AllEnvs {
		return errors.New("--env and --all-envs: give one of them")
	}
	for _, e := range l.Envs {
		if e == "" {
			return errors.New("--env: an empty environment name")
		}
	}
	return nil
}

// liveCluster is one cluster diff --live compares with.
type liveCluster struct {
	name     string
	checker  *releasecheck.Checker
	comparer *live.Comparer
	// err is why the cluster cannot be compared with: its releases are unchecked.
	err error
}

// liveRun is the clusters of one diff --live run, by model cluster name.
type liveRun struct {
	clusters map[string]*liveCluster
	// single is the one cluster of the kubectl flags when no environment
	// was named: every release is compared with it.
	single *liveCluster
	color  bool
}

// newLiveRun picks the cluster(s): --env/--all-envs through .gitops.yaml's
// contexts, else the one of the kubectl flags (--context, --kubeconfig).
func (o *runner) newLiveRun(ctx context.Context, m *fluxmodel.Model, newChecker func(kube.Factory) (*releasecheck.Checker, error), color bool) (*liveRun, error) {
	lr := &liveRun{clusters: map[string]*liveCluster{}, color: color}
	var names []string
	for _, c := range m.Clusters {
		names = append(names, c.Name)
	}
	open := func(name string, f kube.Factory) (*liveCluster, error) {
		lc := &liveCluster{name: name}
		var err error
		if lc.checker, err = newChecker(f); err != nil {
			return nil, err
		}
		if lc.checker.Offline != "" {
			lc.err = fmt.Errorf("%s", lc.checker.Offline)
			return lc, nil
		}
		cfg, err := f.ToRESTConfig()
		if err == nil {
			lc.comparer, err = live.NewComparer(cfg)
		}
		lc.err = err
		return lc, nil
	}
	if len(o.Envs) == 0 && !o.AllEnvs {
		if len(names) > 1 {
			return nil, exitcode.Errorf(exitcode.Usage, "--live compares with one cluster, and the repository applies %d (%s): pick them with --env NAME or --all-envs (contexts from %s)", len(names), strings.Join(names, ", "), envs.FileName)
		}
		lc, err := open("", o.factory)
		if err != nil {
			return nil, err
		}
		lr.single = lc
		return lr, nil
	}
	cfg, err := envs.LoadFS(m.FS())
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Usage, fmt.Errorf("--env: reading the environments: %w", err))
	}
	want := o.Envs
	if o.AllEnvs {
		want = cfg.Names()
	}
	sort.Strings(names)
	for _, n := range want {
		e, err := cfg.Get(n)
		if err != nil {
			return nil, exitcode.Wrap(exitcode.Usage, fmt.Errorf("--env: %w", err))
		}
		if i := sort.SearchStrings(names, n); i == len(names) || names[i] != n {
			return nil, exitcode.Errorf(exitcode.Usage, "--env %s: the repository's model has no cluster of that name (it has %s; see docs/model.md)", n, strings.Join(names, ", "))
		}
		lc, err := open(n, kube.ForContext(o.factory, e.Context))
		if err != nil {
			return nil, err
		}
		lr.clusters[n] = lc
	}
	return lr, nil
}

// cluster is the cluster a release is compared with; nil when it belongs
// to a cluster not picked.
func (lr *liveRun) cluster(b, a *releasecheck.Release) *liveCluster {
	if lr.single != nil {
		return lr.single
	}
	r := a
	if r == nil {
		r = b
	}
	return lr.clusters[r.Cluster()]
}

// checker is the checker of the release's cluster, nil to skip it.
func (lr *liveRun) checker(b, a *releasecheck.Release) *releasecheck.Checker {
	if lc := lr.cluster(b, a); lc != nil {
		return lc.checker
	}
	return nil
}

// attach compares a rendered and validated entry with its cluster, and
// sets its status, diff and notes from what the cluster would see: the diff
// is from the live objects to the objects after the upgrade.
func (lr *liveRun) attach(ctx context.Context, e *Entry, b, a *releasecheck.Release) {
	switch e.Status {
	case StatusInvalid, StatusUnchecked, StatusError:
		return
	}
	lc := lr.cluster(b, a)
	where := "the cluster"
	if lc.name != "" {
		where = "cluster " + lc.name
	}
	if lc.err != nil {
		e.Status, e.Valid, e.Reason = StatusUnchecked, false, fmt.Sprintf("not compared with %s: %v", where, lc.err)
		return
	}
	in := live.Input{Color: lr.color}
	switch {
	case a == nil && b != nil && b.HR != nil:
		in.HR, in.Removed = b.HR, true
	case a != nil && a.HR != nil && e.rep != nil:
		in.HR, in.Objects, in.Secrets = a.HR, e.rep.After.Objects, e.rep.SecretValues()
	default:
		return
	}
	res, err := lc.comparer.Compare(ctx, in)
	if err != nil {
		return // cancelled: the caller stops
	}
	e.Live = res
	var plain, colored strings.Builder
	for _, ob := range res.Objects {
		plain.WriteString(ob.Diff)
		colored.WriteString(ob.Colored())
	}
	e.Diff, e.colored = plain.String(), ""
	if lr.color {
		e.colored = colored.String()
	}
	e.Notes = append(e.Notes, liveNotes(res, where)...)
	switch {
	case res.Forbidden+res.Errors > 0:
		e.Status, e.Valid = StatusUnchecked, false
		e.Reason = fmt.Sprintf("%d object(s) could not be compared with %s (listed below); the others were", res.Forbidden+res.Errors, where)
	case a == nil && res.Removed > 0:
		e.Status = StatusRemoved
	case a == nil:
		e.Status = StatusSame
	case res.Deployed == nil && res.Added > 0 && res.Changed+res.Removed == 0:
		e.Status = StatusAdded
	case res.Differs():
		e.Status = StatusChanged
	default:
		e.Status = StatusSame
	}
}

// liveNotes are the lines that say what the comparison was against, the
// drift, and the objects that could not be read.
func liveNotes(res *live.Result, where string) []string {
	var out []string
	against := "no deployed release"
	if res.Deployed != nil {
		against = fmt.Sprintf("Helm release %s v%d (%s, %s)", res.Release, res.Deployed.Version, res.Deployed.Status, res.Deployed.Chart)
	}
	if res.StorageError != "" {
		against = res.StorageError
	}
	unchanged := len(res.Objects) - res.Added - res.Changed - res.Removed - res.Forbidden - res.Errors
	out = append(out, fmt.Sprintf("live: compared with %s and the live objects in %s: %d added, %d changed, %d removed, %d unchanged", against, where, res.Added, res.Changed, res.Removed, unchanged))
	out = append(out, res.Notes...)
	var drifted []string
	for _, ob := range res.Objects {
		if len(ob.Drift) > 0 {
			drifted = append(drifted, fmt.Sprintf("%s (%s)", ob.Object, strings.Join(limit(ob.Drift, 8), ", ")))
		}
	}
	if len(drifted) > 0 {
		v := "the deployed release"
		if res.Deployed != nil {
			v = fmt.Sprintf("the deployed release v%d", res.Deployed.Version)
		}
		out = append(out, fmt.Sprintf("drift: the live objects differ from %s (what spec.driftDetection would correct): %s", v, strings.Join(drifted, "; ")))
	}
	for _, ob := range res.Objects {
		if ob.Change == live.ChangeForbidden || ob.Change == live.ChangeError {
			out = append(out, fmt.Sprintf("%s: %s: %s", ob.Change, ob.Object, ob.Error))
		}
	}
	return out
}

func limit(l []string, n int) []string {
	if len(l) <= n {
		return l
	}
	return append(l[:n:n], fmt.Sprintf("and %d more", len(l)-n))
}
