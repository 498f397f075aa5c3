// Package live compares what a HelmRelease would deploy with what its
// cluster holds: the manifest of the release helm-controller last deployed
// (Helm's release storage) and the live objects, through a server-side
// dry-run apply with helm-controller's field manager, so that fields the API
// server defaults or mutates do not show as changes. `kubectl gitops diff
// --live` prints it; `trace` uses Drift.
package live

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"helm.sh/helm/v3/pkg/release"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// FieldManager is the field manager helm-controller creates and patches
// objects with, and applies them with when it checks for drift.
const FieldManager = "helm-controller"

var secretsGVR = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}

// Target is where a HelmRelease's Helm release lives.
type Target struct {
	// Name is the Helm release name; Namespace where its objects go;
	// Storage the namespace of its release Secrets.
	Name, Namespace, Storage string
}

// TargetOf is the release helm-controller makes of hr.
func TargetOf(hr *helmv2.HelmRelease) Target {
	return Target{Name: ReleaseName(hr), Namespace: hr.GetReleaseNamespace(), Storage: hr.GetStorageNamespace()}
}

// maxReleaseNameLength is Helm's limit on release names.
const maxReleaseNameLength = 53

// ReleaseName is the Helm release name helm-controller uses: spec.releaseName
// or [<targetNamespace>-]<name>, shortened as its release.ShortenName does
// when longer than 53 characters (the first 40, "-" trimmed, "-", then 12
// hex digits of the full name's SHA-256).
func ReleaseName(hr *helmv2.HelmRelease) string {
	name := hr.GetReleaseName()
	if len(name) <= maxReleaseNameLength {
		return name
	}
	sum := fmt.Sprintf("%x", sha256.Sum256([]byte(name)))
	return strings.TrimSuffix(name[:40], "-") + "-" + sum[:12]
}

// History is what Helm's storage holds for a release.
type History struct {
	// Deployed is the release in status deployed (nil when none is).
	Deployed *release.Release
	// Latest is the newest release when it is not Deployed (a failed or
	// pending upgrade); nil otherwise.
	Latest *release.Release
	// Versions counts the revisions stored.
	Versions int
}

// ReadHistory reads the release Secrets `sh.helm.release.v1.<name>.v<N>` of
// t in t.Storage, as Helm's secret driver does (labels owner=helm and
// name=<name>), and decodes only the deployed and the newest one.
func ReadHistory(ctx context.Context, dyn dynamic.Interface, t Target) (*History, error) {
	list, err := dyn.Resource(secretsGVR).Namespace(t.Storage).List(ctx, metav1.ListOptions{
		LabelSelector: "owner=helm,name=" + t.Name,
	})
	if err != nil {
		return nil, fmt.Errorf("reading Helm release storage (Secrets of release %s in namespace %s): %w", t.Name, t.Storage, err)
	}
	type stored struct {
		version int
		status  string
		data    string
		name    string
	}
	var all []stored
	for _, it := range list.Items {
		l := it.GetLabels()
		v, err := strconv.Atoi(l["version"])
		if err != nil {
			continue
		}
		data, _, _ := unstructuredString(it.Object, "data", "release")
		all = append(all, stored{version: v, status: l["status"], data: data, name: it.GetName()})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].version > all[j].version })
	h := &History{Versions: len(all)}
	for i, s := range all {
		if s.status != string(release.StatusDeployed) && i > 0 {
			continue
		}
		rel, err := DecodeSecretData(s.data)
		if err != nil {
			return nil, fmt.Errorf("decoding Helm release Secret %s/%s: %w", t.Storage, s.name, err)
		}
		if s.status == string(release.StatusDeployed) {
			h.Deployed = rel
			break
		}
		h.Latest = rel
	}
	return h, nil
}

func unstructuredString(obj map[string]any, keys ...string) (string, bool, error) {
	var cur any = obj
	for _, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			return "", false, nil
		}
		cur = m[k]
	}
	s, ok := cur.(string)
	return s, ok, nil
}

var gzipMagic = []byte{0x1f, 0x8b, 0x08}

// DecodeSecretData decodes the data.release field of a Helm release Secret
// as the API returns it: base64 (the Secret's own encoding) of Helm's
// base64 of gzip of the release's JSON.
func DecodeSecretData(data string) (*release.Release, error) {
	helmEncoded, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil, fmt.Errorf("data.release is not base64: %w", err)
	}
	return DecodeRelease(string(helmEncoded))
}

// DecodeRelease decodes a release as Helm's storage drivers encode it:
// base64 of gzip (or of plain) JSON.
func DecodeRelease(s string) (*release.Release, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("the release is not base64: %w", err)
	}
	if bytes.HasPrefix(b, gzipMagic) {
		r, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("the release is not gzip: %w", err)
		}
		defer r.Close()
		if b, err = io.ReadAll(r); err != nil {
			return nil, fmt.Errorf("the release is not gzip: %w", err)
		}
	}
	var rel release.Release
	if err := json.Unmarshal(b, &rel); err != nil {
		return nil, fmt.Errorf("the release is not JSON: %w", err)
	}
	return &rel, nil
}
