package trace

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kubectl-gitops/kubectl-gitops/internal/envs"
	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxstatus"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kube"
)

// FleetSchemaVersion is the schemaVersion of -o json/yaml when several environments or clusters are
// traced: version 1's fields per environment, under environments[] (docs/trace.md).
const FleetSchemaVersion = 2

// EnvState is where one environment stands with the commit.
type EnvState string

// The states of an environment, in -o json.
const (
	EnvDeployed            EnvState = "deployed"
	EnvWaitingForPromotion EnvState = "waitingForPromotion"
	EnvFailed              EnvState = "failed"
	EnvPending             EnvState = "pending"
	EnvNotReachable        EnvState = "notReachable"
	EnvForbidden           EnvState = "forbidden"
	EnvNotFound            EnvState = "notFound"
)

// FleetReport is the -o json/yaml document of a trace across environments.
type FleetReport struct {
	SchemaVersion int                    `json:"schemaVersion"`
	Revision      fluxstatus.RevisionRef `json:"revision"`
	GeneratedAt   time.Time              `json:"generatedAt"`
	// Deployed is true when every environment is deployed.
	Deployed     bool        `json:"deployed"`
	Environments []EnvReport `json:"environments"`
}

// EnvReport is one environment (or, with --context a,b, one cluster).
type EnvReport struct {
	Name      string   `json:"name"`
	Context   string   `json:"context,omitempty"`
	Namespace string   `json:"namespace,omitempty"`
	State     EnvState `json:"state"`
	// Summary is the line the table ends with for this environment.
	Summary    string     `json:"summary"`
	DeployedAt *time.Time `json:"deployedAt,omitempty"`
	// Promotion says how to ship the commit here when it waits for promotion.
	Promotion *Promotion `json:"promotion,omitempty"`
	// Error is why the cluster could not be traced (not reachable, forbidden, nothing found).
	Error string `json:"error,omitempty"`
	// Report is the single-cluster trace of this environment (schemaVersion 1's document).
	Report *fluxstatus.Report `json:"report,omitempty"`

	// pinned: every release not deployed here waits on a GitRepository pinned behind the commit.
	pinned bool
}

// Promotion is the promote command that ships a commit from an environment that runs it.
type Promotion struct {
	From        string   `json:"from"`
	HelmRelease string   `json:"helmRelease"`
	Command     string   `json:"command"`
	PinnedTo    []string `json:"pinnedTo,omitempty"`
}

// member is one environment or cluster of a fleet trace: its scope (client and namespaces), while the
// runner's checkout, commit and git answers are shared.
type member struct {
	name    string
	env     *envs.Environment // nil with --context a,b
	context string
	scope   *scope
	// setupErr is why no client could be built for it (a context missing from the kubeconfig).
	setupErr error
}

// memberResult is one computation of a member.
type memberResult struct {
	snap *snapshot
	err  error
}

// fleetMode reports whether several environments or clusters are traced.
func (c config) fleetMode() bool {
	return len(c.Envs) > 0 || c.AllEnvs || len(c.contexts) > 1
}

// fleetContexts splits --context a,b.
func fleetContexts(f kube.Factory) []string {
	if f == nil {
		return nil
	}
	fl := f.Flags()
	if fl == nil || fl.Context == nil || !strings.Contains(*fl.Context, ",") {
		return nil
	}
	var out []string
	for _, c := range strings.Split(*fl.Context, ",") {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, c)
		}
	}
	return out
}

func (o config) validateFleet() error {
	if len(o.Envs) > 0 && o.AllEnvs {
		return exitcode.Errorf(exitcode.Usage, "--env and --all-envs: give one of them")
	}
	if (len(o.Envs) > 0 || o.AllEnvs) && len(o.contexts) > 0 {
		return exitcode.Errorf(exitcode.Usage, "--context a,b names clusters directly; --env and --all-envs take them from .gitops.yaml: give one of them")
	}
	if o.GitOpsRepo != "" && len(o.Envs) == 0 && !o.AllEnvs {
		return exitcode.Errorf(exitcode.Usage, "--gitops-repo is where .gitops.yaml is read for --env or --all-envs; add one of them")
	}
	seen := map[string]bool{}
	for _, e := range o.Envs {
		if e == "" {
			return exitcode.Errorf(exitcode.Usage, "--env: an empty environment name")
		}
		if seen[e] {
			return exitcode.Errorf(exitcode.Usage, "--env %s given twice", e)
		}
		seen[e] = true
	}
	return nil
}

