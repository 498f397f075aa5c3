package e2eutil

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// The Flux kinds the tests wait on.
var (
	GitRepositories = schema.GroupVersionResource{Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "gitrepositories"}
	HelmCharts      = schema.GroupVersionResource{Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "helmcharts"}
	HelmReleases    = schema.GroupVersionResource{Group: "helm.toolkit.fluxcd.io", Version: "v2", Resource: "helmreleases"}
	Kustomizations  = schema.GroupVersionResource{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Resource: "kustomizations"}
	Deployments     = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
)

var nsUnsafe = regexp.MustCompile(`[^a-z0-9-]+`)

// Namespace creates a namespace named after the test and deletes it when the test ends. If the test failed,
// the namespace's Flux objects, workloads, events and the controllers' logs are written to the test log
// first.
func (e *Env) Namespace(t testing.TB) string {
	t.Helper()
	base := strings.Trim(nsUnsafe.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(base) > 40 {
		base = strings.TrimRight(base[:40], "-")
	}
	name := "e2e-" + base + "-" + randSuffix()
	e.CreateNamespace(t, name)
	return name
}

// CreateNamespace creates namespace name (the same name in several clusters of a fleet) and deletes it
// when the test ends, dumping it first if the test failed.
func (e *Env) CreateNamespace(t testing.TB, name string) {
	t.Helper()
	ctx := context.Background()
	_, err := e.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			e.Dump(t, name)
		}
		// Not waited for: Flux finalizers and Helm uninstalls run in the background.
		if err := e.Kube.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Logf("deleting namespace %s: %v", name, err)
		}
	})
}

// Kubectl runs kubectl against the sandbox and returns its standard output, failing the test on error.
func (e *Env) Kubectl(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	out, err := e.kubectl(stdin, args...)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return out
}

func (e *Env) kubectl(stdin string, args ...string) (string, error) {
	if e.Context != "" {
		args = append([]string{"--context", e.Context}, args...)
	}
	cmd := exec.Command("kubectl", args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+e.Kubeconfig)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

// Apply applies files or directories (kubectl apply -f, server-side) in namespace ns ("" for the
// namespaces the manifests name).
func (e *Env) Apply(t testing.TB, ns string, paths ...string) {
	t.Helper()
	args := []string{"apply", "--server-side", "--force-conflicts"}
	if ns != "" {
		args = append(args, "-n", ns)
	}
	for _, p := range paths {
		args = append(args, "-f", p)
	}
	e.Kubectl(t, "", args...)
}

// ApplyYAML applies manifests given as text.
func (e *Env) ApplyYAML(t testing.TB, ns, manifests string) {
	t.Helper()
	args := []string{"apply", "--server-side", "--force-conflicts", "-f", "-"}
	if ns != "" {
		args = append(args, "-n", ns)
	}
	e.Kubectl(t, manifests, args...)
}

// RequestReconcile sets reconcile.fluxcd.io/requestedAt on a Flux object, as `flux reconcile` does, and
// returns the value (the controller echoes it in status.lastHandledReconcileAt).
func (e *Env) RequestReconcile(t testing.TB, gvr schema.GroupVersionResource, ns, name string) string {
	t.Helper()
	at := time.Now().Format(time.RFC3339Nano)
	patch := fmt.Sprintf(`{"metadata":{"annotations":{"reconcile.fluxcd.io/requestedAt":%q}}}`, at)
	if _, err := e.Dynamic.Resource(gvr).Namespace(ns).Patch(context.Background(), name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatalf("requesting a reconcile of %s %s/%s: %v", gvr.Resource, ns, name, err)
	}
	return at
}

// Get returns an object, failing the test if it cannot be read.
func (e *Env) Get(t testing.TB, gvr schema.GroupVersionResource, ns, name string) *unstructured.Unstructured {
	t.Helper()
	u, err := e.Dynamic.Resource(gvr).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("getting %s %s/%s: %v", gvr.Resource, ns, name, err)
	}
	return u
}

// WaitFor watches one object until cond holds and returns it. It fails the test after timeout, saying
// what it waited for (what) and the last state seen. The object may not exist yet when WaitFor starts.
func (e *Env) WaitFor(t testing.TB, gvr schema.GroupVersionResource, ns, name, what string, timeout time.Duration,
	cond func(u *unstructured.Unstructured) bool) *unstructured.Unstructured {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	lw := SelectorListWatch(e.Dynamic.Resource(gvr).Namespace(ns), "", fields.OneTermEqualSelector("metadata.name", name).String())
	var last *unstructured.Unstructured
	ev, err := watchtools.UntilWithSync(ctx, lw, &unstructured.Unstructured{}, nil, func(ev watch.Event) (bool, error) {
		u, ok := ev.Object.(*unstructured.Unstructured)
		if !ok {
			return false, nil
		}
		if ev.Type == watch.Deleted {
			last = nil
			return false, nil
		}
		last = u
		return cond(u), nil
	})
	if err != nil {
		t.Fatalf("waiting %s for %s %s/%s: %s: %v\nlast seen: %s", timeout, gvr.Resource, ns, name, what, err, Summary(last))
	}
	return ev.Object.(*unstructured.Unstructured)
}

