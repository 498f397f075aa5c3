// Package fluxstatus is the status model of Flux objects shared by `trace`
// and `promote --require-deployed`: from the GitRepositories, HelmCharts,
// HelmReleases, Kustomizations and workloads in a cluster (and their events)
// to the stages a commit goes through (source fetched -> chart built ->
// release upgraded -> rollout complete), each with a state, timings,
// evidence and, when stuck, a diagnosis with the fix.
//
// Everything here except fetch.go is a pure function of fetched objects, the
// facts the Git side established about the commit, and an injected "now", so
// it is tested from YAML fixtures without a cluster.
package fluxstatus

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	kjson "sigs.k8s.io/json"
)

// Kind names used as keys in Cluster.Forbidden and in the report.
const (
	KindGitRepository = "GitRepository"
	KindHelmChart     = "HelmChart"
	KindHelmRelease   = "HelmRelease"
	KindKustomization = "Kustomization"
	KindDeployment    = "Deployment"
	KindStatefulSet   = "StatefulSet"
	KindDaemonSet     = "DaemonSet"
	KindReplicaSet    = "ReplicaSet"
	KindPod           = "Pod"
	KindEvent         = "Event"
)

// Cluster is what was read from the API server for one trace.
type Cluster struct {
	GitRepositories []sourcev1.GitRepository
	HelmCharts      []sourcev1.HelmChart
	HelmReleases    []helmv2.HelmRelease
	Kustomizations  []kustomizev1.Kustomization
	Deployments     []appsv1.Deployment
	StatefulSets    []appsv1.StatefulSet
	DaemonSets      []appsv1.DaemonSet
	ReplicaSets     []appsv1.ReplicaSet
	Pods            []corev1.Pod
	Events          []corev1.Event
	// Forbidden maps a kind to the API server's refusal (RBAC). Stages that
	// need that kind are reported as "forbidden"; the rest of the trace goes on.
	Forbidden map[string]string
}

// Add decodes one object (as the dynamic client or a fixture returns it)
// into the typed list it belongs to. Unknown kinds are an error so that a
// typo in a fixture does not silently drop an object.
func (c *Cluster) Add(u *unstructured.Unstructured) error {
	var err error
	switch u.GetKind() {
	case KindGitRepository:
		c.GitRepositories, err = appendDecoded(c.GitRepositories, u)
	case KindHelmChart:
		c.HelmCharts, err = appendDecoded(c.HelmCharts, u)
	case KindHelmRelease:
		c.HelmReleases, err = appendDecoded(c.HelmReleases, u)
	case KindKustomization:
		c.Kustomizations, err = appendDecoded(c.Kustomizations, u)
	case KindDeployment:
		c.Deployments, err = appendDecoded(c.Deployments, u)
	case KindStatefulSet:
		c.StatefulSets, err = appendDecoded(c.StatefulSets, u)
	case KindDaemonSet:
		c.DaemonSets, err = appendDecoded(c.DaemonSets, u)
	case KindReplicaSet:
		c.ReplicaSets, err = appendDecoded(c.ReplicaSets, u)
	case KindPod:
		c.Pods, err = appendDecoded(c.Pods, u)
	case KindEvent:
		c.Events, err = appendDecoded(c.Events, u)
	default:
		return fmt.Errorf("fluxstatus: unexpected kind %q (%s/%s)", u.GetKind(), u.GetNamespace(), u.GetName())
	}
	if err != nil {
		return fmt.Errorf("decoding %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
	}
	return nil
}

// appendDecoded decodes u into a T and appends it to s (s unchanged on
// error). It goes through JSON, case-sensitively as the API server decodes,
// rather than runtime.DefaultUnstructuredConverter: that converter copies
// its whole field cache for every struct field it meets for the first time,
// which made decoding the first objects of a short-lived process (one
// trace) cost more CPU than all its requests (docs/trace.md, "Profile").
func appendDecoded[T any](s []T, u *unstructured.Unstructured) ([]T, error) {
	b, err := json.Marshal(u.Object)
	if err != nil {
		return s, err
	}
	var o T
	if err := kjson.UnmarshalCaseSensitivePreserveInts(b, &o); err != nil {
		return s, err
	}
	return append(s, o), nil
}

// SetForbidden records that kind could not be read.
func (c *Cluster) SetForbidden(kind, msg string) {
	if c.Forbidden == nil {
		c.Forbidden = map[string]string{}
	}
	c.Forbidden[kind] = msg
}

func (c *Cluster) forbidden(kind string) bool { _, ok := c.Forbidden[kind]; return ok }

func (c *Cluster) gitRepository(key types.NamespacedName) *sourcev1.GitRepository {
	for i := range c.GitRepositories {
		o := &c.GitRepositories[i]
		if o.Namespace == key.Namespace && o.Name == key.Name {
			return o
		}
	}
	return nil
}

func (c *Cluster) helmChart(key types.NamespacedName) *sourcev1.HelmChart {
	for i := range c.HelmCharts {
		o := &c.HelmCharts[i]
		if o.Namespace == key.Namespace && o.Name == key.Name {
			return o
		}
	}
	return nil
}

func (c *Cluster) helmRelease(key types.NamespacedName) *helmv2.HelmRelease {
	for i := range c.HelmReleases {
		o := &c.HelmReleases[i]
		if o.Namespace == key.Namespace && o.Name == key.Name {
			return o
		}
	}
	return nil
}

// eventsFor returns the events whose involved object is kind ns/name, newest first.
func (c *Cluster) eventsFor(kind, ns, name string) []corev1.Event {
	var out []corev1.Event
	for _, e := range c.Events {
		io := e.InvolvedObject
		if io.Kind == kind && io.Name == name && (io.Namespace == ns || e.Namespace == ns) {
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return eventTime(out[i]).After(eventTime(out[j])) })
	return out
}

// HelmChartKey is where helm-controller puts the HelmChart it creates for hr:
// status.helmChart when set, else <hr ns>-<hr name> in the source's namespace.
func HelmChartKey(hr *helmv2.HelmRelease) (types.NamespacedName, bool) {
	if hr.Status.HelmChart != "" {
		if ns, name, ok := strings.Cut(hr.Status.HelmChart, "/"); ok {
			return types.NamespacedName{Namespace: ns, Name: name}, true
		}
	}
	if hr.Spec.ChartRef != nil {
		if hr.Spec.ChartRef.Kind != KindHelmChart {
			return types.NamespacedName{}, false
		}
		ns := hr.Spec.ChartRef.Namespace
		if ns == "" {
			ns = hr.Namespace
		}
		return types.NamespacedName{Namespace: ns, Name: hr.Spec.ChartRef.Name}, true
	}
	if hr.Spec.Chart == nil {
		return types.NamespacedName{}, false
	}
	ns := hr.Spec.Chart.Spec.SourceRef.Namespace
	if ns == "" {
		ns = hr.Namespace
	}
	return types.NamespacedName{Namespace: ns, Name: hr.Namespace + "-" + hr.Name}, true
}
