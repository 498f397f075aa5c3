package validate

import (
	"errors"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: sample-app
  labels: {app: sample-app}
spec:
  replicas: 2
  selector:
    matchLabels: {app: sample-app}
  template:
    metadata:
      labels: {app: sample-app}
    spec:
      containers:
        - name: nginx
          image: nginx:1.21
          imagePullPolicy: IfNotPresent
          ports:
            - name: http
              containerPort: 80
          resources:
            requests: {cpu: 10m, memory: 32Mi}
            limits: {memory: 128Mi}
`

func obj(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestObjectAgainstBundledSchema(t *testing.T) {
	s, err := Bundled()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		old, new  string // replaced in deployment
		extra     string // a whole other object instead
		wantField string
		wantMsg   string
	}{
		{name: "valid"},
		{name: "bad quantity", old: "memory: 128Mi", new: "memory: not-a-quantity",
			wantField: "spec.template.spec.containers[0].resources.limits.memory", wantMsg: "quantities must match the regular expression"},
		{name: "unknown field", old: "  replicas: 2", new: "  replicas: 2\n  replica: 3",
			wantField: "spec.replica", wantMsg: `unknown field "replica"`},
		{name: "wrong type", old: "replicas: 2", new: "replicas: three",
			wantField: "spec.replicas", wantMsg: "must be an integer, not a string"},
		{name: "missing required", old: "        - name: nginx\n          image", new: "        - image",
			wantField: "spec.template.spec.containers[0].name", wantMsg: "required field is missing"},
		{name: "enum", old: "IfNotPresent", new: "Sometimes",
			wantField: "spec.template.spec.containers[0].imagePullPolicy", wantMsg: `must be one of "Always", "IfNotPresent", "Never"`},
		{name: "list instead of object", old: "limits: {memory: 128Mi}", new: "limits: [128Mi]",
			wantField: "spec.template.spec.containers[0].resources.limits", wantMsg: "must be an object, not a list"},
		{name: "number quantity is fine", old: "memory: 128Mi", new: "memory: 134217728"},
		{name: "secret data not base64",
			extra:     "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {password: not base64!}\n",
			wantField: "data.password", wantMsg: "base64"},
		{name: "service targetPort int-or-string",
			extra: "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports: [{port: 80, targetPort: http}, {port: 81, targetPort: 8081}]\n"},
		{name: "service port missing",
			extra:     "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports: [{targetPort: http}]\n",
			wantField: "spec.ports[0].port", wantMsg: "required"},
		{name: "bad time",
			extra:     "apiVersion: v1\nkind: Pod\nmetadata: {name: p, creationTimestamp: yesterday}\nspec: {containers: [{name: c, image: i}]}\n",
			wantField: "metadata.creationTimestamp", wantMsg: "RFC 3339"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := deployment
			if tt.extra != "" {
				src = tt.extra
			} else if tt.old != "" {
				if !strings.Contains(src, tt.old) {
					t.Fatalf("fixture lacks %q", tt.old)
				}
				src = strings.Replace(src, tt.old, tt.new, 1)
			}
			probs, err := s.Object(obj(t, src))
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantField == "" {
				if len(probs) > 0 {
					t.Fatalf("want no problems, got %v", probs)
				}
				return
			}
			if len(probs) != 1 {
				t.Fatalf("want exactly one problem at %s, got %v", tt.wantField, probs)
			}
			if probs[0].Field != tt.wantField || !strings.Contains(probs[0].Message, tt.wantMsg) {
				t.Errorf("got %s, want field %s with %q", probs[0], tt.wantField, tt.wantMsg)
			}
		})
	}
}

func TestObjectUnknownKind(t *testing.T) {
	s, err := Bundled()
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Object(obj(t, "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"))
	var ns *ErrNoSchema
	if !errors.As(err, &ns) || ns.GVK.Kind != "Widget" {
		t.Fatalf("want ErrNoSchema for Widget, got %v", err)
	}
}

func TestBuiltIn(t *testing.T) {
	for p, want := range map[string]bool{
		"api/v1": true, "apis/apps/v1": true, "apis/networking.k8s.io/v1": true,
		"apis/helm.toolkit.fluxcd.io/v2": false, "apis/example.com/v1": false, "version": false,
	} {
		if got := BuiltIn(p); got != want {
			t.Errorf("BuiltIn(%s) = %v, want %v", p, got, want)
		}
	}
}