// SelectorListWatch lists and watches the objects of res that match the label and field selectors
// (either may be empty), for watchtools.UntilWithSync.
func SelectorListWatch(res dynamic.ResourceInterface, labelSelector, fieldSelector string) *cache.ListWatch {
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector, o.FieldSelector = labelSelector, fieldSelector
			return res.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector, o.FieldSelector = labelSelector, fieldSelector
			return res.Watch(ctx, o)
		},
	}
}

// Condition returns the condition of type typ of a Flux or Kubernetes object.
func Condition(u *unstructured.Unstructured, typ string) (status, reason, message string, found bool) {
	if u == nil {
		return "", "", "", false
	}
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if !ok || m["type"] != typ {
			continue
		}
		s, _ := m["status"].(string)
		r, _ := m["reason"].(string)
		msg, _ := m["message"].(string)
		return s, r, msg, true
	}
	return "", "", "", false
}

// HasCondition reports whether u has condition typ with the given status, and reason unless reason is "".
// It also requires status.observedGeneration to have caught up with metadata.generation, so a condition
// left over from the previous spec does not count.
func HasCondition(u *unstructured.Unstructured, typ, status, reason string) bool {
	s, r, _, ok := Condition(u, typ)
	if !ok || s != status || (reason != "" && r != reason) {
		return false
	}
	og, found, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
	return !found || og >= u.GetGeneration()
}

// Str returns a string field of u (empty when absent).
func Str(u *unstructured.Unstructured, fields ...string) string {
	if u == nil {
		return ""
	}
	s, _, _ := unstructured.NestedFieldNoCopy(u.Object, fields...)
	switch v := s.(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

// Int returns an integer field of u (0 when absent).
func Int(u *unstructured.Unstructured, fields ...string) int64 {
	if u == nil {
		return 0
	}
	v, _, _ := unstructured.NestedFieldNoCopy(u.Object, fields...)
	switch n := v.(type) {
	case int64:
		return n
	case float64:
		return int64(n)
	}
	return 0
}

// Summary is a one-paragraph description of an object's generation and conditions, for failure messages.
func Summary(u *unstructured.Unstructured) string {
	if u == nil {
		return "(not found)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s/%s generation=%d observedGeneration=%d", u.GetKind(), u.GetNamespace(), u.GetName(),
		u.GetGeneration(), Int(u, "status", "observedGeneration"))
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok {
			fmt.Fprintf(&b, "\n  %v=%v %v: %v", m["type"], m["status"], m["reason"], m["message"])
		}
	}
	if rev := Str(u, "status", "artifact", "revision"); rev != "" {
		fmt.Fprintf(&b, "\n  artifact.revision=%s", rev)
	}
	if rev := Str(u, "status", "lastAttemptedRevision"); rev != "" {
		fmt.Fprintf(&b, "\n  lastAttemptedRevision=%s", rev)
	}
	return b.String()
}

// Rollout is what a Deployment runs once its rollout finished.
type Rollout struct {
	Replicas int32
	// Image is the image of the first container ("nginx:1.22").
	Image string
	// MemoryLimit, when set, is the first container's limits.memory ("512Mi").
	MemoryLimit string
}

// WaitRollout waits until Deployment ns/name has finished rolling out want: every replica updated, Ready
// and available, and exactly want.Replicas Ready pods of the image exist. It returns the pods.
func (e *Env) WaitRollout(t testing.TB, ns, name string, want Rollout, timeout time.Duration) []corev1.Pod {
	t.Helper()
	what := fmt.Sprintf("rollout of %d pods of %s", want.Replicas, want.Image)
	e.WaitFor(t, Deployments, ns, name, what, timeout, func(u *unstructured.Unstructured) bool {
		containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
		if len(containers) == 0 {
			return false
		}
		c, _ := containers[0].(map[string]any)
		if c["image"] != want.Image {
			return false
		}
		if want.MemoryLimit != "" {
			mem, _, _ := unstructured.NestedString(c, "resources", "limits", "memory")
			if mem != want.MemoryLimit {
				return false
			}
		}
		r := int64(want.Replicas)
		return Int(u, "spec", "replicas") == r &&
			Int(u, "status", "observedGeneration") >= u.GetGeneration() &&
			Int(u, "status", "replicas") == r && Int(u, "status", "updatedReplicas") == r &&
			Int(u, "status", "readyReplicas") == r && Int(u, "status", "availableReplicas") == r
	})
	d, err := e.Kube.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sel := metav1.FormatLabelSelector(d.Spec.Selector)
	pods, err := e.Kube.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		t.Fatal(err)
	}
	var ready []corev1.Pod
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil || len(p.Spec.Containers) == 0 || p.Spec.Containers[0].Image != want.Image {
			continue
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				ready = append(ready, p)
			}
		}
	}
	if len(ready) != int(want.Replicas) {
		t.Fatalf("Deployment %s/%s reports %d ready replicas but %d pods of %s are Ready", ns, name, want.Replicas, len(ready), want.Image)
	}
	return ready
}
