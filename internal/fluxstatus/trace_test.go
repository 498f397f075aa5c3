package fluxstatus

import (
	"strconv"
	"strings"
	"testing"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

var (
	now       = time.Date(2026, 11, 25, 18, 1, 20, 0, time.UTC)
	chartSrc  = types.NamespacedName{Namespace: "flux-system", Name: "sample-app-helm-chart"}
	gitopsSrc = types.NamespacedName{Namespace: "flux-system", Name: "flux-app-delivery"}
	sampleApp = types.NamespacedName{Namespace: "sample-app", Name: "sample-app"}
	c12, p12  = shaC[:12], shaP[:12]
	l12       = shaL[:12]
)

func cond(ty, status, reason, msg string) metav1.Condition {
	return metav1.Condition{Type: ty, Status: metav1.ConditionStatus(status), Reason: reason, Message: msg,
		LastTransitionTime: metav1.NewTime(now.Add(-30 * time.Second))}
}

func setCond(conds *[]metav1.Condition, c metav1.Condition) {
	for i := range *conds {
		if (*conds)[i].Type == c.Type {
			(*conds)[i] = c
			return
		}
	}
	*conds = append(*conds, c)
}

// sourceAt moves the GitRepository, the HelmChart and the deployed release
// to revision sha (Revision strategy fixture).
func sourceAt(c *Cluster, sha string) {
	c.GitRepositories[0].Status.Artifact.Revision = "main@sha1:" + sha
	c.HelmCharts[0].Status.ObservedSourceArtifactRevision = "main@sha1:" + sha
	c.HelmCharts[0].Status.Artifact.Revision = "0.1.2+" + sha[:12]
	c.HelmReleases[0].Status.History[0].ChartVersion = "0.1.2+" + sha[:12]
	c.HelmReleases[0].Status.LastAttemptedRevision = "0.1.2+" + sha[:12]
	c.Events = nil
}

// chartVersionStrategy turns the Revision fixture into ChartVersion, chart 0.1.2.
func chartVersionStrategy(c *Cluster) {
	c.HelmCharts[0].Spec.ReconcileStrategy = "ChartVersion"
	c.HelmCharts[0].Status.Artifact.Revision = "0.1.2"
	c.HelmReleases[0].Spec.Chart.Spec.ReconcileStrategy = "ChartVersion"
	c.HelmReleases[0].Status.History[0].ChartVersion = "0.1.2"
	c.HelmReleases[0].Status.LastAttemptedRevision = "0.1.2"
}

// failedUpgrade: history gets a failed v4 with the commit's chart; v3 (the
// parent's) stays deployed.
func failedUpgrade(c *Cluster, stalled bool) {
	hr := &c.HelmReleases[0]
	hr.Status.History[0].ChartVersion = "0.1.2+" + p12
	failed := *hr.Status.History[0]
	failed.Version, failed.Status, failed.ChartVersion = 4, "failed", "0.1.2+"+c12
	hr.Status.History = append(helmv2.Snapshots{&failed}, hr.Status.History...)
	hr.Status.Failures, hr.Status.UpgradeFailures = 1, 1
	msg := "Helm upgrade failed for release sample-app/sample-app with chart sample-app@0.1.2+" + c12 + ": Deployment.apps \"sample-app\" is invalid: spec.template.spec.containers[0].resources.limits[memory]: Invalid value: \"not-a-quantity\""
	setCond(&hr.Status.Conditions, cond("Released", "False", "UpgradeFailed", msg))
	setCond(&hr.Status.Conditions, cond("Ready", "False", "UpgradeFailed", msg))
	setCond(&hr.Status.Conditions, cond("Remediated", "True", "RollbackSucceeded", "Helm rollback to previous release sample-app/sample-app.v3 with chart sample-app@0.1.2+"+p12+" succeeded"))
	if stalled {
		setCond(&hr.Status.Conditions, cond("Stalled", "True", "RetriesExceeded", "Failed to upgrade after 3 attempt(s)"))
	}
}

type want struct {
	state    State
	deployed bool
	stages   map[string]State
	diags    []string
	// msgHas: substrings a diagnosis message must contain.
	msgHas []string
	by     string // DeployedBy SHA prefix
	// rollout: evidence of the rollout stage; rolloutHas: substrings of its
	// message.
	rollout    map[string]string
	rolloutHas []string
}

// withWorkloads is the Revision fixture whose release also runs a
// StatefulSet and a DaemonSet.
const withWorkloads = "revision-deployed.yaml+workloads.yaml"

// inventoryAll lists the StatefulSet and the DaemonSet in the release's
// inventory beside the Deployment.
func inventoryAll(c *Cluster) {
	inv := c.HelmReleases[0].Status.Inventory
	inv.Entries = append(inv.Entries, helmv2.ResourceRef{ID: "sample-app_sample-db_apps_StatefulSet", Version: "v1"},
		helmv2.ResourceRef{ID: "sample-app_sample-agent_apps_DaemonSet", Version: "v1"})
}

// onlyKinds drops the workloads of the other kinds (and the inventory's
// Deployment entry when Deployments go).
func onlyKinds(c *Cluster, kinds ...string) {
	keep := map[string]bool{}
	for _, k := range kinds {
		keep[k] = true
	}
	if !keep[KindDeployment] {
		c.Deployments, c.ReplicaSets = nil, nil
		c.HelmReleases[0].Status.Inventory.Entries = c.HelmReleases[0].Status.Inventory.Entries[1:]
	}
	if !keep[KindStatefulSet] {
		c.StatefulSets = nil
	}
	if !keep[KindDaemonSet] {
		c.DaemonSets = nil
	}
}

// stsRolling puts sample-db mid-rollout from revision sample-db-5b8c7d6e3 to
// sample-db-6c9f7d8b4: updated of 3 pods run the new one (the highest
// ordinals first, as the controller goes).
func stsRolling(c *Cluster, updated int32) {
	s := &c.StatefulSets[0]
	s.Status.UpdatedReplicas, s.Status.CurrentReplicas = updated, 3-updated
	s.Status.CurrentRevision = "sample-db-5b8c7d6e3"
	for i := range c.Pods {
		p := &c.Pods[i]
		if strings.HasPrefix(p.Name, "sample-db-") && p.Name < "sample-db-"+strconv.Itoa(int(3-updated)) {
			p.Labels["controller-revision-hash"] = "sample-db-5b8c7d6e3"
		}
	}
}

func TestTrace(t *testing.T) {
	tests := []struct {
		name    string
		fixture string
		sources []types.NamespacedName
		mutate  func(*Cluster, *Commit)
		want    want
	}{
		{
			name: "revision strategy deployed", fixture: "revision-deployed.yaml", sources: []types.NamespacedName{chartSrc},
			want: want{state: Done, deployed: true, stages: map[string]State{StageSource: Done, StageChart: Done, StageRelease: Done, StageRollout: Done}},
		},
		{
			name: "superseded commit counts as deployed, by the later commit", fixture: "revision-deployed.yaml", sources: []types.NamespacedName{chartSrc},
			mutate: func(c *Cluster, _ *Commit) { sourceAt(c, shaL) },
			want:   want{state: Done, deployed: true, by: l12, stages: map[string]State{StageSource: Done, StageChart: Done, StageRelease: Done}},
		},
		{
			name: "not fetched yet says when the next fetch is due", fixture: "revision-deployed.yaml", sources: []types.NamespacedName{chartSrc},
			mutate: func(c *Cluster, _ *Commit) {
				sourceAt(c, shaP)
				c.GitRepositories[0].Status.Artifact.LastUpdateTime = metav1.NewTime(now.Add(-40 * time.Second))
				c.GitRepositories[0].Status.Conditions[0].LastTransitionTime = metav1.NewTime(now.Add(-40 * time.Second))
			},
			want: want{state: Waiting, stages: map[string]State{StageSource: Waiting, StageChart: Waiting, StageRelease: Waiting, StageRollout: Waiting},
				diags: []string{DiagNotFetchedYet}, msgHas: []string{"next fetch due in ~20s"}},
		},
		{
			name: "pinned to a tag behind the commit: no fetch will bring it", fixture: "revision-deployed.yaml", sources: []types.NamespacedName{chartSrc},
			mutate: func(c *Cluster, _ *Commit) {
				sourceAt(c, shaP)
				c.GitRepositories[0].Spec.Reference = &sourcev1.GitRepositoryRef{Tag: "v0.1.2"}
			},
			want: want{state: Waiting, stages: map[string]State{StageSource: Waiting},
				diags: []string{DiagPinned}, msgHas: []string{"pinned to tag v0.1.2"}},
		},
		{
			name: "a semver range is not a pin: a matching tag is fetched by itself", fixture: "revision-deployed.yaml", sources: []types.NamespacedName{chartSrc},
			mutate: func(c *Cluster, _ *Commit) {
				sourceAt(c, shaP)
				c.GitRepositories[0].Spec.Reference = &sourcev1.GitRepositoryRef{SemVer: ">=0.1.0"}
			},
			want: want{state: Waiting, diags: []string{DiagNotFetchedYet}},
		},
		{
			name: "not pushed", fixture: "revision-deployed.yaml", sources: []types.NamespacedName{chartSrc},
			mutate: func(c *Cluster, m *Commit) { sourceAt(c, shaP); m.Pushed = false },
			want:   want{state: Waiting, diags: []string{DiagNotPushed}},
		},
		{
			name: "revision not in the checkout", fixture: "revision-deployed.yaml", sources: []types.NamespacedName{chartSrc},
			mutate: func(c *Cluster, m *Commit) { sourceAt(c, "dddddddddddddddddddddddddddddddddddddddd") },
			want:   want{state: Waiting, diags: []string{DiagNotInCheckout}},
		},
		{
			name: "commit on another branch", fixture: "revision-deployed.yaml", sources: []types.NamespacedName{chartSrc},
			mutate: func(c *Cluster, m *Commit) { sourceAt(c, shaL); m.Relations[shaL] = Diverged },
			want:   want{state: Failed, diags: []string{DiagNotOnBranch}, msgHas: []string{"branch main"}},
		},
		{
			name: "source failing", fixture: "revision-deployed.yaml", sources: []types.NamespacedName{chartSrc},
			mutate: func(c *Cluster, _ *Commit) {
				sourceAt(c, shaP)
				setCond(&c.GitRepositories[0].Status.Conditions, cond("FetchFailed", "True", "AuthenticationFailed", "failed to checkout and determine revision: authentication required"))
			},
			want: want{state: Failed, stages: map[string]State{StageSource: Failed, StageRelease: Waiting}, diags: []string{DiagSourceFailed}, msgHas: []string{"authentication required"}},
		},
		{
			name: "suspended source", fixture: "revision-deployed.yaml", sources: []types.NamespacedName{chartSrc},
			mutate: func(c *Cluster, _ *Commit) { sourceAt(c, shaP); c.GitRepositories[0].Spec.Suspend = true },
			want:   want{state: Waiting, diags: []string{DiagSuspended}, msgHas: []string{"suspended"}},
		},
		{
			name: "suspended HelmRelease", fixture: "revision-deployed.yaml", sources: []types.NamespacedName{chartSrc},
			mutate: func(c *Cluster, _ *Commit) {
				c.HelmReleases[0].Status.History[0].ChartVersion = "0.1.2+" + p12
				c.HelmReleases[0].Spec.Suspend = true
			},
			want: want{state: Waiting, stages: map[string]State{StageChart: Done, StageRelease: Waiting}, diags: []string{DiagSuspended}},
		},
		{
			name: "ChartVersion strategy, version unchanged: diagnosed", fixture: "revision-deployed.yaml", sources: []types.NamespacedName{chartSrc},
			mutate: func(c *Cluster, m *Commit) {
				chartVersionStrategy(c)
				m.ChartBuilds = map[string]string{"charts/sample-app@0.1.2": shaP}
			},
			want: want{state: Failed, stages: map[string]State{StageSource: Done, StageChart: Failed, StageRelease: Waiting, StageRollout: Waiting},
				diags: []string{DiagChartVersionUnchanged}, msgHas: []string{"Chart.yaml still says version 0.1.2", "reconcileStrategy: Revision"}},
		},
		{
			// The HelmChart observed the commit, whose Chart.yaml says a new
			// version, but still shows the chart it built before: the Git side
			// finds no commit setting 0.1.2 looking back from it.
			name: "ChartVersion strategy, observed a new version not built yet", fixture: "revision-deployed.yaml", sources: []types.NamespacedName{chartSrc},
			mutate: func(c *Cluster, m *Commit) {
				chartVersionStrategy(c)
				m.ChartBuilds = map[string]string{}
			},
			want: want{state: InProgress, stages: map[string]State{StageSource: Done, StageChart: InProgress, StageRelease: Waiting}},
		},
		{
			// source-controller patched the observed revision mid-reconcile,
			// before building: no verdict yet.
			name: "ChartVersion strategy, HelmChart still reconciling the commit", fixture: "revision-deployed.yaml", sources: []types.NamespacedName{chartSrc},
			mutate: func(c *Cluster, m *Commit) {
				chartVersionStrategy(c)
				m.ChartBuilds = map[string]string{"charts/sample-app@0.1.2": shaP}
				c.HelmCharts[0].Status.Conditions = []metav1.Condition{
					{Type: "Reconciling", Status: metav1.ConditionTrue, Reason: "Progressing", Message: "building artifact: new source revision"},
					{Type: "Ready", Status: metav1.ConditionUnknown, Reason: "Progressing", Message: "building artifact: new source revision"},
				}
			},
			want: want{state: InProgress, stages: map[string]State{StageSource: Done, StageChart: InProgress, StageRelease: Waiting}},
		},
		{
			name: "ChartVersion strategy, version bumped by the commit", fixture: "revision-deployed.yaml", sources: []types.NamespacedName{chartSrc},
			mutate: func(c *Cluster, m *Commit) {
				chartVersionStrategy(c)
				c.HelmCharts[0].Status.Artifact.Revision = "0.1.3"
				c.HelmReleases[0].Status.History[0].ChartVersion = "0.1.3"
				m.ChartBuilds = map[string]string{"charts/sample-app@0.1.3": shaC}
			},
			want: want{state: Done, deployed: true, stages: map[string]State{StageChart: Done, StageRelease: Done}},
		},
		{
			name: "commit touched no watched path", fixture: "revision-deployed.yaml", sources: []types.NamespacedName{chartSrc},
			mutate: func(c *Cluster, m *Commit) {
				chartVersionStrategy(c)
				m.Paths = []string{"README.md", "docs/x.md"}
			},
			want: want{state: Done, deployed: true, stages: map[string]State{StageSource: Done, StageChart: NotNeeded, StageRelease: NotNeeded, StageRollout: NotNeeded},
				diags: []string{DiagNoWatchedPath}},
		},
		{
			name: "ignored path under the chart does not count", fixture: "revision-deployed.yaml", sources: []types.NamespacedName{chartSrc},
			mutate: func(c *Cluster, m *Commit) {
				chartVersionStrategy(c)
				ig := "/*\n!/charts/\ncharts/**/*.md\n*.md\n"
				c.GitRepositories[0].Spec.Ignore = &ig
				m.Paths = []string{"charts/sample-app/NOTES.md"}
			},
			want: want{deployed: true, diags: []string{DiagNoWatchedPath}},
		},
		{
			name: "upgrade failed, retries exhausted, rolled back", fixture: "revision-deployed.yaml", sources: []types.NamespacedName{chartSrc},
			mutate: func(c *Cluster, _ *Commit) { failedUpgrade(c, true) },
			want: want{state: Failed, stages: map[string]State{StageChart: Done, StageRelease: Failed, StageRollout: Waiting},
				diags: []string{DiagRolledBack, DiagReleaseFailed}, msgHas: []string{"not-a-quantity", "v3"}},
		},
		{
			name: "upgrade failed, Flux retries", fixture: "revision-deployed.yaml", sources: []types.NamespacedName{chartSrc},
			mutate: func(c *Cluster, _ *Commit) { failedUpgrade(c, false) },
			want:   want{state: InProgress, stages: map[string]State{StageRelease: InProgress}, diags: []string{DiagRolledBack, DiagRetrying}},
		},
		{
			name: "pods never ready: ImagePullBackOff with the pod event", fixture: "revision-deployed.yaml", sources: []types.NamespacedName{chartSrc},
			mutate: func(c *Cluster, _ *Commit) {
				hr := &c.HelmReleases[0]
				hr.Status.History[0].ChartVersion = "0.1.2+" + p12
				setCond(&hr.Status.Conditions, cond("Ready", "Unknown", "Progressing", "Running 'upgrade' action with timeout of 5m0s"))
				setCond(&hr.Status.Conditions, cond("Reconciling", "True", "Progressing", "Running 'upgrade' action with timeout of 5m0s"))
				d := &c.Deployments[0]
				d.Status.ReadyReplicas, d.Status.UpdatedReplicas, d.Status.AvailableReplicas, d.Status.Replicas = 2, 1, 2, 4
				d.Status.Conditions[1].Reason = "ReplicaSetUpdated"
				c.Pods[0].Status.Phase = corev1.PodPending
				c.Pods[0].Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "Back-off pulling image \"nginx:9.99\""}}}}
				c.Events = append(c.Events, corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: "sample-app", Name: "e2"},
					InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: c.Pods[0].Name, Namespace: "sample-app"},
					Type:           "Warning", Reason: "Failed", Message: "Failed to pull image \"nginx:9.99\": not found", LastTimestamp: metav1.NewTime(now)})
			},
			want: want{state: InProgress, stages: map[string]State{StageRelease: InProgress, StageRollout: InProgress},
				diags: []string{DiagRolloutStuck}, msgHas: []string{"ImagePullBackOff", "Failed to pull image"}},
		},
		{
			name: "Deployments forbidden: the rest still traced", fixture: "revision-deployed.yaml", sources: []types.NamespacedName{chartSrc},
			mutate: func(c *Cluster, _ *Commit) {
				c.Deployments = nil
				c.SetForbidden(KindDeployment, `deployments.apps is forbidden: User "dev" cannot list resource "deployments"`)
			},
			want: want{state: Forbidden, stages: map[string]State{StageSource: Done, StageChart: Done, StageRelease: Done, StageRollout: Forbidden}},
		},
		{
			name: "StatefulSet and DaemonSet rolled out beside the Deployment", fixture: withWorkloads, sources: []types.NamespacedName{chartSrc},
			mutate: func(c *Cluster, _ *Commit) { inventoryAll(c) },
			want: want{state: Done, deployed: true, stages: map[string]State{StageRelease: Done, StageRollout: Done},
				rollout: map[string]string{"replicaSet": "sample-app/sample-app-7d9f8c6b5", "statefulSetRevision": "sample-app/sample-db-6c9f7d8b4",
					"daemonSetRevision": "sample-app/sample-agent-5d8f9c7b6", "readyPods": "8/8"}},
		},
		{
			name: "StatefulSet rolled out", fixture: withWorkloads, sources: []types.NamespacedName{chartSrc},
			mutate: func(c *Cluster, _ *Commit) { onlyKinds(c, KindStatefulSet) },
			want: want{state: Done, deployed: true, stages: map[string]State{StageRollout: Done},
				rollout: map[string]string{"statefulSetRevision": "sample-app/sample-db-6c9f7d8b4", "readyPods": "3/3"}},
		},
		{
			name: "StatefulSet mid-rollout: 1 of 3 pods updated", fixture: withWorkloads, sources: []types.NamespacedName{chartSrc},
			mutate: func(c *Cluster, _ *Commit) { onlyKinds(c, KindStatefulSet); stsRolling(c, 1) },
			want: want{state: InProgress, stages: map[string]State{StageRelease: Done, StageRollout: InProgress},
				rolloutHas: []string{"StatefulSet sample-db: rolling update: 1 of 3 pods at revision sample-db-6c9f7d8b4"}},
		},
		{
			name: "StatefulSet all pods updated, revision not current yet", fixture: withWorkloads, sources: []types.NamespacedName{chartSrc},
			mutate: func(c *Cluster, _ *Commit) { onlyKinds(c, KindStatefulSet); stsRolling(c, 3) },
			want:   want{state: InProgress, stages: map[string]State{StageRollout: InProgress}, rolloutHas: []string{"rolling update: 3 of 3"}},
		},
		{
			name: "StatefulSet with partition 2: done once the one pod above it is updated", fixture: withWorkloads, sources: []types.NamespacedName{chartSrc},
			mutate: func(c *Cluster, _ *Commit) {
				onlyKinds(c, KindStatefulSet)
				stsRolling(c, 1)
				*c.StatefulSets[0].Spec.UpdateStrategy.RollingUpdate.Partition = 2
			},
			want: want{state: Done, deployed: true, stages: map[string]State{StageRollout: Done}, rollout: map[string]string{"readyPods": "3/3"}},
		},
		{
			name: "StatefulSet with partition 1: 1 of 2 pods above it updated", fixture: withWorkloads, sources: []types.NamespacedName{chartSrc},
			mutate: func(c *Cluster, _ *Commit) {
				onlyKinds(c, KindStatefulSet)
				stsRolling(c, 1)
				*c.StatefulSets[0].Spec.UpdateStrategy.RollingUpdate.Partition = 1
			},
			want: want{state: InProgress, stages: map[string]State{StageRollout: InProgress},
				rolloutHas: []string{"partitioned rollout: 1 of 2 new pods updated (partition 1)"}},
		},
		{
			name: "StatefulSet spec not observed yet", fixture: withWorkloads, sources: []types.NamespacedName{chartSrc},
			mutate: func(c *Cluster, _ *Commit) { onlyKinds(c, KindStatefulSet); c.StatefulSets[0].Generation = 3 },
			want:   want{state: InProgress, stages: map[string]State{StageRollout: InProgress}, rolloutHas: []string{"observe the new spec"}},
		},
		{
			name: "StatefulSet OnDelete: pods on the old revision wait to be deleted", fixture: withWorkloads, sources: []types.NamespacedName{chartSrc},
			mutate: func(c *Cluster, _ *Commit) {
				onlyKinds(c, KindStatefulSet)
				stsRolling(c, 0)
				c.StatefulSets[0].Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
			},
			want: want{state: Waiting, stages: map[string]State{StageRelease: Done, StageRollout: Waiting},
				diags: []string{DiagRolloutOnDelete}, msgHas: []string{"0 of 3 pods run revision sample-db-6c9f7d8b4", "delete the pods"}},
		},
		{
			name: "StatefulSet OnDelete with every pod replaced is done", fixture: withWorkloads, sources: []types.NamespacedName{chartSrc},
			mutate: func(c *Cluster, _ *Commit) {
				onlyKinds(c, KindStatefulSet)
				c.StatefulSets[0].Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
				c.StatefulSets[0].Status.CurrentRevision = "sample-db-5b8c7d6e3" // the controller never moves it with OnDelete
			},
			want: want{state: Done, deployed: true, stages: map[string]State{StageRollout: Done}},
		},
		{
			name: "DaemonSet OnDelete: not rolled until pods are deleted", fixture: withWorkloads, sources: []types.NamespacedName{chartSrc},
			mutate: func(c *Cluster, _ *Commit) {
				onlyKinds(c, KindDaemonSet)
				c.DaemonSets[0].Spec.UpdateStrategy = appsv1.DaemonSetUpdateStrategy{Type: appsv1.OnDeleteDaemonSetStrategyType}
				c.DaemonSets[0].Status.UpdatedNumberScheduled = 1
			},
			want: want{state: Waiting, stages: map[string]State{StageRollout: Waiting}, diags: []string{DiagRolloutOnDelete}, msgHas: []string{"DaemonSet sample-app/sample-agent has updateStrategy OnDelete"}},
		},
		{
			name: "DaemonSet rolled out", fixture: withWorkloads, sources: []types.NamespacedName{chartSrc},
			mutate: func(c *Cluster, _ *Commit) { onlyKinds(c, KindDaemonSet) },
			want: want{state: Done, deployed: true, stages: map[string]State{StageRollout: Done},
				rollout: map[string]string{"daemonSetRevision": "sample-app/sample-agent-5d8f9c7b6", "readyPods": "2/2"}},
		},
		{
			name: "DaemonSet with a pod in CrashLoopBackOff", fixture: withWorkloads, sources: []types.NamespacedName{chartSrc},
			mutate: func(c *Cluster, _ *Commit) {
				onlyKinds(c, KindDaemonSet)
				c.DaemonSets[0].Status.NumberReady, c.DaemonSets[0].Status.NumberAvailable = 1, 1
				for i := range c.Pods {
					if p := &c.Pods[i]; p.Name == "sample-agent-q9w4z" {
						p.Status.Conditions[0].Status = corev1.ConditionFalse
						p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "agent", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
							Reason: "CrashLoopBackOff", Message: "back-off 40s restarting failed container=agent"}}}}
					}
				}
			},
			want: want{state: InProgress, stages: map[string]State{StageRelease: Done, StageRollout: InProgress},
				diags: []string{DiagRolloutStuck}, msgHas: []string{"rollout of DaemonSet sample-app/sample-agent is stuck: pod sample-agent-q9w4z container agent: CrashLoopBackOff", "kubectl logs --previous"},
				rollout: map[string]string{"readyPods": "1/2"}, rolloutHas: []string{"DaemonSet sample-agent: 1 of 2 updated pods available"}},
		},
		{
			name: "StatefulSets forbidden: the rest still traced", fixture: withWorkloads, sources: []types.NamespacedName{chartSrc},
			mutate: func(c *Cluster, _ *Commit) {
				inventoryAll(c)
				c.StatefulSets = nil
				c.SetForbidden(KindStatefulSet, `statefulsets.apps is forbidden: User "dev" cannot list resource "statefulsets"`)
			},
			want: want{state: Forbidden, stages: map[string]State{StageSource: Done, StageChart: Done, StageRelease: Done, StageRollout: Forbidden},
				rollout: map[string]string{"replicaSet": "sample-app/sample-app-7d9f8c6b5", "readyPods": "5/5"}, rolloutHas: []string{"statefulsets.apps is forbidden"}},
		},
		{
			name: "StatefulSets forbidden but the inventory has none: rollout confirmed", fixture: withWorkloads, sources: []types.NamespacedName{chartSrc},
			mutate: func(c *Cluster, _ *Commit) {
				c.StatefulSets = nil
				c.SetForbidden(KindStatefulSet, `statefulsets.apps is forbidden`)
			},
			want: want{state: Done, deployed: true, stages: map[string]State{StageRollout: Done}},
		},
		{
			name: "Deployment done, StatefulSet not: not done", fixture: withWorkloads, sources: []types.NamespacedName{chartSrc},
			mutate: func(c *Cluster, _ *Commit) {
				onlyKinds(c, KindDeployment, KindStatefulSet)
				c.StatefulSets[0].Status.ReadyReplicas = 2
			},
			want: want{state: InProgress, stages: map[string]State{StageRollout: InProgress}, rollout: map[string]string{"readyPods": "5/6"},
				rolloutHas: []string{"StatefulSet sample-db: 2/3 pods ready"}},
		},
		{
			name: "StatefulSet done, Deployment not: not done", fixture: withWorkloads, sources: []types.NamespacedName{chartSrc},
			mutate: func(c *Cluster, _ *Commit) {
				onlyKinds(c, KindDeployment, KindStatefulSet)
				c.Deployments[0].Status.UpdatedReplicas = 2
			},
			want: want{state: InProgress, stages: map[string]State{StageRollout: InProgress}, rolloutHas: []string{"Deployment sample-app: 3/3 pods ready, 2 updated"}},
		},
		{
			name: "GitOps repo commit through a Kustomization", fixture: "kustomization.yaml", sources: []types.NamespacedName{gitopsSrc},
			want: want{state: Done, deployed: true, stages: map[string]State{StageSource: Done, StageKustomization: Done, StageChart: NotNeeded, StageRelease: Done, StageRollout: Done}},
		},
		{
			name: "GitOps repo commit applied, HelmRelease not reconciled yet", fixture: "kustomization.yaml", sources: []types.NamespacedName{gitopsSrc},
			mutate: func(c *Cluster, _ *Commit) { c.HelmReleases[0].Generation = 3 },
			want:   want{state: Waiting, stages: map[string]State{StageKustomization: Done, StageRelease: Waiting, StageRollout: Waiting}},
		},
		{
			// A first install: helm-controller's cache has not seen the
			// HelmChart it just made; it retries.
			name: "HelmRelease cannot get its chart yet (ArtifactFailed): waiting", fixture: "kustomization.yaml", sources: []types.NamespacedName{gitopsSrc},
			mutate: func(c *Cluster, _ *Commit) {
				hr := &c.HelmReleases[0]
				hr.Status.History = nil
				hr.Status.Conditions = []metav1.Condition{{Type: "Ready", Status: metav1.ConditionFalse, Reason: "ArtifactFailed",
					Message: `could not get Source object: HelmChart.source.toolkit.fluxcd.io "sample-app-sample-app" not found`}}
			},
			want: want{state: Waiting, stages: map[string]State{StageKustomization: Done, StageRelease: Waiting}},
		},
		{
			name: "HelmRelease cannot get its chart and Flux gave up (ArtifactFailed, Stalled): failed", fixture: "kustomization.yaml", sources: []types.NamespacedName{gitopsSrc},
			mutate: func(c *Cluster, _ *Commit) {
				hr := &c.HelmReleases[0]
				hr.Status.History = nil
				hr.Status.Conditions = []metav1.Condition{
					{Type: "Ready", Status: metav1.ConditionFalse, Reason: "ArtifactFailed", Message: "could not get Source object: chart not found"},
					{Type: "Stalled", Status: metav1.ConditionTrue, Reason: "ArtifactFailed", Message: "could not get Source object: chart not found"},
				}
			},
			want: want{state: Failed, stages: map[string]State{StageRelease: Failed}, diags: []string{DiagReleaseFailed}},
		},
		{
			name: "GitOps repo commit not applied yet", fixture: "kustomization.yaml", sources: []types.NamespacedName{gitopsSrc},
			mutate: func(c *Cluster, _ *Commit) { c.Kustomizations[0].Status.LastAppliedRevision = "main@sha1:" + shaP },
			want:   want{state: Waiting, stages: map[string]State{StageKustomization: Waiting, StageRelease: Waiting}},
		},
		{
			name: "GitOps repo commit applied by hand (no Kustomization)", fixture: "kustomization.yaml", sources: []types.NamespacedName{gitopsSrc},
			mutate: func(c *Cluster, _ *Commit) { c.Kustomizations = nil },
			want:   want{state: Done, deployed: true, stages: map[string]State{StageSource: Done, StageRelease: Done}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, commit := loadFixture(t, tt.fixture, fixtureVars)
			if tt.mutate != nil {
				tt.mutate(c, commit)
			}
			r := Trace(c, commit, Options{Now: now, Sources: tt.sources})
			if len(r.Releases) != 1 {
				t.Fatalf("releases = %d, want 1; diagnoses %+v", len(r.Releases), r.Diagnoses)
			}
			rel := r.Releases[0]
			dump := func() string {
				var b strings.Builder
				for _, s := range rel.Stages {
					b.WriteString("\n  " + s.Name + ": " + string(s.State) + " " + s.Reason + " " + s.Message)
				}
				for _, d := range rel.Diagnoses {
					b.WriteString("\n  ! " + d.Code + ": " + d.Message)
				}
				return b.String()
			}
			if tt.want.state != "" && rel.State != tt.want.state {
				t.Errorf("state = %q, want %q%s", rel.State, tt.want.state, dump())
			}
			if rel.Deployed != tt.want.deployed {
				t.Errorf("deployed = %v, want %v%s", rel.Deployed, tt.want.deployed, dump())
			}
			for name, st := range tt.want.stages {
				found := false
				for _, s := range rel.Stages {
					if s.Name == name {
						found = true
						if s.State != st {
							t.Errorf("stage %s = %q, want %q%s", name, s.State, st, dump())
						}
					}
				}
				if !found {
					t.Errorf("no stage %s%s", name, dump())
				}
			}
			var codes, msgs []string
			for _, d := range rel.Diagnoses {
				codes = append(codes, d.Code)
				msgs = append(msgs, d.Message+" "+d.Fix)
			}
			if strings.Join(codes, ",") != strings.Join(tt.want.diags, ",") {
				t.Errorf("diagnoses = %v, want %v%s", codes, tt.want.diags, dump())
			}
			for _, s := range tt.want.msgHas {
				if !strings.Contains(strings.Join(msgs, "\n"), s) {
					t.Errorf("no diagnosis mentions %q%s", s, dump())
				}
			}
			var ro Stage
			for _, s := range rel.Stages {
				if s.Name == StageRollout {
					ro = s
				}
			}
			for k, v := range tt.want.rollout {
				if got := ro.Evidence.Get(k); got != v {
					t.Errorf("rollout evidence %s = %q, want %q (%v)", k, got, v, ro.Evidence)
				}
			}
			for _, sub := range tt.want.rolloutHas {
				if !strings.Contains(ro.Message, sub) {
					t.Errorf("rollout message %q lacks %q", ro.Message, sub)
				}
			}
			if tt.want.by != "" && (rel.DeployedBy == nil || !strings.HasPrefix(rel.DeployedBy.SHA, tt.want.by)) {
				t.Errorf("deployedBy = %+v, want %s", rel.DeployedBy, tt.want.by)
			}
			if tt.want.by == "" && rel.DeployedBy != nil {
				t.Errorf("deployedBy = %+v, want none", rel.DeployedBy)
			}
		})
	}
}

