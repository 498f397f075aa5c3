//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxstatus"
	"github.com/kubectl-gitops/kubectl-gitops/test/e2e/e2eutil"
)

// chartWorkload is a template for the founding chart: a workload of kind whose pods carry the label
// app.kubernetes.io/component=<component> (so the Deployment's selector does not catch them) and run
// image:{{ .Values.<tagValue> }}, requesting {{ .Values.<component>Cpu }} CPU (10m when unset); spec is more of
// its spec, indented by two.
func chartWorkload(kind, component, image, tagValue, spec string) string {
	return `apiVersion: apps/v1
kind: ` + kind + `
metadata:
  name: {{ include "sample-app.fullname" . }}-` + component + `
  labels:
    {{- include "sample-app.labels" . | nindent 4 }}
spec:
` + spec + `  selector:
    matchLabels:
      {{- include "sample-app.selectorLabels" . | nindent 6 }}
      app.kubernetes.io/component: ` + component + `
  template:
    metadata:
      labels:
        {{- include "sample-app.selectorLabels" . | nindent 8 }}
        app.kubernetes.io/component: ` + component + `
    spec:
      containers:
        - name: ` + component + `
          image: "` + image + `:{{ .Values.` + tagValue + ` }}"
          resources:
            requests: {cpu: {{ .Values.` + component + `Cpu | default "10m" | quote }}, memory: 16Mi}
`
}

// A commit adds a StatefulSet and a DaemonSet to the chart; trace --wait follows the upgrade to their pods
// (the sandbox's kube-controller-manager runs both controllers, kwok makes the pods Ready) and reports done
// with every kind's evidence. A second commit changes both pod templates: the StatefulSet rolls pod by pod
// to a new revision and trace reports that revision once it is current.
func TestTraceStatefulSetAndDaemonSet(t *testing.T) {
	e := e2eutil.Setup(t)
	ns := e.Namespace(t)
	f := e.DeployFounding(t, ns, e2eutil.FoundingOptions{ReconcileStrategy: "Revision"})
	deployOnly, _ := fetchRequests(t, e, f.App.URL)
	sha := f.App.Commit(t, "db and agent", func(dir string) {
		// A StatefulSet of 2 and a DaemonSet (one pod on the sandbox's one kwok node).
		e2eutil.WriteFile(t, dir, "charts/sample-app/templates/statefulset.yaml", chartWorkload("StatefulSet", "db", "postgres", "dbTag",
			"  replicas: 2\n  serviceName: {{ include \"sample-app.fullname\" . }}\n"))
		e2eutil.WriteFile(t, dir, "charts/sample-app/templates/daemonset.yaml", chartWorkload("DaemonSet", "agent", "busybox", "agentTag", ""))
		e2eutil.ReplaceInFile(t, dir, "charts/sample-app/values.yaml", "podAnnotations: {}", "podAnnotations: {}\ndbTag: \"16\"\nagentTag: \"1.36\"")
	})
	res, rep := traceJSON(t, e, f.App.Clone, sha, "-n", ns, "--reconcile", "--wait", "--timeout", "3m")
	wantExit(t, res, exitcode.OK)
	first := checkWorkloads(t, e, rep, ns)
	// Two more lists (StatefulSets, DaemonSets in the namespace) and the pods of each.
	if all, _ := fetchRequests(t, e, f.App.URL); all != deployOnly+4 {
		t.Errorf("API requests per trace fetch: %d with a Deployment, %d with a StatefulSet and a DaemonSet too; want %d", deployOnly, all, deployOnly+4)
	} else {
		t.Logf("API requests per trace fetch: %d with a Deployment, %d with a StatefulSet and a DaemonSet too", deployOnly, all)
	}

	sha = f.App.Commit(t, "db 17, agent 1.37", func(dir string) {
		e2eutil.ReplaceInFile(t, dir, "charts/sample-app/values.yaml", `dbTag: "16"`, `dbTag: "17"`)
		e2eutil.ReplaceInFile(t, dir, "charts/sample-app/values.yaml", `agentTag: "1.36"`, `agentTag: "1.37"`)
	})
	res, rep = traceJSON(t, e, f.App.Clone, sha, "-n", ns, "--reconcile", "--wait", "--timeout", "3m")
	wantExit(t, res, exitcode.OK)
	second := checkWorkloads(t, e, rep, ns)
	for _, kind := range []string{fluxstatus.KindStatefulSet, fluxstatus.KindDaemonSet} {
		if rev := first[kind]; second[kind] == rev {
			t.Errorf("%s revision stayed %s after its pod template changed", kind, rev)
		}
	}
}

