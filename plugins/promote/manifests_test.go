package promote

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/internal/manifest"
)

// TestDocSetFind checks that the indexed lookup answers exactly what a
// scan of every document (findObject on all of them) answers, for objects
// that exist, that exist only in another group or namespace, that are
// ambiguous, and that do not exist.
func TestDocSetFind(t *testing.T) {
	d := func(group, kind, name, ns, file string) *doc {
		return &doc{Node: manifest.Node{Doc: manifest.Doc{Path: file, Group: group, Kind: kind, Name: name, Namespace: ns}}}
	}
	own := []*doc{
		d(helmGroup, "HelmRelease", "web", "prod", "apps/prod/web.yaml"),
		d(helmGroup, "HelmRelease", "web", "prod", "apps/prod/web-values.yaml"),
		d(helmGroup, "HelmRelease", "api", "", "apps/prod/api.yaml"),
		d(sourceGroup, "GitRepository", "charts", "flux-system", "apps/prod/source.yaml"),
		d("", "ConfigMap", "web", "prod", "apps/prod/cm.yaml"),
	}
	base := []*doc{
		d(helmGroup, "HelmRelease", "web", "", "apps/base/web.yaml"),
		d(helmGroup, "HelmRelease", "db", "team-a", "apps/base/db-a.yaml"),
		d(helmGroup, "HelmRelease", "db", "team-b", "apps/base/db-b.yaml"),
		d("helm.example.com", "HelmRelease", "queue", "prod", "apps/base/queue.yaml"),
		d(sourceGroup, "GitRepository", "charts", "flux-system", "apps/base/source.yaml"),
	}
	set := newDocSet(own, base)
	for _, q := range []struct{ group, kind, name, ns string }{
		{helmGroup, "HelmRelease", "web", ""},
		{helmGroup, "HelmRelease", "web", "prod"},
		{helmGroup, "HelmRelease", "web", "staging"},
		{helmGroup, "HelmRelease", "api", "prod"},
		{helmGroup, "HelmRelease", "db", ""},
		{helmGroup, "HelmRelease", "db", "team-b"},
		{helmGroup, "HelmRelease", "queue", ""},
		{"helm.example.com", "HelmRelease", "queue", ""},
		{sourceGroup, "GitRepository", "charts", ""},
		{sourceGroup, "OCIRepository", "charts", ""},
		{"", "ConfigMap", "web", "prod"},
		{helmGroup, "HelmRelease", "nope", ""},
	} {
		t.Run(fmt.Sprintf("%s/%s/%s/%s", q.group, q.kind, q.name, q.ns), func(t *testing.T) {
			got, gotErr := set.find(q.group, q.kind, q.name, q.ns)
			want, wantErr := findObject(own, base, q.group, q.kind, q.name, q.ns)
			if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
				t.Fatalf("error %v, a scan says %v", gotErr, wantErr)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("found %+v, a scan finds %+v", got, want)
			}
		})
	}
}

// TestFlattenValuesLayers checks the merge of cached per-document values:
// a patch replaces a leaf with a map and a list whole, the base's other
// leaves stay, and a base merged into two environments gives each its own
// result.
func TestFlattenValuesLayers(t *testing.T) {
	parse := func(src string) *doc {
		t.Helper()
		docs, err := parseDocs("x.yaml", []byte("kind: HelmRelease\n"+src))
		if err != nil || len(docs) != 1 {
			t.Fatalf("parsing %q: %v", src, err)
		}
		return docs[0]
	}
	base := parse("spec:\n  values:\n    image: nginx\n    replicas: 1\n    hosts: [a, b]\n    ingress:\n      - host: a.example.com\n")
	dev := parse("spec:\n  values:\n    image:\n      tag: \"1.2\"\n    hosts: [c]\n")
	prod := parse("spec:\n  values:\n    replicas: 3\n")
	for _, tc := range []struct {
		own  *doc
		want map[string]string
	}{
		{dev, map[string]string{"image.tag": "1.2", "replicas": "1", "hosts": `["c"]`, "ingress": `[{"host":"a.example.com"}]`}},
		{prod, map[string]string{"image": "nginx", "replicas": "3", "hosts": `["a","b"]`, "ingress": `[{"host":"a.example.com"}]`}},
		{dev, map[string]string{"image.tag": "1.2", "replicas": "1", "hosts": `["c"]`, "ingress": `[{"host":"a.example.com"}]`}},
	} {
		got := flattenValues(&object{Base: []*doc{base}, Own: []*doc{tc.own}})
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("got %v\nwant %v", got, tc.want)
		}
	}
}