func TestTraceTimings(t *testing.T) {
	c, commit := loadFixture(t, "revision-deployed.yaml", fixtureVars)
	r := Trace(c, commit, Options{Now: now, Sources: []types.NamespacedName{chartSrc}})
	st := map[string]Stage{}
	for _, s := range r.Releases[0].Stages {
		st[s.Name] = s
	}
	check := func(name, field string, got *time.Time, from, wantFrom string, want string) {
		t.Helper()
		if got == nil || got.Format(time.RFC3339) != want || from != wantFrom {
			t.Errorf("%s %s = %v (%s), want %s (%s)", name, field, got, from, want, wantFrom)
		}
	}
	src := st[StageSource]
	check("source", "started", src.StartedAt, src.StartedFrom, FromGit, "2026-11-25T18:00:00Z")
	// The NewArtifact event wins over status.artifact.lastUpdateTime.
	check("source", "finished", src.FinishedAt, src.FinishedFrom, FromEvent, "2026-11-25T18:00:41Z")
	ch := st[StageChart]
	check("chart", "finished", ch.FinishedAt, ch.FinishedFrom, FromStatus, "2026-11-25T18:00:45Z")
	rel := st[StageRelease]
	// lastDeployed minus lastAttemptedReleaseActionDuration (8s).
	check("release", "started", rel.StartedAt, rel.StartedFrom, FromStatus, "2026-11-25T18:00:47Z")
	check("release", "finished", rel.FinishedAt, rel.FinishedFrom, FromStatus, "2026-11-25T18:00:55Z")
	if rel.DurationSeconds == nil || *rel.DurationSeconds != 8 {
		t.Errorf("release duration = %v, want 8", rel.DurationSeconds)
	}
	ro := st[StageRollout]
	check("rollout", "started", ro.StartedAt, ro.StartedFrom, FromStatus, "2026-11-25T18:00:48Z")
	if ro.Evidence.Get("readyPods") != "3/3" || ro.Evidence.Get("replicaSet") != "sample-app/sample-app-7d9f8c6b5" {
		t.Errorf("rollout evidence = %v", ro.Evidence)
	}
}