// completeFleet builds one member per environment (from .gitops.yaml of --gitops-repo, default the
// --repo checkout) or per context of --context a,b. A member whose context cannot be loaded is kept: it
// is reported as not reachable while the others are traced.
func (o *runner) completeFleet(ctx context.Context) error {
	explicitNS := ""
	if f := o.factory.Flags(); f != nil && f.Namespace != nil {
		explicitNS = *f.Namespace
	}
	if len(o.contexts) > 0 {
		for _, c := range o.contexts {
			o.members = append(o.members, o.newMember(c, nil, c, explicitNS))
		}
		return nil
	}
	dir := o.GitOpsRepo
	if dir == "" {
		dir = o.repo.Root
	}
	gr, err := gitrepo.Open(ctx, dir)
	if err != nil {
		return fmt.Errorf("--gitops-repo: %w", err)
	}
	cfg, err := envs.Load(gr.Root)
	if err != nil {
		return fmt.Errorf("reading the environments of %s: %w (use --gitops-repo for the GitOps checkout with %s)", gr.Root, err, envs.FileName)
	}
	want := o.Envs
	if o.AllEnvs {
		want = cfg.Names()
	}
	var picked []*envs.Environment
	for _, n := range want {
		e, err := cfg.Get(n)
		if err != nil {
			return fmt.Errorf("--env: %w", err)
		}
		picked = append(picked, e)
	}
	// Promotion order, whatever order --env named them in: "waiting for promotion" looks back along it.
	sort.SliceStable(picked, func(a, b int) bool { return cfg.Index(picked[a].Name) < cfg.Index(picked[b].Name) })
	for _, e := range picked {
		ns := explicitNS
		if ns == "" && !o.AllNamespaces {
			ns = e.Namespace
		}
		o.members = append(o.members, o.newMember(e.Name, e, e.Context, ns))
	}
	return nil
}

// newMember is one cluster: the shared factory for its context (every kubeconfig and auth flag honoured),
// its namespace, and the --helmrelease keys resolved in it. As for one cluster, the scope follows the
// sources; -n, or else the environment's namespace, narrows it (two environments in one cluster each fetch
// the chart repo: each sees only its own releases).
func (o *runner) newMember(name string, env *envs.Environment, kctx, ns string) *member {
	m := &member{name: name, env: env, context: kctx}
	f := kube.ForContext(o.factory, kctx)
	m.scope, m.setupErr = o.newScope(f, ns, !o.AllNamespaces)
	if m.setupErr != nil {
		return m
	}
	if o.hooks.fleetDyn != nil {
		m.scope.dyn = o.hooks.fleetDyn(kctx)
		return m
	}
	m.scope.dyn, m.setupErr = f.Dynamic()
	return m
}

// computeAll traces every member at once. lists, when set, answers member i's lists (--watch caches).
func (o *runner) computeAll(ctx context.Context, prev []memberResult, lists []fluxstatus.ListFunc) []memberResult {
	out := make([]memberResult, len(o.members))
	var wg sync.WaitGroup
	if prev == nil {
		// The commit's own facts (changed paths, pushed, manifests) are the same for every cluster: work
		// them out with git while the clusters are being read, instead of after the first cluster's read.
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = o.facts.facts(ctx, o.Revision, fluxstatus.Questions{}) // an error shows again in compute
		}()
	}
	for i, m := range o.members {
		if m.setupErr != nil {
			out[i] = memberResult{err: m.setupErr}
			continue
		}
		if prev != nil && prev[i].snap == nil {
			// Not reachable, refused or nothing found: not asked again while waiting.
			out[i] = prev[i]
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var list fluxstatus.ListFunc
			if lists != nil {
				list = lists[i]
			}
			snap, err := o.compute(ctx, m.scope, list, false)
			out[i] = memberResult{snap: snap, err: err}
		}()
	}
	wg.Wait()
	return out
}