// A StatefulSet whose pods no node can run (5000 CPUs each): Helm waits for it, and trace --wait times out
// (exit 5) with a RolloutStuck diagnosis naming the StatefulSet and the scheduler's message, although
// helm-controller's inventory names the StatefulSet only once the upgrade has ended.
func TestTraceStatefulSetPodsNeverReady(t *testing.T) {
	e := e2eutil.Setup(t)
	ns := e.Namespace(t)
	f := e.DeployFounding(t, ns, e2eutil.FoundingOptions{ReconcileStrategy: "Revision"})
	sha := f.App.Commit(t, "db asking for 5000 CPUs", func(dir string) {
		e2eutil.WriteFile(t, dir, "charts/sample-app/templates/statefulset.yaml", chartWorkload("StatefulSet", "db", "postgres", "dbTag",
			"  replicas: 2\n  serviceName: {{ include \"sample-app.fullname\" . }}\n"))
		e2eutil.ReplaceInFile(t, dir, "charts/sample-app/values.yaml", "podAnnotations: {}", "podAnnotations: {}\ndbTag: \"16\"\ndbCpu: \"5000\"")
	})
	res, rep := traceJSON(t, e, f.App.Clone, sha, "-n", ns, "--reconcile", "--wait", "--timeout", "40s")
	wantExit(t, res, exitcode.Pending)
	rel := release(t, rep, ns, e2eutil.HelmRelease)
	stuck := false
	for _, d := range rel.Diagnoses {
		if d.Code == fluxstatus.DiagRolloutStuck && strings.Contains(d.Message, "StatefulSet "+ns+"/sample-app-db") && strings.Contains(d.Message, "Unschedulable") {
			stuck = true
		}
	}
	if !stuck {
		t.Errorf("no RolloutStuck diagnosis naming the StatefulSet and Unschedulable: %+v", rel.Diagnoses)
	}
	ro := stage(rel, fluxstatus.StageRollout)
	found := false
	for _, w := range ro.Workloads {
		if w.Kind == fluxstatus.KindStatefulSet {
			found = true
			if w.State != fluxstatus.InProgress || w.ReadyPods != "0/2" {
				t.Errorf("StatefulSet %+v, want in progress with 0/2 pods ready", w)
			}
		}
	}
	if !found || ro.State != fluxstatus.InProgress {
		t.Errorf("rollout = %+v, want in progress with the StatefulSet", ro)
	}
}

// checkWorkloads checks the rollout stage of a done trace against the cluster: 2 Deployment pods, 2
// StatefulSet pods and 1 DaemonSet pod Ready, each workload done at the revision its controller reports.
// It returns the revision per kind.
func checkWorkloads(t *testing.T, e *e2eutil.Env, rep *fluxstatus.Report, ns string) map[string]string {
	t.Helper()
	rel := release(t, rep, ns, e2eutil.HelmRelease)
	ro := stage(rel, fluxstatus.StageRollout)
	if ro.State != fluxstatus.Done || ro.Evidence.Get("readyPods") != "5/5" {
		t.Fatalf("rollout = %+v, want done with 5/5 pods ready", ro)
	}
	ctx := context.Background()
	sts, err := e.Kube.AppsV1().StatefulSets(ns).Get(ctx, e2eutil.HelmRelease+"-db", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := e.Kube.AppsV1().DaemonSets(ns).Get(ctx, e2eutil.HelmRelease+"-agent", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The pods really are there and Ready: the trace did not take a status field on trust. The
	// DaemonSet's revision is the hash its pods carry.
	agentHash := ""
	for sel, n := range map[string]int{"app.kubernetes.io/component=db": 2, "app.kubernetes.io/component=agent": 1} {
		pods, err := e.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			t.Fatal(err)
		}
		ready := 0
		for _, p := range pods.Items {
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue && p.DeletionTimestamp == nil {
					ready++
					if sel == "app.kubernetes.io/component=agent" {
						agentHash = p.Labels["controller-revision-hash"]
					}
				}
			}
		}
		if ready != n {
			t.Errorf("%d Ready pods with %s, want %d", ready, sel, n)
		}
	}
	if sts.Status.CurrentRevision != sts.Status.UpdateRevision {
		t.Errorf("trace said done while the StatefulSet is at %s, updating to %s", sts.Status.CurrentRevision, sts.Status.UpdateRevision)
	}
	want := map[string]fluxstatus.WorkloadRef{
		fluxstatus.KindDeployment:  {Name: e2eutil.Deployment, ReadyPods: "2/2"},
		fluxstatus.KindStatefulSet: {Name: sts.Name, ReadyPods: "2/2", Revision: sts.Status.UpdateRevision},
		fluxstatus.KindDaemonSet:   {Name: ds.Name, ReadyPods: "1/1", Revision: ds.Name + "-" + agentHash},
	}
	revs := map[string]string{}
	for _, w := range ro.Workloads {
		x := want[w.Kind]
		if x.Name != w.Name || x.ReadyPods != w.ReadyPods || w.State != fluxstatus.Done || w.Revision == "" || x.Revision != "" && x.Revision != w.Revision {
			t.Errorf("workload %+v, want %+v", w, x)
		}
		revs[w.Kind] = w.Revision
	}
	if len(revs) != 3 {
		t.Fatalf("workloads = %+v, want a Deployment, a StatefulSet and a DaemonSet", ro.Workloads)
	}
	if got := ro.Evidence.Get("statefulSetRevision"); got != ns+"/"+sts.Status.UpdateRevision {
		t.Errorf("statefulSetRevision = %q, want %s/%s", got, ns, sts.Status.UpdateRevision)
	}
	if got := ro.Evidence.Get("daemonSetRevision"); got != ns+"/"+ds.Name+"-"+agentHash {
		t.Errorf("daemonSetRevision = %q, want %s/%s-%s", got, ns, ds.Name, agentHash)
	}
	return revs
}