// A change of replicas alone: the evidence of the rollout's end (the
// Progressing condition, the ReplicaSet) predates the release, so the end
// comes from the pods, and no stage ends before it starts.
func TestTraceReplicasOnlyRolloutEndsAfterItStarts(t *testing.T) {
	c, commit := loadFixture(t, "replicas-only.yaml", fixtureVars)
	r := Trace(c, commit, Options{Now: now, Sources: []types.NamespacedName{gitopsSrc}})
	if len(r.Releases) != 1 || !r.Deployed {
		t.Fatalf("releases = %d, deployed = %v, diagnoses %+v", len(r.Releases), r.Deployed, r.Diagnoses)
	}
	for _, s := range r.Releases[0].Stages {
		if s.StartedAt != nil && s.FinishedAt != nil && s.FinishedAt.Before(*s.StartedAt) {
			t.Errorf("stage %s finished %s before it started %s", s.Name, s.FinishedAt.Format(time.RFC3339), s.StartedAt.Format(time.RFC3339))
		}
		if s.DurationSeconds != nil && *s.DurationSeconds < 0 {
			t.Errorf("stage %s took %vs", s.Name, *s.DurationSeconds)
		}
		if s.Name != StageRollout {
			continue
		}
		if s.StartedAt == nil || s.StartedAt.Format(time.RFC3339) != "2026-11-25T18:00:40Z" {
			t.Errorf("rollout started %v, want 18:00:40 (the release's end)", s.StartedAt)
		}
		if s.FinishedAt == nil || s.FinishedAt.Format(time.RFC3339) != "2026-11-25T18:00:44Z" {
			t.Errorf("rollout finished %v, want 18:00:44 (the last pod Ready)", s.FinishedAt)
		}
		if s.DurationSeconds == nil || *s.DurationSeconds != 4 {
			t.Errorf("rollout duration = %v, want 4", s.DurationSeconds)
		}
	}
}

