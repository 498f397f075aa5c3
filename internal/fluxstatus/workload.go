package fluxstatus

import (
	"fmt"
	"sort"
	"strings"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// WorkloadKinds are the kinds whose rollout the rollout stage follows, in
// the order they are reported.
var WorkloadKinds = []string{KindDeployment, KindStatefulSet, KindDaemonSet}

// Labels helm-controller puts on everything it renders.
const (
	labelHelmName      = "helm.toolkit.fluxcd.io/name"
	labelHelmNamespace = "helm.toolkit.fluxcd.io/namespace"
)

// rollout is one Deployment, StatefulSet or DaemonSet of a release, judged
// the way `kubectl rollout status` judges its kind. The kinds differ only in
// how their status says "rolled out" and in which pods hold the new
// revision; everything after that (folding, evidence, the diagnosis of stuck
// pods) is the same code for all three.
type rollout struct {
	kind, namespace, name string
	state                 State
	ready, want           int32
	// revision names what holds the new pod template: the ReplicaSet of a
	// Deployment, the ControllerRevision of a StatefulSet or DaemonSet.
	revision string
	// onDelete: updateStrategy OnDelete, pods change only when deleted.
	onDelete bool
	// msg says, while not done, what the rollout waits for.
	msg string
	// pods are the ones whose trouble explains a stuck rollout.
	pods              []*corev1.Pod
	started, finished time.Time
}

// revisionEvidence is the evidence key naming the new revision of each kind.
var revisionEvidence = map[string]string{
	KindDeployment:  "replicaSet",
	KindStatefulSet: "statefulSetRevision",
	KindDaemonSet:   "daemonSetRevision",
}

// workloadID is where a workload named in an inventory lives, and its kind.
type workloadID struct{ namespace, kind string }

// inventoryWorkloads returns the Deployments, StatefulSets and DaemonSets
// hr's status.inventory names (entry IDs are namespace_name_group_kind), and
// whether that inventory can be trusted to name them all. It cannot without
// an inventory (helm-controller before Flux 2.6), nor while helm-controller
// works on a release (not Ready for the current generation, or
// Reconciling): the inventory is written after a Helm action, so what an
// upgrade adds, and may be stuck on, is not in it yet. Then any kind may be
// there.
func inventoryWorkloads(hr *helmv2.HelmRelease) ([]workloadID, bool) {
	settled := isTrue(hr.Status.Conditions, "Ready") && !isTrue(hr.Status.Conditions, "Reconciling") &&
		hr.Status.ObservedGeneration >= hr.Generation
	if hr.Status.Inventory == nil || !settled {
		return nil, false
	}
	var ws []workloadID
	for _, e := range hr.Status.Inventory.Entries {
		if p := strings.Split(e.ID, "_"); len(p) == 4 && p[2] == "apps" && workloadGVR[p[3]] != (schema.GroupVersionResource{}) {
			ws = append(ws, workloadID{namespace: p[0], kind: p[3]})
		}
	}
	return ws, true
}

// mayHave reports whether hr may own workloads of kind: its inventory says
// so, or it cannot be trusted to.
func mayHave(hr *helmv2.HelmRelease, kind string) bool {
	ws, ok := inventoryWorkloads(hr)
	if !ok {
		return true
	}
	for _, w := range ws {
		if w.kind == kind {
			return true
		}
	}
	return false
}

// rollouts returns the workloads of hr (named in its inventory or carrying
// helm-controller's labels for it), each judged.
func (c *Cluster) rollouts(hr *helmv2.HelmRelease) []rollout {
	inv := map[string]bool{}
	if hr.Status.Inventory != nil {
		for _, e := range hr.Status.Inventory.Entries {
			inv[e.ID] = true
		}
	}
	owns := func(kind string, m *metav1.ObjectMeta) bool {
		return inv[m.Namespace+"_"+m.Name+"_apps_"+kind] ||
			(m.Labels[labelHelmName] == hr.Name && m.Labels[labelHelmNamespace] == hr.Namespace)
	}
	var out []rollout
	for i := range c.Deployments {
		if d := &c.Deployments[i]; owns(KindDeployment, &d.ObjectMeta) {
			out = append(out, c.deploymentRollout(d))
		}
	}
	for i := range c.StatefulSets {
		if s := &c.StatefulSets[i]; owns(KindStatefulSet, &s.ObjectMeta) {
			out = append(out, c.statefulSetRollout(s))
		}
	}
	for i := range c.DaemonSets {
		if d := &c.DaemonSets[i]; owns(KindDaemonSet, &d.ObjectMeta) {
			out = append(out, c.daemonSetRollout(d))
		}
	}
	return out
}

// deploymentRollout: complete when the controller observed the spec and all
// wanted replicas are updated and available (kubectl's DeploymentStatusViewer);
// failed when the Progressing condition says ProgressDeadlineExceeded.
func (c *Cluster) deploymentRollout(d *appsv1.Deployment) rollout {
	r := rollout{kind: KindDeployment, namespace: d.Namespace, name: d.Name, want: replicas(d.Spec.Replicas), ready: d.Status.ReadyReplicas}
	rev := d.Annotations["deployment.kubernetes.io/revision"]
	var newRS *appsv1.ReplicaSet
	for i := range c.ReplicaSets {
		rs := &c.ReplicaSets[i]
		if rs.Namespace == d.Namespace && ownedBy(rs.OwnerReferences, KindDeployment, d.Name) && rs.Annotations["deployment.kubernetes.io/revision"] == rev {
			newRS = rs
		}
	}
	if newRS != nil {
		r.revision = newRS.Name
		r.started = newRS.CreationTimestamp.Time
		r.pods = c.podsOwnedBy(d.Namespace, KindReplicaSet, newRS.Name)
	}
	prog := findDeployCond(d, appsv1.DeploymentProgressing)
	waitsFor := ""
	if d.Status.ObservedGeneration < d.Generation || d.Status.UpdatedReplicas != r.want ||
		d.Status.AvailableReplicas != r.want || d.Status.Replicas != r.want {
		waitsFor = fmt.Sprintf("%d/%d pods ready, %d updated", d.Status.ReadyReplicas, r.want, d.Status.UpdatedReplicas)
	}
	r = r.judged(waitsFor)
	switch {
	case prog == nil:
	case r.state == Done && prog.Reason == "NewReplicaSetAvailable":
		r.finished = prog.LastUpdateTime.Time
		// A change of replicas alone makes no new ReplicaSet and may leave
		// the condition's time where the last template change put it: the
		// rollout then ended when the last pod of the ReplicaSet became Ready.
		if _, podsReady := podTimes(r.pods, anyPod); podsReady.After(r.finished) {
			r.finished = podsReady
		}
	case r.state != Done && prog.Reason == "ProgressDeadlineExceeded":
		r.state = Failed
	}
	return r
}

// statefulSetRollout follows kubectl's StatefulSetStatusViewer: the spec is
// observed, every replica is ready, and the pods from the partition up run
// the update revision; without a partition the controller must also have
// made the update revision current (it does once the last pod is ready).
func (c *Cluster) statefulSetRollout(s *appsv1.StatefulSet) rollout {
	st := s.Status
	r := rollout{kind: KindStatefulSet, namespace: s.Namespace, name: s.Name, want: replicas(s.Spec.Replicas), ready: st.ReadyReplicas,
		revision: st.UpdateRevision, onDelete: s.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType}
	pods := c.podsOwnedBy(s.Namespace, KindStatefulSet, s.Name)
	// StatefulSet pods carry the full ControllerRevision name.
	r.started, r.finished = podTimes(pods, func(p *corev1.Pod) bool { return p.Labels[appsv1.ControllerRevisionHashLabelKey] == st.UpdateRevision })
	r.pods = pods
	return r.judged(statefulSetWaitsFor(s, r.onDelete))
}

func statefulSetWaitsFor(s *appsv1.StatefulSet, onDelete bool) string {
	st, want := s.Status, replicas(s.Spec.Replicas)
	var partition int32
	if ru := s.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil && !onDelete {
		partition = *ru.Partition
	}
	toUpdate := max(want-partition, 0)
	switch {
	case st.ObservedGeneration == 0 || st.ObservedGeneration < s.Generation:
		return "waiting for the StatefulSet controller to observe the new spec"
	case onDelete && (st.UpdatedReplicas < want || st.ReadyReplicas < want):
		return fmt.Sprintf("updateStrategy OnDelete: %d of %d pods run revision %s, %d ready; the others change only when deleted",
			st.UpdatedReplicas, want, st.UpdateRevision, st.ReadyReplicas)
	case st.ReadyReplicas < want:
		return fmt.Sprintf("%d/%d pods ready, %d updated", st.ReadyReplicas, want, st.UpdatedReplicas)
	case st.UpdatedReplicas < toUpdate && partition > 0:
		return fmt.Sprintf("partitioned rollout: %d of %d new pods updated (partition %d)", st.UpdatedReplicas, toUpdate, partition)
	case st.UpdatedReplicas < toUpdate || partition == 0 && !onDelete && st.CurrentRevision != st.UpdateRevision:
		return fmt.Sprintf("rolling update: %d of %d pods at revision %s", st.UpdatedReplicas, want, st.UpdateRevision)
	}
	return ""
}

// daemonSetRollout follows kubectl's DaemonSetStatusViewer: the spec is
// observed, and on every node that should run one the pod is updated and
// available.
func (c *Cluster) daemonSetRollout(d *appsv1.DaemonSet) rollout {
	st := d.Status
	r := rollout{kind: KindDaemonSet, namespace: d.Namespace, name: d.Name, want: st.DesiredNumberScheduled, ready: st.NumberReady,
		onDelete: d.Spec.UpdateStrategy.Type == appsv1.OnDeleteDaemonSetStrategyType}
	pods := c.podsOwnedBy(d.Namespace, KindDaemonSet, d.Name)
	// A DaemonSet's status does not name its revision: its pods do. The
	// template generation (set by the API server on the DaemonSet, copied
	// onto each pod) says which pods are new.
	gen := d.Annotations["deprecated.daemonset.template.generation"]
	isNew := func(p *corev1.Pod) bool { return gen != "" && p.Labels["pod-template-generation"] == gen }
	for _, p := range pods {
		if h := p.Labels[appsv1.DefaultDaemonSetUniqueLabelKey]; h != "" && isNew(p) {
			r.revision = d.Name + "-" + h
			break
		}
	}
	r.started, r.finished = podTimes(pods, isNew)
	r.pods = pods
	return r.judged(daemonSetWaitsFor(d, r.onDelete))
}

func daemonSetWaitsFor(d *appsv1.DaemonSet, onDelete bool) string {
	st, want := d.Status, d.Status.DesiredNumberScheduled
	switch {
	case st.ObservedGeneration < d.Generation:
		return "waiting for the DaemonSet controller to observe the new spec"
	case onDelete && (st.UpdatedNumberScheduled < want || st.NumberAvailable < want):
		return fmt.Sprintf("updateStrategy OnDelete: %d of %d pods updated, %d available; the others change only when deleted",
			st.UpdatedNumberScheduled, want, st.NumberAvailable)
	case st.UpdatedNumberScheduled < want:
		return fmt.Sprintf("%d of %d new pods updated, %d ready", st.UpdatedNumberScheduled, want, st.NumberReady)
	case st.NumberAvailable < want:
		return fmt.Sprintf("%d of %d updated pods available, %d ready", st.NumberAvailable, want, st.NumberReady)
	}
	return ""
}

// judged sets the state from what the rollout still waits for ("" when
// nothing): a rollout with updateStrategy OnDelete waits on someone
// deleting pods, so it is waiting, not in progress.
func (r rollout) judged(waitsFor string) rollout {
	r.msg = waitsFor
	switch {
	case waitsFor == "":
		r.state = Done
	case r.onDelete:
		r.state = Waiting
	default:
		r.state = InProgress
	}
	return r
}

func replicas(n *int32) int32 {
	if n == nil {
		return 1
	}
	return *n
}

func findDeployCond(d *appsv1.Deployment, ty appsv1.DeploymentConditionType) *appsv1.DeploymentCondition {
	for i := range d.Status.Conditions {
		if d.Status.Conditions[i].Type == ty {
			return &d.Status.Conditions[i]
		}
	}
	return nil
}

// podsOwnedBy returns the pods of ns whose controller is kind/name, by name.
func (c *Cluster) podsOwnedBy(ns, kind, name string) []*corev1.Pod {
	var pods []*corev1.Pod
	for i := range c.Pods {
		p := &c.Pods[i]
		if p.Namespace == ns && ownedBy(p.OwnerReferences, kind, name) {
			pods = append(pods, p)
		}
	}
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	return pods
}

func anyPod(*corev1.Pod) bool { return true }

// podTimes: a rollout without a ReplicaSet started when its first new pod
// was created and finished when its last new pod became Ready.
func podTimes(pods []*corev1.Pod, isNew func(*corev1.Pod) bool) (started, finished time.Time) {
	allReady := true
	for _, p := range pods {
		if !isNew(p) {
			continue
		}
		if t := p.CreationTimestamp.Time; !t.IsZero() && (started.IsZero() || t.Before(started)) {
			started = t
		}
		ready := false
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				ready = true
				if c.LastTransitionTime.After(finished) {
					finished = c.LastTransitionTime.Time
				}
			}
		}
		allReady = allReady && ready
	}
	if !allReady {
		finished = time.Time{}
	}
	return started, finished
}

