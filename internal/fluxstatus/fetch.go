package fluxstatus

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// GVRs of what the fetcher reads.
var (
	GitRepositoryGVR = schema.GroupVersionResource{Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "gitrepositories"}
	HelmChartGVR     = schema.GroupVersionResource{Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "helmcharts"}
	HelmReleaseGVR   = schema.GroupVersionResource{Group: "helm.toolkit.fluxcd.io", Version: "v2", Resource: "helmreleases"}
	KustomizationGVR = schema.GroupVersionResource{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Resource: "kustomizations"}
	DeploymentGVR    = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	StatefulSetGVR   = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}
	DaemonSetGVR     = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "daemonsets"}
	ReplicaSetGVR    = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "replicasets"}
	PodGVR           = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	EventGVR         = schema.GroupVersionResource{Version: "v1", Resource: "events"}
)

var kindOf = map[schema.GroupVersionResource]string{
	GitRepositoryGVR: KindGitRepository, HelmChartGVR: KindHelmChart, HelmReleaseGVR: KindHelmRelease,
	KustomizationGVR: KindKustomization, DeploymentGVR: KindDeployment, StatefulSetGVR: KindStatefulSet,
	DaemonSetGVR: KindDaemonSet, ReplicaSetGVR: KindReplicaSet, PodGVR: KindPod, EventGVR: KindEvent,
}

var workloadGVR = map[string]schema.GroupVersionResource{
	KindDeployment: DeploymentGVR, KindStatefulSet: StatefulSetGVR, KindDaemonSet: DaemonSetGVR,
}

// Target is one list (and, in --watch, one watch): a resource in a
// namespace ("" for all) with optional selectors.
type Target struct {
	GVR           schema.GroupVersionResource
	Namespace     string
	LabelSelector string
	FieldSelector string
}

// Key identifies the target.
func (t Target) Key() string {
	return t.GVR.String() + "|" + t.Namespace + "|" + t.LabelSelector + "|" + t.FieldSelector
}

// FetchOptions say what to read.
type FetchOptions struct {
	// Namespace restricts HelmReleases to one namespace ("" = all).
	// Sources, HelmCharts and Kustomizations are always read from all
	// namespaces: they usually live in flux-system, away from the releases.
	Namespace string
	// FallbackNamespaces are read for HelmReleases, one list each, when
	// RBAC refuses to list them in all namespaces (Namespace ""), together
	// with the namespaces the traced sources' Kustomizations name in their
	// inventories: the releases a source reaches are traced wherever they
	// live, within what RBAC allows.
	FallbackNamespaces []string
	// MatchSource picks the GitRepositories to trace (by URL).
	MatchSource func(*sourcev1.GitRepository) bool
	// HelmReleases, when set, restricts the workloads read to these.
	HelmReleases []types.NamespacedName
	// List, when set, answers a target's list instead of the API server:
	// --watch serves the targets it already watches from what its watches
	// saw, so a redraw costs no request. It may call ListFromAPI.
	List ListFunc
	// Affected, when set, is told the HelmReleases the sources reach as
	// soon as they are known, before the events and workloads are read:
	// trace starts its reads of their Helm storage then, beside the rest.
	Affected func([]*helmv2.HelmRelease)
}

// ListFunc lists one target.
type ListFunc func(ctx context.Context, dyn dynamic.Interface, t Target) (*unstructured.UnstructuredList, error)

// ListFromAPI lists target t from the API server.
func ListFromAPI(ctx context.Context, dyn dynamic.Interface, t Target) (*unstructured.UnstructuredList, error) {
	var ri dynamic.ResourceInterface = dyn.Resource(t.GVR)
	if t.Namespace != "" {
		ri = dyn.Resource(t.GVR).Namespace(t.Namespace)
	}
	return ri.List(ctx, metav1.ListOptions{LabelSelector: t.LabelSelector, FieldSelector: t.FieldSelector})
}

// Fetched is the result of Fetch.
type Fetched struct {
	Cluster *Cluster
	// Sources are the GitRepositories MatchSource picked.
	Sources []types.NamespacedName
	// Targets were listed, with the resourceVersion of each list, so that
	// --watch can start watching exactly where the lists ended.
	Targets          []Target
	ResourceVersions map[string]string
	// Lists are the lists themselves (kinds set, managed fields dropped), by
	// target key, for --watch to seed its caches from.
	Lists map[string]*unstructured.UnstructuredList
}

