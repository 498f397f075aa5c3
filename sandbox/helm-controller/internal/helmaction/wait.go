package helmaction

import (
	"context"
	"errors"
	"fmt"
	"time"

	"helm.sh/helm/v3/pkg/kube"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// kstatusClient is Helm's kube client with Wait replaced: instead of Helm's
// 2-second polling and its "ready minus maxUnavailable" rule for Deployments,
// it watches each workload until it is Current in the kstatus sense (all
// replicas updated, available and ready, old ones gone), which is what
// helm-controller waits for before Released=True.
type kstatusClient struct {
	*kube.Client
	clientset kubernetes.Interface
	logf      func(string, ...any)
}

func (c *kstatusClient) Wait(resources kube.ResourceList, timeout time.Duration) error {
	return c.wait(resources, timeout, false)
}

func (c *kstatusClient) WaitWithJobs(resources kube.ResourceList, timeout time.Duration) error {
	return c.wait(resources, timeout, true)
}

// statusFunc says whether an object is Current, with a message when not; a
// non-nil error means it failed and waiting is pointless.
type statusFunc func(obj runtime.Object) (bool, string, error)

func (c *kstatusClient) wait(resources kube.ResourceList, timeout time.Duration, jobs bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for _, info := range resources {
		if info.Mapping == nil {
			continue
		}
		gk := info.Mapping.GroupVersionKind.GroupKind()
		var (
			getter  cache.Getter
			res     string
			objType runtime.Object
			check   statusFunc
		)
		switch {
		case gk.Group == "apps" && gk.Kind == "Deployment":
			getter, res, objType, check = c.clientset.AppsV1().RESTClient(), "deployments", &appsv1.Deployment{}, deploymentStatus
		case gk.Group == "apps" && gk.Kind == "StatefulSet":
			getter, res, objType, check = c.clientset.AppsV1().RESTClient(), "statefulsets", &appsv1.StatefulSet{}, statefulSetStatus
		case gk.Group == "apps" && gk.Kind == "DaemonSet":
			getter, res, objType, check = c.clientset.AppsV1().RESTClient(), "daemonsets", &appsv1.DaemonSet{}, daemonSetStatus
		case jobs && gk.Group == "batch" && gk.Kind == "Job":
			getter, res, objType, check = c.clientset.BatchV1().RESTClient(), "jobs", &batchv1.Job{}, jobStatus
		default:
			continue
		}
		c.logf("waiting for %s %s/%s to become Current", gk.Kind, info.Namespace, info.Name)
		lw := cache.NewFilteredListWatchFromClient(getter, res, info.Namespace, func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", info.Name).String()
		})
		last := "not found"
		var failed error
		_, err := watchtools.UntilWithSync(ctx, lw, objType, nil, func(ev watch.Event) (bool, error) {
			if ev.Type == watch.Deleted {
				last = "deleted"
				return false, nil
			}
			ok, msg, err := check(ev.Object)
			last = msg
			if err != nil {
				failed = err
				return true, nil
			}
			return ok, nil
		})
		if failed != nil {
			return fmt.Errorf("%s/%s/%s status: 'Failed': %w", gk.Kind, info.Namespace, info.Name, failed)
		}
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, watchtools.ErrWatchClosed) || ctx.Err() != nil {
				return fmt.Errorf("timeout waiting for: [%s/%s/%s status: 'InProgress': %s]", gk.Kind, info.Namespace, info.Name, last)
			}
			return fmt.Errorf("waiting for %s/%s/%s: %w", gk.Kind, info.Namespace, info.Name, err)
		}
		c.logf("%s %s/%s is Current", gk.Kind, info.Namespace, info.Name)
	}
	return nil
}

func replicas(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

func deploymentStatus(obj runtime.Object) (bool, string, error) {
	d, ok := obj.(*appsv1.Deployment)
	if !ok {
		return false, "", fmt.Errorf("unexpected object %T", obj)
	}
	if d.Status.ObservedGeneration < d.Generation {
		return false, "Deployment generation not yet observed", nil
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return false, "", errors.New("progress deadline exceeded")
		}
	}
	want, st := replicas(d.Spec.Replicas), d.Status
	switch {
	case st.Replicas < want:
		return false, fmt.Sprintf("Replicas: %d/%d", st.Replicas, want), nil
	case st.UpdatedReplicas < want:
		return false, fmt.Sprintf("Updated: %d/%d", st.UpdatedReplicas, want), nil
	case st.Replicas > want:
		return false, fmt.Sprintf("Pending termination: %d", st.Replicas-want), nil
	case st.AvailableReplicas < want:
		return false, fmt.Sprintf("Available: %d/%d", st.AvailableReplicas, want), nil
	case st.ReadyReplicas < want:
		return false, fmt.Sprintf("Ready: %d/%d", st.ReadyReplicas, want), nil
	}
	return true, "", nil
}

func statefulSetStatus(obj runtime.Object) (bool, string, error) {
	s, ok := obj.(*appsv1.StatefulSet)
	if !ok {
		return false, "", fmt.Errorf("unexpected object %T", obj)
	}
	if s.Status.ObservedGeneration < s.Generation {
		return false, "StatefulSet generation not yet observed", nil
	}
	want, st := replicas(s.Spec.Replicas), s.Status
	switch {
	case st.Replicas < want:
		return false, fmt.Sprintf("Replicas: %d/%d", st.Replicas, want), nil
	case st.ReadyReplicas < want:
		return false, fmt.Sprintf("Ready: %d/%d", st.ReadyReplicas, want), nil
	case s.Spec.UpdateStrategy.Type != appsv1.OnDeleteStatefulSetStrategyType && st.UpdateRevision != st.CurrentRevision:
		return false, fmt.Sprintf("Updated: %d/%d", st.UpdatedReplicas, want), nil
	}
	return true, "", nil
}

func daemonSetStatus(obj runtime.Object) (bool, string, error) {
	d, ok := obj.(*appsv1.DaemonSet)
	if !ok {
		return false, "", fmt.Errorf("unexpected object %T", obj)
	}
	if d.Status.ObservedGeneration < d.Generation {
		return false, "DaemonSet generation not yet observed", nil
	}
	st := d.Status
	switch {
	case st.UpdatedNumberScheduled < st.DesiredNumberScheduled:
		return false, fmt.Sprintf("Updated: %d/%d", st.UpdatedNumberScheduled, st.DesiredNumberScheduled), nil
	case st.NumberAvailable < st.DesiredNumberScheduled:
		return false, fmt.Sprintf("Available: %d/%d", st.NumberAvailable, st.DesiredNumberScheduled), nil
	}
	return true, "", nil
}

func jobStatus(obj runtime.Object) (bool, string, error) {
	j, ok := obj.(*batchv1.Job)
	if !ok {
		return false, "", fmt.Errorf("unexpected object %T", obj)
	}
	for _, c := range j.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return true, "", nil
		case batchv1.JobFailed:
			return false, "", fmt.Errorf("job failed: %s", c.Message)
		}
	}
	return false, "Job not complete", nil
}