// runFleet traces every member concurrently, once or until each is settled (--wait, --watch).
func (o *runner) runFleet(ctx context.Context) error {
	res := o.computeAll(ctx, nil, nil)
	if o.Reconcile {
		for i, m := range o.members {
			if res[i].snap != nil {
				o.requestReconcile(ctx, m.scope, res[i].snap)
			}
		}
		res = o.computeAll(ctx, res, nil)
	}
	rep := o.fleetReport(res)
	if !o.Watch && !o.Wait {
		if err := o.printFleet(rep, false); err != nil {
			return err
		}
		return fleetError(rep)
	}
	return o.fleetWatch(ctx, res, rep)
}

// fleetWatch re-computes every member on any watch event of any cluster, each from its own watch
// caches, until every environment is settled, --timeout or Ctrl-C.
func (o *runner) fleetWatch(parent context.Context, res []memberResult, rep *FleetReport) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	timeout := o.timeoutChan()
	trigger := make(chan time.Time, 1)
	sets := make([]*watchSet, len(o.members))
	lists := make([]fluxstatus.ListFunc, len(o.members))
	for i, m := range o.members {
		if m.setupErr == nil && m.scope.dyn != nil {
			sets[i] = newWatchSet(m.scope.dyn, trigger)
			lists[i] = sets[i].list
			defer sets[i].wait()
		}
	}
	defer cancel()
	fromCaches := false
	for {
		if o.Watch {
			if err := o.printFleet(rep, true); err != nil {
				return err
			}
		}
		if fleetSettled(rep) {
			if !fromCaches {
				return o.fleetFinal(rep, nil)
			}
			// Each watch cache is up to date, not with the others: confirm the verdict with one read of
			// every cluster in causal order, as a single-cluster --wait does.
			res = o.computeAll(ctx, res, nil)
			rep, fromCaches = o.fleetReport(res), false
			if fleetSettled(rep) {
				return o.fleetFinal(rep, nil)
			}
		}
		// Watches only once something is still to come: settled at the first look, nothing is watched.
		for i, r := range res {
			if r.snap != nil && sets[i] != nil {
				sets[i].ensure(ctx, r.snap.fetched)
			}
		}
		select {
		case <-parent.Done():
			return o.fleetFinal(rep, exitcode.Errorf(exitcode.Pending, "interrupted; commit %s is not deployed everywhere yet (%s)", gitrepo.Short(rep.Revision.SHA), pendingNames(rep)))
		case <-timeout:
			return o.fleetFinal(rep, exitcode.Errorf(exitcode.Pending, "timed out after %s; commit %s is not deployed everywhere yet (%s)", o.Timeout, gitrepo.Short(rep.Revision.SHA), pendingNames(rep)))
		case <-trigger:
		}
		next := o.computeAll(ctx, res, lists)
		if ctx.Err() != nil {
			continue
		}
		res, fromCaches = next, true
		rep = o.fleetReport(res)
	}
}

func (o *runner) fleetFinal(rep *FleetReport, err error) error {
	return o.finish(func() error { return o.printFleet(rep, false) }, err, func() error { return fleetError(rep) })
}

// fleetSettled: nothing will change without someone acting. An environment pinned behind the commit
// (waiting for promotion, or pinned while the environment before it is still deploying) does not hold
// up --wait once every other environment is settled.
func fleetSettled(rep *FleetReport) bool {
	for _, e := range rep.Environments {
		if e.State == EnvPending && !e.pinned {
			return false
		}
	}
	return true
}

func pendingNames(rep *FleetReport) string {
	var out []string
	for _, e := range rep.Environments {
		if e.State != EnvDeployed {
			out = append(out, e.Name+": "+humanState(e.State))
		}
	}
	return strings.Join(out, ", ")
}

