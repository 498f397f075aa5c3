package controller

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	v2 "github.com/fluxcd/helm-controller/api/v2"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/release"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// BuildInventory lists what a release applied, as helm-controller's
// status.inventory: every object of the manifest except hooks, plus the
// chart's CRDs, as '<namespace>_<name>_<group>_<kind>' with the API version.
// Objects without a namespace get the release namespace when their kind is
// namespaced; kinds the mapper does not know are returned as warnings.
func BuildInventory(rel *release.Release, chrt *chart.Chart, mapper apimeta.RESTMapper) (*v2.ResourceInventory, []string, error) {
	inv := &v2.ResourceInventory{Entries: []v2.ResourceRef{}}
	objs, err := readObjects(rel.Manifest)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to parse manifest: %w", err)
	}
	var warnings []string
	namespaced := map[schema.GroupKind]bool{}
	for _, o := range objs {
		if _, hook := o.GetAnnotations()[release.HookAnnotation]; hook {
			continue
		}
		gvk := o.GroupVersionKind()
		if o.GetNamespace() == "" && mapper != nil {
			ns, seen := namespaced[gvk.GroupKind()]
			if !seen {
				m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
				if err != nil {
					warnings = append(warnings, fmt.Sprintf("failed to determine if %s is namespace scoped, skipping namespace: %s", gvk.Kind, err))
					continue
				}
				ns = m.Scope.Name() == apimeta.RESTScopeNameNamespace
				namespaced[gvk.GroupKind()] = ns
			}
			if ns {
				o.SetNamespace(rel.Namespace)
			}
		}
		inv.Entries = append(inv.Entries, inventoryRef(o))
	}
	if chrt != nil {
		for _, crd := range chrt.CRDObjects() {
			objs, err := readObjects(string(crd.File.Data))
			if err != nil {
				return nil, warnings, fmt.Errorf("failed to parse CRD %s: %w", crd.Name, err)
			}
			for _, o := range objs {
				inv.Entries = append(inv.Entries, inventoryRef(o))
			}
		}
	}
	return inv, warnings, nil
}

// inventoryRef formats an object the way cli-utils' ObjMetadata does (a
// colon in a name, as in RBAC names, becomes "__").
func inventoryRef(o *unstructured.Unstructured) v2.ResourceRef {
	gvk := o.GroupVersionKind()
	id := strings.Join([]string{o.GetNamespace(), strings.ReplaceAll(o.GetName(), ":", "__"), gvk.Group, gvk.Kind}, "_")
	return v2.ResourceRef{ID: id, Version: gvk.Version}
}

func readObjects(manifest string) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(manifest)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		obj := map[string]any{}
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			return nil, err
		}
		if len(obj) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: obj}
		if u.IsList() {
			list, err := u.ToList()
			if err != nil {
				return nil, err
			}
			for i := range list.Items {
				out = append(out, &list.Items[i])
			}
			continue
		}
		out = append(out, u)
	}
}
