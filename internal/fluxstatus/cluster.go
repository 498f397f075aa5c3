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
	"fmt"
	"sort"
	"strings"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
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
	conv := runtime.DefaultUnstructuredConverter
	var err error
	switch u.GetKind() {
	case KindGitRepository:
		var o sourcev1.GitRepository
		if err = conv.FromUnstructured(u.Object, &o); err == nil {
			c.GitRepositories = append(c.GitRepositories, o)
		}
	case KindHelmChart:
		var o sourcev1.HelmChart
		if err = conv.FromUnstructured(u.Object, &o); err == nil {
			c.HelmCharts = append(c.HelmCharts, o)
		}
	case KindHelmRelease:
		var o helmv2.HelmRelease
		if err = conv.FromUnstructured(u.Object, &o); err == nil {
			c.HelmReleases = append(c.HelmReleases, o)
		}
	case KindKustomization:
		var o kustomizev1.Kustomization
		if err = conv.FromUnstructured(u.Object, &o); err == nil {
			c.Kustomizations = append(c.Kustomizations, o)
		}
	case KindDeployment:
		var o appsv1.Deployment
		if err = conv.FromUnstructured(u.Object, &o); err == nil {
			c.Deployments = append(c.Deployments, o)
		}
	case KindStatefulSet:
		var o appsv1.StatefulSet
		if err = conv.FromUnstructured(u.Object, &o); err == nil {
			c.StatefulSets = append(c.StatefulSets, o)
		}
	case KindDaemonSet:
		var o appsv1.DaemonSet
		if err = conv.FromUnstructured(u.Object, &o); err == nil {
			c.DaemonSets = append(c.DaemonSets, o)
		}
	case KindReplicaSet:
		var o appsv1.ReplicaSet
		if err = conv.FromUnstructured(u.Object, &o); err == nil {
			c.ReplicaSets = append(c.ReplicaSets, o)
		}
	case KindPod:
		var o corev1.Pod
		if err = conv.FromUnstructured(u.Object, &o); err == nil {
			c.Pods = append(c.Pods, o)
		}
	case KindEvent:
		var o corev1.Event
		if err = conv.FromUnstructured(u.Object, &o); err == nil {
			c.Events = append(c.Events, o)
		}
	default:
		return fmt.Errorf("fluxstatus: unexpected kind %q (%s/%s)", u.GetKind(), u.GetNamespace(), u.GetName())
	}
	if err != nil {
		return fmt.Errorf("decoding %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
	}
	return nil
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