// Evidence older than the stage (nothing to do once it began) gives a stage
// that ends as it starts, not before.
func TestFinishNeverBeforeStart(t *testing.T) {
	start := time.Date(2026, 11, 25, 9, 22, 15, 0, time.UTC)
	var s Stage
	s.State = Done
	s.setStart(start, FromStatus)
	s.setFinish(start.Add(-7*time.Second), FromStatus)
	finishDuration(&s, now)
	if s.FinishedAt == nil || !s.FinishedAt.Equal(start) || s.DurationSeconds == nil || *s.DurationSeconds != 0 {
		t.Fatalf("finished %v after %v s, want %s and 0 s", s.FinishedAt, s.DurationSeconds, start)
	}
}

func TestNoReleases(t *testing.T) {
	c, commit := loadFixture(t, "revision-deployed.yaml", fixtureVars)
	r := Trace(c, commit, Options{Now: now, Sources: []types.NamespacedName{chartSrc}, Namespace: "other"})
	if len(r.Releases) != 0 || r.Deployed || len(r.Diagnoses) != 1 || r.Diagnoses[0].Code != DiagNoRelease {
		t.Fatalf("report = %+v", r)
	}
}

func TestReleaseStatus(t *testing.T) {
	c, _ := loadFixture(t, "revision-deployed.yaml", fixtureVars)
	for _, tt := range []struct {
		version string
		state   State
		dep     bool
	}{
		{"0.1.2+" + c12, Done, true},
		{"0.1.2", Done, true}, // build metadata ignored when not asked for
		{"0.1.3", Waiting, false},
		{"", Done, true},
	} {
		st := ReleaseStatus(c, sampleApp, tt.version)
		if st.State != tt.state || st.Deployed != tt.dep || !st.Found || st.HelmRevision != 3 {
			t.Errorf("ReleaseStatus(%q) = %+v, want state %s deployed %v", tt.version, st, tt.state, tt.dep)
		}
	}
	failedUpgrade(c, true)
	if st := ReleaseStatus(c, sampleApp, "0.1.2+"+c12); st.State != Failed || st.Deployed {
		t.Errorf("failed upgrade: %+v", st)
	}
	if st := ReleaseStatus(c, types.NamespacedName{Namespace: "x", Name: "y"}, ""); st.Found || st.State != Waiting {
		t.Errorf("missing: %+v", st)
	}
}

