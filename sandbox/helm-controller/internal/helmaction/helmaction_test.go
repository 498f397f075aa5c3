package helmaction

import (
	"bytes"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

func TestLabelPostRenderer(t *testing.T) {
	in := `---
# Source: sample-app/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: sample-app
---
# Source: sample-app/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: sample-app
  labels:
    app.kubernetes.io/name: sample-app
spec:
  replicas: 2
---
`
	out, err := labelPostRenderer{name: "sample-app", namespace: "apps"}.Run(bytes.NewBufferString(in))
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(strings.TrimPrefix(out.String(), "---\n"), "---\n")
	if len(docs) != 2 {
		t.Fatalf("got %d documents, want 2:\n%s", len(docs), out)
	}
	for _, d := range docs {
		var obj struct {
			Kind     string
			Metadata metav1.ObjectMeta
			Spec     map[string]any
		}
		if err := yaml.Unmarshal([]byte(d), &obj); err != nil {
			t.Fatal(err)
		}
		if obj.Metadata.Labels[labelName] != "sample-app" || obj.Metadata.Labels[labelNamespace] != "apps" {
			t.Errorf("%s labels = %v, want the helm.toolkit.fluxcd.io labels", obj.Kind, obj.Metadata.Labels)
		}
		if obj.Kind == "Deployment" && (obj.Metadata.Labels["app.kubernetes.io/name"] != "sample-app" || obj.Spec["replicas"] != float64(2)) {
			t.Errorf("Deployment lost its own content: %s", d)
		}
	}
}

func TestDeploymentStatus(t *testing.T) {
	five := int32(5)
	dep := func(gen, observed int64, st appsv1.DeploymentStatus) *appsv1.Deployment {
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Generation: gen}, Spec: appsv1.DeploymentSpec{Replicas: &five},
			Status: func() appsv1.DeploymentStatus { st.ObservedGeneration = observed; return st }()}
	}
	tests := []struct {
		name    string
		d       *appsv1.Deployment
		current bool
		msg     string
		failed  bool
	}{
		{"new generation not observed", dep(2, 1, appsv1.DeploymentStatus{Replicas: 5, UpdatedReplicas: 5, AvailableReplicas: 5, ReadyReplicas: 5}), false, "Deployment generation not yet observed", false},
		{"rolling: 2 of 5 updated", dep(2, 2, appsv1.DeploymentStatus{Replicas: 6, UpdatedReplicas: 2, AvailableReplicas: 4, ReadyReplicas: 4}), false, "Updated: 2/5", false},
		{"old pods terminating", dep(2, 2, appsv1.DeploymentStatus{Replicas: 6, UpdatedReplicas: 5, AvailableReplicas: 5, ReadyReplicas: 5}), false, "Pending termination: 1", false},
		{"4 of 5 available is not enough (Helm's rule would accept it)", dep(2, 2, appsv1.DeploymentStatus{Replicas: 5, UpdatedReplicas: 5, AvailableReplicas: 4, ReadyReplicas: 4}), false, "Available: 4/5", false},
		{"rolled out", dep(2, 2, appsv1.DeploymentStatus{Replicas: 5, UpdatedReplicas: 5, AvailableReplicas: 5, ReadyReplicas: 5}), true, "", false},
		{"progress deadline exceeded fails", dep(2, 2, appsv1.DeploymentStatus{Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Reason: "ProgressDeadlineExceeded"}}}), false, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, msg, err := deploymentStatus(tc.d)
			if ok != tc.current || msg != tc.msg || (err != nil) != tc.failed {
				t.Errorf("deploymentStatus = %v %q %v, want %v %q failed=%v", ok, msg, err, tc.current, tc.msg, tc.failed)
			}
		})
	}
}
