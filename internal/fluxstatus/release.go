package fluxstatus

import (
	"context"
	"fmt"
	"strings"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"github.com/fluxcd/pkg/apis/meta"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// ReleaseState answers "is chart version X deployed and Ready for
// HelmRelease ns/name" (promote --require-deployed).
type ReleaseState struct {
	// Found: the HelmRelease exists (and could be read).
	Found bool
	// Deployed: the running Helm release (newest history entry with status
	// deployed) has the wanted chart version.
	Deployed bool
	// Ready: the HelmRelease is Ready=True for its current generation and
	// its Deployments, StatefulSets and DaemonSets are fully rolled out (as
	// kubectl rollout status judges each kind). A kind RBAC refuses is not
	// checked: Ready=True (Helm waited for the workloads) stands in for it.
	Ready bool
	// State folds both: Done when Deployed && Ready, Failed when Flux gave up
	// (Stalled or Released=False), InProgress while Flux works on it,
	// Waiting otherwise, Forbidden when RBAC refused.
	State State
	// ChartVersion and HelmRevision of the running release.
	ChartVersion string
	HelmRevision int
	Reason       string
	Message      string
}

// ChartVersionMatches reports whether running satisfies wanted: equal, or
// equal once the "+<sha>" build metadata that reconcileStrategy Revision adds
// is dropped from running when wanted has none.
func ChartVersionMatches(running, wanted string) bool {
	if running == wanted {
		return true
	}
	if !strings.Contains(wanted, "+") {
		base, _, _ := strings.Cut(running, "+")
		return base == wanted
	}
	return false
}

// ReleaseStatus computes ReleaseState for key from c (as filled by Fetch or
// FetchRelease). chartVersion "" means "whatever is running".
func ReleaseStatus(c *Cluster, key types.NamespacedName, chartVersion string) ReleaseState {
	var st ReleaseState
	hr := c.helmRelease(key)
	if hr == nil {
		if c.forbidden(KindHelmRelease) {
			st.State, st.Reason, st.Message = Forbidden, "Forbidden", c.Forbidden[KindHelmRelease]
			return st
		}
		st.State, st.Reason, st.Message = Waiting, "NotFound", "HelmRelease "+key.String()+" not found"
		return st
	}
	st.Found = true
	running := deployedSnapshot(hr)
	if running != nil {
		st.ChartVersion, st.HelmRevision = running.ChartVersion, running.Version
		st.Deployed = chartVersion == "" || ChartVersionMatches(running.ChartVersion, chartVersion)
	}
	ready := apimeta.FindStatusCondition(hr.Status.Conditions, meta.ReadyCondition)
	current := hr.Status.ObservedGeneration >= hr.Generation
	st.Ready = ready != nil && ready.Status == metav1.ConditionTrue && current
	if ready != nil {
		st.Reason, st.Message = ready.Reason, ready.Message
	}
	if st.Ready {
		for _, r := range c.rollouts(hr) {
			if r.state != Done {
				st.Ready = false
				st.Reason, st.Message = "RolloutInProgress", r.kind+" "+r.name+": "+r.msg
			}
		}
	}
	released := apimeta.FindStatusCondition(hr.Status.Conditions, helmv2.ReleasedCondition)
	switch {
	case st.Deployed && st.Ready:
		st.State = Done
	case isTrue(hr.Status.Conditions, meta.StalledCondition) || (released != nil && released.Status == metav1.ConditionFalse && strings.HasSuffix(released.Reason, "Failed")):
		st.State = Failed
		if released != nil && released.Status == metav1.ConditionFalse {
			st.Reason, st.Message = released.Reason, released.Message
		}
	case isTrue(hr.Status.Conditions, meta.ReconcilingCondition) || (ready != nil && ready.Status == metav1.ConditionUnknown):
		st.State = InProgress
	default:
		st.State = Waiting
	}
	if !st.Deployed && st.State == Done {
		st.State = Waiting
	}
	if !st.Deployed && chartVersion != "" && st.Message == "" {
		st.Message = fmt.Sprintf("running chart %s, not %s", orNone(st.ChartVersion), chartVersion)
	}
	return st
}

// FetchRelease reads one HelmRelease and its workloads, for ReleaseStatus:
// one get, then one list per workload kind its status.inventory names (all
// three kinds when it has no inventory), narrowed by helm-controller's
// labels. 4 requests at most; 2 for a release of Deployments only.
func FetchRelease(ctx context.Context, dyn dynamic.Interface, key types.NamespacedName) (*Cluster, error) {
	c := &Cluster{}
	u, err := dyn.Resource(HelmReleaseGVR).Namespace(key.Namespace).Get(ctx, key.Name, metav1.GetOptions{})
	switch {
	case err == nil:
		u.SetKind(KindHelmRelease)
		if err := c.Add(u); err != nil {
			return nil, err
		}
	case isForbidden(err):
		c.SetForbidden(KindHelmRelease, apiMessage(err))
		return c, nil
	case isNotFound(err):
		return c, nil
	default:
		return nil, fmt.Errorf("reading HelmRelease %s: %w", key, err)
	}
	hr := &c.HelmReleases[0]
	ns := key.Namespace
	if hr.Spec.TargetNamespace != "" {
		ns = hr.Spec.TargetNamespace
	}
	for _, kind := range WorkloadKinds {
		if !mayHave(hr, kind) {
			continue
		}
		ul, err := dyn.Resource(workloadGVR[kind]).Namespace(ns).List(ctx, metav1.ListOptions{
			LabelSelector: labelHelmName + "=" + key.Name + "," + labelHelmNamespace + "=" + key.Namespace})
		switch {
		case err == nil:
			for i := range ul.Items {
				ul.Items[i].SetKind(kind)
				if err := c.Add(&ul.Items[i]); err != nil {
					return nil, err
				}
			}
		case isForbidden(err):
			c.SetForbidden(kind, apiMessage(err))
		default:
			return nil, fmt.Errorf("listing %ss of HelmRelease %s: %w", kind, key, err)
		}
	}
	return c, nil
}