func TestIgnoreRules(t *testing.T) {
	rules := parseIgnore("# comment\n/*\n!/charts/\n*.md\nbuild/\n")
	for p, want := range map[string]bool{
		"README.md":                     true,
		"charts/sample-app/values.yaml": false,
		"charts/sample-app/README.md":   true,
		"ci/pipeline.yaml":              true,
		"charts/x/build/out.yaml":       true,
	} {
		if got := rules.ignored(p); got != want {
			t.Errorf("ignored(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestRevisionSHA(t *testing.T) {
	for in, want := range map[string]string{
		"main@sha1:" + shaC:         shaC,
		"sha1:" + shaC:              shaC,
		"refs/heads/x@sha1:" + shaC: shaC,
		"0.1.2+" + c12:              c12,
		"0.1.2":                     "",
		"":                          "",
	} {
		if got := RevisionSHA(in); got != want {
			t.Errorf("RevisionSHA(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestReleaseStatusWorkloads: promote --require-deployed waits for every
// workload kind, not only Deployments.
func TestReleaseStatusWorkloads(t *testing.T) {
	for _, tt := range []struct {
		name   string
		mutate func(*Cluster)
		state  State
		msg    string
	}{
		{"all rolled out", func(*Cluster) {}, Done, ""},
		{"StatefulSet mid-rollout", func(c *Cluster) { stsRolling(c, 1) }, Waiting, "StatefulSet sample-db: rolling update: 1 of 3"},
		{"DaemonSet pod not available", func(c *Cluster) { c.DaemonSets[0].Status.NumberAvailable = 1 }, Waiting, "DaemonSet sample-agent: 1 of 2 updated pods available"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := loadFixture(t, withWorkloads, fixtureVars)
			tt.mutate(c)
			st := ReleaseStatus(c, sampleApp, "")
			if st.State != tt.state || st.Ready != (tt.state == Done) || !strings.Contains(st.Message, tt.msg) {
				t.Errorf("ReleaseStatus = %+v, want state %s, message with %q", st, tt.state, tt.msg)
			}
		})
	}
}
