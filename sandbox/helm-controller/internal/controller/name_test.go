package controller

import (
	"strings"
	"testing"

	v2 "github.com/fluxcd/helm-controller/api/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestReleaseNameShortenedAsHelmController(t *testing.T) {
	long := strings.Repeat("a", 30) + "-" + strings.Repeat("b", 30)
	for _, c := range []struct {
		name, target, release, want string
	}{
		{name: "app", want: "app"},
		{name: "app", target: "prod", want: "prod-app"},
		{name: "app", release: "custom", want: "custom"},
		// 61 characters: the first 40 ("-" trimmed), "-", 12 hex of sha256(name).
		{name: long, want: strings.Repeat("a", 30) + "-" + strings.Repeat("b", 9) + "-" + "0d5805a5e727"},
	} {
		hr := &v2.HelmRelease{ObjectMeta: metav1.ObjectMeta{Name: c.name, Namespace: "ns"}}
		hr.Spec.TargetNamespace, hr.Spec.ReleaseName = c.target, c.release
		got := ReleaseName(hr)
		if got != c.want {
			t.Errorf("ReleaseName(%s) = %q, want %q", c.name, got, c.want)
		}
		if len(got) > 53 {
			t.Errorf("ReleaseName(%s) = %q is longer than 53", c.name, got)
		}
	}
}