// fleetError is the exit code across environments: 4 if one failed, 1 if one could not be read (not
// reachable or refused by RBAC), 3 if nothing was found to trace in one, 5 if one is not deployed yet,
// and 0 when every environment is deployed or waits for a promotion (the commit went as far as it goes
// without someone promoting it).
func fleetError(rep *FleetReport) error {
	var failed, unreadable, notFound, pending []string
	for _, e := range rep.Environments {
		line := e.Name + ": " + e.Summary
		switch e.State {
		case EnvFailed:
			failed = append(failed, line)
		case EnvNotReachable, EnvForbidden:
			unreadable = append(unreadable, line)
		case EnvNotFound:
			notFound = append(notFound, line)
		case EnvPending:
			pending = append(pending, line)
		}
	}
	c := gitrepo.Short(rep.Revision.SHA)
	switch {
	case len(failed) > 0:
		return exitcode.Errorf(exitcode.Failed, "commit %s failed to deploy in %s", c, strings.Join(failed, "; "))
	case len(unreadable) > 0:
		return exitcode.Errorf(exitcode.Error, "could not trace commit %s in %s (the other environments are above)", c, strings.Join(unreadable, "; "))
	case len(notFound) > 0:
		return exitcode.Errorf(exitcode.NotFound, "nothing to trace for commit %s in %s", c, strings.Join(notFound, "; "))
	case len(pending) > 0:
		return exitcode.Errorf(exitcode.Pending, "commit %s is not deployed yet in %s; use --wait to block until it is", c, strings.Join(pending, "; "))
	}
	return nil
}

// fleetReport classifies each member's result, in promotion order.
func (o *runner) fleetReport(res []memberResult) *FleetReport {
	rep := &FleetReport{
		SchemaVersion: FleetSchemaVersion,
		Revision:      fluxstatus.RevisionRef{Input: o.Revision, SHA: o.commit.SHA, Subject: o.commit.Subject, CommittedAt: o.commit.CommittedAt},
		GeneratedAt:   o.factory.Clock().Now(),
		Deployed:      true,
	}
	var deployedBefore []string // environments earlier in the order that run the commit
	for i, m := range o.members {
		e := o.classify(m, res[i], deployedBefore)
		if e.State == EnvDeployed && m.env != nil {
			deployedBefore = append(deployedBefore, m.name)
		}
		if e.State != EnvDeployed {
			rep.Deployed = false
		}
		rep.Environments = append(rep.Environments, e)
	}
	return rep
}

func (o *runner) classify(m *member, r memberResult, deployedBefore []string) EnvReport {
	e := EnvReport{Name: m.name, Context: m.context}
	if m.scope != nil {
		e.Namespace = m.scope.namespace
	}
	if r.err != nil {
		e.Error = r.err.Error()
		e.State = EnvNotReachable
		if apierrors.IsForbidden(r.err) || apierrors.IsUnauthorized(r.err) {
			e.State = EnvForbidden
		}
		e.Summary = humanState(e.State) + ": " + firstLine(e.Error)
		return e
	}
	s := r.snap
	e.Report = s.report
	if err := o.notFound(m.scope, s); err != nil {
		if o.mayAppear(m.scope, s) {
			// --wait/--watch: the sources have not settled, the Kustomization may yet create the release.
			e.State, e.Summary = EnvPending, "not deployed yet: no HelmRelease yet; the sources are still settling"
			return e
		}
		e.Error = err.Error()
		e.State = EnvNotFound
		if _, ok := s.fetched.Cluster.Forbidden[fluxstatus.KindGitRepository]; ok && len(s.fetched.Sources) == 0 {
			e.State = EnvForbidden
		}
		e.Summary = humanState(e.State) + ": " + firstLine(e.Error)
		return e
	}
	rep := s.report
	pinnedTo := pinnedBehind(s)
	e.pinned = len(pinnedTo) > 0
	switch {
	case rep.Deployed:
		e.State = EnvDeployed
		e.DeployedAt = deployedAt(rep)
		e.Summary = "deployed"
		if e.DeployedAt != nil {
			e.Summary += " at " + clockTime(*e.DeployedAt, rep.GeneratedAt)
		}
		e.Summary += " (" + releaseNames(rep, func(fluxstatus.Release) bool { return true }) + ")"
	case rep.State == fluxstatus.Failed:
		e.State = EnvFailed
		e.Summary = "failed: " + firstDiagnosis(rep)
	case len(deployedBefore) > 0 && m.env != nil && e.pinned:
		e.State = EnvWaitingForPromotion
		from := deployedBefore[len(deployedBefore)-1]
		hr := notDeployed(rep)[0]
		e.Promotion = &Promotion{From: from, HelmRelease: hr.Namespace + "/" + hr.Name,
			Command: o.promoteCommand(hr.Name, from, m.name), PinnedTo: pinnedTo}
		e.Summary = fmt.Sprintf("waiting for promotion from %s (pinned to %s): %s", from, strings.Join(e.Promotion.PinnedTo, ", "), e.Promotion.Command)
	default:
		e.State = EnvPending
		e.Summary = fmt.Sprintf("not deployed yet (%s): %s", rep.State, firstDiagnosis(rep))
	}
	return e
}

