package fluxmodel

import (
	"reflect"
	"strings"
	"testing"
)

// A postBuild.substituteFrom Secret made outside Git (external-secrets,
// the bootstrap) is a note, not an error: the release is still built,
// its variables from the repository substituted, the unknown ones left
// as written or given their ${VAR:=default}.
func TestSubstituteFromOutsideGitIsANote(t *testing.T) {
	m := load(t, "externalsecret")
	noErrors(t, m)
	r := m.Cluster("main").Release("media", "jellyfin")
	if r == nil {
		t.Fatalf("no media/jellyfin in %v", ids(m))
	}
	v := values(t, r)
	if v["host"] != "jellyfin.${SECRET_DOMAIN}" || v["tz"] != "Europe/Paris" {
		t.Errorf("values = %v", v)
	}
	if v["replicas"] != 1 && v["replicas"] != int64(1) && v["replicas"] != float64(1) && v["replicas"] != "1" {
		t.Errorf("replicas = %#v, want the default 1", v["replicas"])
	}
	notes := strings.Join(m.Notes(), "\n")
	if !strings.Contains(notes, "main: Kustomization flux-system/apps (clusters/main/apps.yaml:3): postBuild.substituteFrom Secret flux-system/cluster-secrets not in the repository") {
		t.Errorf("notes = %q", notes)
	}
}

func TestEscapeUnknown(t *testing.T) {
	for in, want := range map[string]string{
		"${A}${B}":        "${A}$${B}",
		"x $${B} ${B:=1}": "x $${B} ${B:=1}",
		"${B}-${B}":       "$${B}-$${B}",
		"no vars":         "no vars",
	} {
		if got := escapeUnknown(in, map[string]string{"A": "a"}); got != want {
			t.Errorf("escapeUnknown(%q) = %q, want %q", in, got, want)
		}
	}
}

// Flux's hub-and-spoke example: the hub is bootstrapped at hub/ with an
// empty gotk-sync.yaml, and applies each spoke's apps through a
// Kustomization with targetNamespace. The entry point is hub/ (not the
// clusters/<name> folders the hub's Kustomizations point into), and each
// release is in its spoke's namespace, not "default".
func TestEmptyBootstrapSyncIsTheEntryPoint(t *testing.T) {
	m := load(t, "hubspoke")
	noErrors(t, m)
	want := []string{"hub/production/podinfo", "hub/staging/podinfo"}
	if got := ids(m); !reflect.DeepEqual(got, want) {
		t.Fatalf("releases = %v, want %v (%s)", got, want, m.Layout)
	}
	r := m.Cluster("hub").Release("staging", "podinfo")
	if v := values(t, r); v["host"] != "podinfo.staging" {
		t.Errorf("staging values = %v", v)
	}
	if m.Cluster("hub").Source("HelmRepository", "staging", "podinfo") == nil {
		t.Error("the HelmRepository is not applied into staging with its release")
	}
}

// Flux 2.7's layout: Kustomizations apply ExternalArtifacts that an
// ArtifactGenerator cuts out of this repository. One that copies whole
// folders keeping their layout is followed into the repository; one from
// another source is listed in Notes with why it is not followed.
func TestExternalArtifactFollowedIntoTheRepository(t *testing.T) {
	m := load(t, "artifact")
	noErrors(t, m)
	if got, want := ids(m), []string{"staging/podinfo/podinfo"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("releases = %v, want %v", got, want)
	}
	r := m.Cluster("staging").Release("podinfo", "podinfo")
	if v := r.HR.Spec.Chart.Spec.Version; v != ">=1.0.0-alpha" {
		t.Errorf("version = %q, want the staging patch's", v)
	}
	notes := strings.Join(m.Notes(), "\n")
	if !strings.Contains(notes, `staging: Kustomization flux-system/vendor (clusters/staging/apps.yaml:14): source ExternalArtifact flux-system/vendor (ArtifactGenerator flux-system/flux-system, clusters/staging/artifacts.yaml) copies "@vendor/**", not from this repository: not followed`) {
		t.Errorf("notes = %q", notes)
	}
	if strings.Contains(notes, "flux-system/apps") {
		t.Errorf("the followed Kustomization is in the notes: %q", notes)
	}
}

// flux2-multi-tenancy: a tenant's Kustomization applies another branch
// (same URL) whose path is not in this checkout. With the bootstrap
// GitRepository not in the repository, the model cannot tell the sources
// apart by URL: the missing path makes it a note, not a build error.
func TestTenantRepositoryIsANote(t *testing.T) {
	m := load(t, "tenant")
	noErrors(t, m)
	notes := strings.Join(m.Notes(), "\n")
	if !strings.Contains(notes, `staging: Kustomization apps/dev-team (tenants/base/dev-team/sync.yaml:12): path "staging" is not in this checkout: source GitRepository apps/dev-team (https://github.com/example/fleet, branch dev-team) is taken to be another repository or branch: not followed`) {
		t.Errorf("notes = %q", notes)
	}
}

// A remote resources entry (a CRD by URL) is not fetched: the model is
// built from the checkout alone, the release is there, and the
// Kustomization's note names what was left out.
func TestRemoteResourceIsNotFetched(t *testing.T) {
	m := load(t, "remote")
	noErrors(t, m)
	if got, want := ids(m), []string{"cluster/monitoring/silence-operator"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("releases = %v, want %v", got, want)
	}
	notes := strings.Join(m.Notes(), "\n")
	if !strings.Contains(notes, "remote resources not fetched, the rest is built: https://raw.githubusercontent.com/example/silence-operator/") {
		t.Errorf("notes = %q", notes)
	}
}