// Fetch reads what a trace needs with a number of API requests that depends
// on the releases involved, never on the size of the cluster: one list per
// Flux kind, one event list per (namespace, kind) involved, one list per
// workload kind (Deployment, StatefulSet, DaemonSet) and namespace of an
// affected release, and per workload a Pod list (plus a ReplicaSet list for
// a Deployment), each narrowed by label selectors. A workload kind that no
// affected release's status.inventory names is not listed. RBAC refusals
// are recorded per kind and the rest goes on.
func Fetch(ctx context.Context, dyn dynamic.Interface, o FetchOptions) (*Fetched, error) {
	fe := &fetcher{ctx: ctx, dyn: dyn, listFrom: o.List, f: &Fetched{Cluster: &Cluster{}, ResourceVersions: map[string]string{}, Lists: map[string]*unstructured.UnstructuredList{}}}
	if fe.listFrom == nil {
		fe.listFrom = ListFromAPI
	}
	f := fe.f
	// GitRepositories, HelmCharts and Kustomizations in one round trip: the
	// last two are read before the sources are known to match, and thrown
	// away when none does (two requests more for a trace that finds
	// nothing, one round trip less for every other).
	// Kustomizations before HelmReleases: kustomize-controller applies a
	// HelmRelease before it records the revision in its status, so a
	// Kustomization read first never claims a revision whose HelmRelease
	// spec the later read does not show (both read at once, it could).
	if err := fe.parallel([]Target{{GVR: GitRepositoryGVR}, {GVR: HelmChartGVR}, {GVR: KustomizationGVR}}); err != nil {
		return nil, err
	}
	f.Sources = matchSources(f.Cluster.GitRepositories, o.MatchSource)
	if len(f.Sources) == 0 && !f.Cluster.forbidden(KindGitRepository) {
		return f, nil
	}
	if err := fe.helmReleases(o.Namespace, o.FallbackNamespaces); err != nil {
		return nil, err
	}
	affected := only(AffectedHelmReleases(f.Cluster, f.Sources), o.HelmReleases)
	if o.Affected != nil {
		o.Affected(affected)
	}
	if err := fe.parallel(f.secondTargets(affected)); err != nil {
		return nil, err
	}
	// Third round: the pods of each workload by its selector, and the
	// ReplicaSets of each Deployment (they say which pods are new).
	if err := fe.parallel(dedupe(f.Cluster.podTargets())); err != nil {
		return nil, err
	}
	return f, nil
}

// fetcher is one Fetch: the lists it makes, each recorded in f as it
// comes back (lists run in parallel, so under mu).
type fetcher struct {
	ctx      context.Context
	dyn      dynamic.Interface
	listFrom ListFunc
	mu       sync.Mutex
	f        *Fetched
}

// list reads target t into the cluster; an RBAC refusal or a missing CRD
// is recorded, not returned.
func (fe *fetcher) list(t Target) error {
	ul, err := fe.listFrom(fe.ctx, fe.dyn, t)
	fe.mu.Lock()
	defer fe.mu.Unlock()
	fe.f.Targets = append(fe.f.Targets, t)
	if err != nil {
		return fe.f.Cluster.listFailed(t, err)
	}
	return fe.f.add(t, ul)
}