// podTrouble explains why pods are not ready, from the first one in
// trouble, with the pod's latest Warning event when there is one.
func (c *Cluster) podTrouble(pods []*corev1.Pod) string {
	for _, p := range pods {
		why := ""
		for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
			if w := cs.State.Waiting; w != nil && w.Reason != "" && w.Reason != "ContainerCreating" && w.Reason != "PodInitializing" {
				why = fmt.Sprintf("pod %s container %s: %s", p.Name, cs.Name, w.Reason)
				if w.Message != "" {
					why += " (" + firstLine(w.Message) + ")"
				}
				break
			}
		}
		if why == "" {
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
					why = fmt.Sprintf("pod %s is %s: %s", p.Name, orWord(c.Reason, "not scheduled"), c.Message)
				}
			}
		}
		if why == "" && p.Status.Phase == corev1.PodPending {
			why = "pod " + p.Name + " is Pending"
		}
		if why == "" {
			continue
		}
		for _, ev := range c.eventsFor(KindPod, p.Namespace, p.Name) {
			if ev.Type == corev1.EventTypeWarning {
				why += "; event " + ev.Reason + ": " + firstLine(ev.Message)
				break
			}
		}
		return why
	}
	return ""
}

func podFix(why string) string {
	switch {
	case strings.Contains(why, "ImagePull") || strings.Contains(why, "ErrImage") || strings.Contains(why, "InvalidImageName"):
		return "check image.repository and image.tag in the values (does that tag exist? can the node pull it?)"
	case strings.Contains(why, "CrashLoopBackOff"):
		return "the container starts and crashes: read its logs (kubectl logs --previous) and fix the app or its config"
	case strings.Contains(why, "Unschedulable"):
		return "no node fits the pods: lower resources.requests, or check nodeSelector, tolerations and affinity"
	case strings.Contains(why, "CreateContainerConfigError"):
		return "a ConfigMap or Secret the pod needs is missing"
	}
	return "kubectl describe the pod for details"
}