// promoteCommand is what ships the commit from one environment to the next.
func (o *runner) promoteCommand(hr, from, to string) string {
	cmd := fmt.Sprintf("%s promote %s --from %s --to %s --require-deployed --push", o.tool, hr, from, to)
	if o.GitOpsRepo != "" {
		cmd += " --repo " + shellQuote(o.GitOpsRepo)
	}
	return cmd
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// pinnedBehind lists the refs ("tag v0.1.3") when every release not deployed waits at its source stage
// because its GitRepository is pinned (tag, commit) to a revision older than the commit: Flux
// will never fetch the commit there, someone has to move the pin, which is what promote does. It is
// empty otherwise.
func pinnedBehind(s *snapshot) []string {
	rels := notDeployed(s.report)
	if len(rels) == 0 {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, rel := range rels {
		if len(rel.Stages) == 0 || rel.Stages[0].Name != fluxstatus.StageSource || rel.Stages[0].Reason != fluxstatus.DiagPinned {
			return nil
		}
		p := ""
		for i := range s.fetched.Cluster.GitRepositories {
			gr := &s.fetched.Cluster.GitRepositories[i]
			if gr.Namespace == rel.Source.Namespace && gr.Name == rel.Source.Name {
				p = fluxstatus.PinnedRef(gr)
			}
		}
		if p == "" {
			return nil
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

func notDeployed(rep *fluxstatus.Report) []fluxstatus.Release {
	var out []fluxstatus.Release
	for _, rel := range rep.Releases {
		if !rel.Deployed {
			out = append(out, rel)
		}
	}
	return out
}

// deployedAt is when the last release finished its last stage.
func deployedAt(rep *fluxstatus.Report) *time.Time {
	var last *time.Time
	for _, rel := range rep.Releases {
		for _, st := range rel.Stages {
			if st.FinishedAt != nil && (last == nil || st.FinishedAt.After(*last)) {
				t := *st.FinishedAt
				last = &t
			}
		}
	}
	return last
}

func releaseNames(rep *fluxstatus.Report, keep func(fluxstatus.Release) bool) string {
	var out []string
	for _, rel := range rep.Releases {
		if keep(rel) {
			out = append(out, rel.Namespace+"/"+rel.Name)
		}
	}
	return strings.Join(out, ", ")
}

func humanState(s EnvState) string {
	switch s {
	case EnvWaitingForPromotion:
		return "waiting for promotion"
	case EnvNotReachable:
		return "not reachable"
	case EnvForbidden:
		return "refused by RBAC"
	case EnvNotFound:
		return "nothing to trace"
	case EnvPending:
		return "not deployed yet"
	}
	return string(s)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return oneLine(s)
}