// parallel lists every target of ts at once; the first error (in the
// order of ts) is returned.
func (fe *fetcher) parallel(ts []Target) error {
	errs := make([]error, len(ts))
	var wg sync.WaitGroup
	for i, t := range ts {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = fe.list(t) }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// helmReleases lists the HelmReleases of namespace ("" all). When RBAC
// refuses all namespaces, it lists each namespace the traced sources'
// Kustomizations name and each of fallback instead, and records the
// refusal only when there is none to list.
func (fe *fetcher) helmReleases(namespace string, fallback []string) error {
	c := fe.f.Cluster
	if err := fe.list(Target{GVR: HelmReleaseGVR, Namespace: namespace}); err != nil {
		return err
	}
	if namespace != "" || !c.forbidden(KindHelmRelease) {
		return nil
	}
	allNS := c.Forbidden[KindHelmRelease]
	delete(c.Forbidden, KindHelmRelease)
	var ts []Target
	for _, ns := range c.releaseNamespaces(fe.f.Sources, fallback) {
		ts = append(ts, Target{GVR: HelmReleaseGVR, Namespace: ns})
	}
	if err := fe.parallel(ts); err != nil {
		return err
	}
	if len(ts) == 0 {
		c.SetForbidden(KindHelmRelease, allNS)
	}
	return nil
}

// listFailed records why t could not be listed, when that is the
// cluster's answer about the kind (RBAC refuses it, the CRD is not
// installed); any other error is returned.
func (c *Cluster) listFailed(t Target, err error) error {
	kind := kindOf[t.GVR]
	switch {
	case isForbidden(err):
		c.SetForbidden(kind, apiMessage(err))
		return nil
	case isNotFound(err):
		// The CRD is not installed: nothing of that kind exists.
		if t.GVR.Group != "" && strings.HasSuffix(t.GVR.Group, "fluxcd.io") {
			c.SetForbidden(kind, fmt.Sprintf("%s is not served by this cluster (is Flux installed?)", t.GVR.GroupResource()))
		}
		return nil
	}
	return fmt.Errorf("listing %s: %w", t.GVR.GroupResource(), err)
}

// add records the list of t and decodes its items into the cluster.
func (f *Fetched) add(t Target, ul *unstructured.UnstructuredList) error {
	kind := kindOf[t.GVR]
	f.ResourceVersions[t.Key()] = ul.GetResourceVersion()
	f.Lists[t.Key()] = ul
	for i := range ul.Items {
		u := &ul.Items[i]
		u.SetKind(kind)
		u.SetManagedFields(nil)
		if err := f.Cluster.Add(u); err != nil {
			return err
		}
	}
	return nil
}

// matchSources are the GitRepositories of repos that match picks (all of
// them when match is nil).
func matchSources(repos []sourcev1.GitRepository, match func(*sourcev1.GitRepository) bool) []types.NamespacedName {
	var out []types.NamespacedName
	for i := range repos {
		gr := &repos[i]
		if match == nil || match(gr) {
			out = append(out, types.NamespacedName{Namespace: gr.Namespace, Name: gr.Name})
		}
	}
	return out
}

// only is the releases of hrs named in keys; all of hrs when keys is
// empty.
func only(hrs []*helmv2.HelmRelease, keys []types.NamespacedName) []*helmv2.HelmRelease {
	if len(keys) == 0 {
		return hrs
	}
	want := map[types.NamespacedName]bool{}
	for _, k := range keys {
		want[k] = true
	}
	var keep []*helmv2.HelmRelease
	for _, hr := range hrs {
		if want[types.NamespacedName{Namespace: hr.Namespace, Name: hr.Name}] {
			keep = append(keep, hr)
		}
	}
	return keep
}

// podTargets are the Pods of each workload by its selector, and the
// ReplicaSets of each Deployment.
func (c *Cluster) podTargets() []Target {
	var ts []Target
	add := func(ns string, ls *metav1.LabelSelector, gvrs ...schema.GroupVersionResource) {
		sel, err := metav1.LabelSelectorAsSelector(ls)
		if err != nil || sel.Empty() {
			return
		}
		for _, gvr := range gvrs {
			ts = append(ts, Target{GVR: gvr, Namespace: ns, LabelSelector: sel.String()})
		}
	}
	for _, d := range c.Deployments {
		add(d.Namespace, d.Spec.Selector, ReplicaSetGVR, PodGVR)
	}
	for _, s := range c.StatefulSets {
		add(s.Namespace, s.Spec.Selector, PodGVR)
	}
	for _, d := range c.DaemonSets {
		add(d.Namespace, d.Spec.Selector, PodGVR)
	}
	return ts
}

// secondTargets: events of the Flux objects involved and the workloads of
// the affected releases.
func (f *Fetched) secondTargets(affected []*helmv2.HelmRelease) []Target {
	var ts []Target
	events := map[[2]string]bool{}
	addEvents := func(ns, kind string) {
		if ns != "" && !events[[2]string{ns, kind}] {
			events[[2]string{ns, kind}] = true
			ts = append(ts, Target{GVR: EventGVR, Namespace: ns, FieldSelector: "involvedObject.kind=" + kind})
		}
	}
	for _, s := range f.Sources {
		addEvents(s.Namespace, KindGitRepository)
	}
	for _, hr := range affected {
		addEvents(hr.Namespace, KindHelmRelease)
		if k, ok := HelmChartKey(hr); ok {
			addEvents(k.Namespace, KindHelmChart)
		}
	}
	for _, l := range links(f.Cluster, f.Sources, nil) {
		if l.kustomization != nil {
			addEvents(l.kustomization.Namespace, KindKustomization)
		}
	}
	byNS, kindsNS := workloadNamespaces(affected)
	for _, ns := range sortedMapKeys(byNS) {
		if len(kindsNS[ns]) == 0 {
			continue // the inventories name no workload here
		}
		names := uniq(byNS[ns])
		addEvents(ns, KindPod)
		// Chunk the set so a selector stays a reasonable size.
		for len(names) > 0 {
			n := min(len(names), 50)
			for _, kind := range WorkloadKinds {
				if kindsNS[ns][kind] {
					ts = append(ts, Target{GVR: workloadGVR[kind], Namespace: ns,
						LabelSelector: labelHelmName + " in (" + strings.Join(names[:n], ",") + ")"})
				}
			}
			names = names[n:]
		}
	}
	return ts
}

// workloadNamespaces is, per namespace, the releases of affected whose
// workloads may live there (byNS) and the workload kinds to list there
// (kindsNS): those the releases' inventories name, every kind for a
// release without an inventory.
func workloadNamespaces(affected []*helmv2.HelmRelease) (byNS map[string][]string, kindsNS map[string]map[string]bool) {
	byNS, kindsNS = map[string][]string{}, map[string]map[string]bool{}
	in := func(ns, name string, kinds ...string) {
		byNS[ns] = append(byNS[ns], name)
		if kindsNS[ns] == nil {
			kindsNS[ns] = map[string]bool{}
		}
		for _, k := range kinds {
			kindsNS[ns][k] = true
		}
	}
	for _, hr := range affected {
		ns := hr.Namespace
		if hr.Spec.TargetNamespace != "" {
			ns = hr.Spec.TargetNamespace
		}
		ws, ok := inventoryWorkloads(hr)
		if !ok {
			in(ns, hr.Name, WorkloadKinds...)
			continue
		}
		in(ns, hr.Name)
		for _, w := range ws {
			in(w.namespace, hr.Name, w.kind)
		}
	}
	return byNS, kindsNS
}

func apiMessage(err error) string {
	if s, ok := err.(apierrors.APIStatus); ok {
		return s.Status().Message
	}
	return err.Error()
}

func dedupe(ts []Target) []Target {
	seen := map[string]bool{}
	var out []Target
	for _, t := range ts {
		if !seen[t.Key()] {
			seen[t.Key()] = true
			out = append(out, t)
		}
	}
	return out
}

func uniq(s []string) []string {
	sort.Strings(s)
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func sortedMapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func isForbidden(err error) bool { return apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) }
func isNotFound(err error) bool  { return apierrors.IsNotFound(err) }

// releaseNamespaces: where HelmReleases of the sources may live when they
// cannot be listed in all namespaces: the namespaces given, the namespaces of
// HelmReleases in the inventories of Kustomizations applied from the sources,
// and those Kustomizations' target namespaces.
func (c *Cluster) releaseNamespaces(sources []types.NamespacedName, given []string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(ns string) {
		if ns != "" && !seen[ns] {
			seen[ns] = true
			out = append(out, ns)
		}
	}
	for _, ns := range given {
		add(ns)
	}
	for _, src := range sources {
		for _, ks := range c.kustomizationsFrom(src) {
			add(ks.Spec.TargetNamespace)
			for _, hr := range inventoryHelmReleases(ks) {
				add(hr.Namespace)
			}
		}
	}
	return out
}
