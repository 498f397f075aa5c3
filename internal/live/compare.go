package live

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/releaseutil"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/kubectl-gitops/kubectl-gitops/internal/releasecheck"
	"github.com/kubectl-gitops/kubectl-gitops/internal/render"
	"github.com/kubectl-gitops/kubectl-gitops/internal/textdiff"
)

// Labels helm-controller's post-renderer puts on every object of a release.
const (
	LabelName      = "helm.toolkit.fluxcd.io/name"
	LabelNamespace = "helm.toolkit.fluxcd.io/namespace"
)

// Change of one object.
const (
	ChangeAdded     = "added"     // not in the cluster: the upgrade creates it
	ChangeChanged   = "changed"   // the upgrade changes it
	ChangeRemoved   = "removed"   // in the cluster, no longer rendered: the upgrade deletes it
	ChangeUnchanged = "unchanged" // the upgrade leaves it as it is
	ChangeForbidden = "forbidden" // the user may not read (or dry-run apply) it
	ChangeError     = "error"     // the API server refused the dry run, or does not serve the kind
)

// Revision is one Helm release revision in storage.
type Revision struct {
	Version int    `json:"version"`
	Status  string `json:"status"`
	Chart   string `json:"chart"`
}

// Object is what the upgrade does to one object.
type Object struct {
	// Object is "Kind namespace/name".
	Object string `json:"object"`
	Change string `json:"change"`
	// Drift lists the fields whose live value differs from the deployed
	// release's (what helm-controller's drift detection would correct),
	// "deleted" when the object is gone; never values.
	Drift []string `json:"drift,omitempty"`
	// Error says why the object is forbidden or an error.
	Error string `json:"error,omitempty"`
	// Diff is the unified diff from the live object to the one after the
	// upgrade, Secret data masked.
	Diff string `json:"diff,omitempty"`

	colored string
}

// Result is the live comparison of one release.
type Result struct {
	Release          string    `json:"release"`
	StorageNamespace string    `json:"storageNamespace"`
	Deployed         *Revision `json:"deployed,omitempty"`
	// Latest is the newest revision when it is not the deployed one (a
	// failed upgrade): the comparison is against Deployed.
	Latest  *Revision `json:"latest,omitempty"`
	Objects []Object  `json:"objects"`
	// Counts of Objects by change, and the objects that drifted.
	Added     int `json:"added"`
	Changed   int `json:"changed"`
	Removed   int `json:"removed"`
	Drifted   int `json:"drifted"`
	Forbidden int `json:"forbidden"`
	Errors    int `json:"errors"`
	// StorageError says why Helm's storage could not be read (the
	// comparison is then with the live objects alone).
	StorageError string   `json:"storageError,omitempty"`
	Notes        []string `json:"notes,omitempty"`
}

// Differs reports whether the upgrade would change anything.
func (r *Result) Differs() bool { return r.Added+r.Changed+r.Removed > 0 }

// Comparer compares releases with one cluster.
type Comparer struct {
	Dynamic dynamic.Interface
	Mapper  meta.RESTMapper
	// Workers bounds the requests in flight (8 when 0).
	Workers int
}

// NewComparer builds a Comparer for cfg, with its own rate limits raised:
// a release costs a few requests per object.
func NewComparer(cfg *rest.Config) (*Comparer, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 500, 1000
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Comparer{Dynamic: dyn, Mapper: withBuiltins(restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc)))}, nil
}

// Input is one release to compare.
type Input struct {
	// HR is the HelmRelease after the change, or before it when Removed.
	HR      *helmv2.HelmRelease
	Removed bool
	// Objects are the release rendered after the change (nil when Removed);
	// hooks are left out, as Helm keeps them out of the manifest.
	Objects []render.Object
	// Secrets are string values that came from Secrets: masked wherever
	// they appear.
	Secrets map[string]bool
	// Color adds ANSI colors to a second copy of each diff.
	Color bool
	// DriftOnly asks for the drift of each object and its change, without
	// the diffs: trace's check of the deployed release (with Removed), which
	// prints neither and paid for a YAML rendering of every live object.
	DriftOnly bool
}

// Compare compares one release with the cluster. Only a cancelled ctx is an
// error: what cannot be read is reported on the result.
func (c *Comparer) Compare(ctx context.Context, in Input) (*Result, error) {
	t := TargetOf(in.HR)
	res := &Result{Release: t.Namespace + "/" + t.Name, StorageNamespace: t.Storage}
	var deployed []map[string]any
	h, err := ReadHistory(ctx, c.Dynamic, t)
	switch {
	case ctx.Err() != nil:
		return nil, context.Cause(ctx)
	case err != nil:
		res.StorageError = err.Error()
		if apierrors.IsForbidden(err) {
			res.StorageError = fmt.Sprintf("may not read Helm release storage (Secrets in %s): the comparison is with the live objects alone", t.Storage)
		}
	default:
		if h.Deployed != nil {
			res.Deployed = revision(h.Deployed)
			if deployed, err = manifestObjects(h.Deployed.Manifest); err != nil {
				res.Notes = append(res.Notes, fmt.Sprintf("the deployed manifest (v%d) does not parse: %v", h.Deployed.Version, err))
			}
		}
		if h.Latest != nil {
			res.Latest = revision(h.Latest)
			if h.Deployed != nil {
				res.Notes = append(res.Notes, fmt.Sprintf("the last upgrade (v%d, %s) was not deployed: compared with v%d, the release deployed", h.Latest.Version, h.Latest.Info.Status, h.Deployed.Version))
			}
		}
		if h.Deployed == nil {
			res.Notes = append(res.Notes, fmt.Sprintf("no deployed Helm release %s in namespace %s: the upgrade installs it", t.Name, t.Storage))
		}
	}

	// Pair the objects by group, kind, namespace and name.
	type pair struct {
		key string
		new map[string]any
		old map[string]any
	}
	pairs := map[string]*pair{}
	get := func(obj map[string]any) *pair {
		k := objectKey(obj, t.Namespace)
		p := pairs[k]
		if p == nil {
			p = &pair{key: k}
			pairs[k] = p
		}
		return p
	}
	if !in.Removed {
		for _, o := range in.Objects {
			if o.Hook != "" {
				continue
			}
			get(o.Object).new = withOriginLabels(o.Object, in.HR)
		}
	}
	for _, o := range deployed {
		get(o).old = o
	}
	keys := make([]string, 0, len(pairs))
	for k := range pairs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	res.Objects = make([]Object, len(keys))
	workers := c.Workers
	if workers <= 0 {
		workers = 8
	}
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	for i, k := range keys {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			p := pairs[k]
			res.Objects[i] = c.object(ctx, t.Namespace, p.new, p.old, in)
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	kept := res.Objects[:0]
	for _, o := range res.Objects {
		if o.Change == "" {
			continue // in neither the render nor the cluster
		}
		switch o.Change {
		case ChangeAdded:
			res.Added++
		case ChangeChanged:
			res.Changed++
		case ChangeRemoved:
			res.Removed++
		case ChangeForbidden:
			res.Forbidden++
		case ChangeError:
			res.Errors++
		}
		if len(o.Drift) > 0 {
			res.Drifted++
		}
		kept = append(kept, o)
	}
	res.Objects = kept
	return res, nil
}

func revision(r *release.Release) *Revision {
	rev := &Revision{Version: r.Version}
	if r.Info != nil {
		rev.Status = string(r.Info.Status)
	}
	if r.Chart != nil && r.Chart.Metadata != nil {
		rev.Chart = r.Chart.Metadata.Name + "@" + r.Chart.Metadata.Version
	}
	return rev
}

// object compares one object: newObj is the render after the change (nil
// when it is no longer rendered), old the deployed release's (nil when it
// was not in it).
func (c *Comparer) object(ctx context.Context, releaseNS string, newObj, old map[string]any, in Input) Object {
	either := newObj
	if either == nil {
		either = old
	}
	apiVersion, _ := either["apiVersion"].(string)
	kind, _ := either["kind"].(string)
	name, ns := nameOf(either)
	out := Object{Object: kind + " " + name}
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		out.Change, out.Error = ChangeError, fmt.Sprintf("apiVersion %q: %v", apiVersion, err)
		return out
	}
	mapping, err := c.Mapper.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: kind}, gv.Version)
	if err != nil {
		out.Change, out.Error = ChangeError, fmt.Sprintf("the cluster does not serve %s %s: %v", apiVersion, kind, err)
		return out
	}
	var res dynamic.ResourceInterface = c.Dynamic.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		if ns == "" {
			ns = releaseNS
		}
		out.Object = kind + " " + ns + "/" + name
		res = c.Dynamic.Resource(mapping.Resource).Namespace(ns)
	} else {
		ns = ""
	}
	forbidden := func(verb string, err error) Object {
		out.Change = ChangeForbidden
		out.Error = fmt.Sprintf("may not %s it: %v", verb, apierrors.ReasonForError(err))
		if st, ok := err.(apierrors.APIStatus); ok && st.Status().Message != "" {
			out.Error = fmt.Sprintf("may not %s it: %s", verb, st.Status().Message)
		}
		return out
	}
	fail := func(verb string, err error) Object {
		if apierrors.IsForbidden(err) {
			return forbidden(verb, err)
		}
		out.Change, out.Error = ChangeError, fmt.Sprintf("%s: %v", verb, err)
		if isSecret(kind, gv.Group) {
			out.Error = fmt.Sprintf("%s: %s", verb, apierrors.ReasonForError(err))
		}
		return out
	}
	apply := func(obj map[string]any) (map[string]any, error) {
		o := copyJSON(obj)
		if ns != "" {
			setNamespace(o, ns)
		}
		u, err := res.Apply(ctx, name, &unstructured.Unstructured{Object: o}, metav1.ApplyOptions{
			FieldManager: FieldManager, Force: true, DryRun: []string{metav1.DryRunAll},
		})
		if err != nil {
			return nil, err
		}
		return u.Object, nil
	}
	// The read of the live object and the dry runs do not depend on each
	// other: they are sent together, one round trip instead of two (a dry
	// run whose object turns out not to exist is not used).
	var wg sync.WaitGroup
	var newAfter, oldAfter map[string]any
	var newErr, oldErr error
	if newObj != nil {
		wg.Add(1)
		go func() { defer wg.Done(); newAfter, newErr = apply(newObj) }()
	}
	applyOld := old != nil && (newObj == nil || !sameJSON(newObj, old))
	if applyOld {
		wg.Add(1)
		go func() { defer wg.Done(); oldAfter, oldErr = apply(old) }()
	}
	liveU, err := res.Get(ctx, name, metav1.GetOptions{})
	wg.Wait()
	var liveObj map[string]any
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return fail("get", err)
	default:
		liveObj = liveU.Object
	}
	secret := isSecret(kind, gv.Group)
	diff := func(label string, a, b map[string]any) (string, string) {
		if in.DriftOnly {
			return "", ""
		}
		return unified(label, a, b, secret, in.Secrets, in.Color)
	}
	var after map[string]any
	switch {
	case newObj != nil && liveObj == nil:
		out.Change = ChangeAdded
		out.Diff, out.colored = diff(out.Object+" (added)", nil, clean(newObj))
	case newObj != nil:
		if after, err = newAfter, newErr; err != nil {
			return fail("dry-run apply", err)
		}
		if old != nil {
			after = pruneRemoved(copyJSON(after), old, newObj).(map[string]any)
		}
		a, b := clean(liveObj), clean(after)
		out.Diff, out.colored = diff(out.Object, a, b)
		out.Change = ChangeUnchanged
		// Without the diff the objects themselves are compared (a diff
		// can also be empty when only masked Secret values differ).
		if out.Diff != "" || in.DriftOnly && !reflect.DeepEqual(a, b) {
			out.Change = ChangeChanged
		}
	case liveObj != nil:
		out.Change = ChangeRemoved
		out.Diff, out.colored = diff(out.Object+" (removed)", clean(liveObj), nil)
	}
	// Drift: the deployed release's object, applied to the live one, as
	// helm-controller's drift detection does.
	if old != nil {
		if liveObj == nil {
			out.Drift = []string{"deleted"}
		} else {
			deployedAfter := after
			if applyOld {
				if deployedAfter, err = oldAfter, oldErr; err != nil {
					if out.Change == "" || out.Change == ChangeUnchanged || out.Change == ChangeRemoved {
						return fail("dry-run apply the deployed object", err)
					}
					deployedAfter = nil
				}
			}
			if deployedAfter != nil {
				out.Drift = changedPaths(clean(liveObj), clean(deployedAfter))
			}
		}
		if out.Change == "" {
			out.Change = ChangeUnchanged // gone, and not rendered any more
		}
	}
	return out
}

func isSecret(kind, group string) bool { return kind == "Secret" && group == "" }

func nameOf(obj map[string]any) (name, ns string) {
	md, _ := obj["metadata"].(map[string]any)
	name, _ = md["name"].(string)
	ns, _ = md["namespace"].(string)
	return name, ns
}

func setNamespace(obj map[string]any, ns string) {
	md, _ := obj["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
		obj["metadata"] = md
	}
	md["namespace"] = ns
}

// objectKey pairs objects across the render and the deployed manifest:
// group, kind, namespace (the release's when unset; cluster-scoped objects
// carry none on either side) and name.
func objectKey(obj map[string]any, releaseNS string) string {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	group := ""
	if i := strings.LastIndexByte(apiVersion, '/'); i >= 0 {
		group = apiVersion[:i]
	}
	name, ns := nameOf(obj)
	if ns == "" {
		ns = releaseNS
	}
	return group + "|" + kind + "|" + ns + "|" + name
}

// withOriginLabels is a copy of obj with the labels helm-controller's
// post-renderer adds.
func withOriginLabels(obj map[string]any, hr *helmv2.HelmRelease) map[string]any {
	o := copyJSON(obj)
	md, _ := o["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
		o["metadata"] = md
	}
	labels, _ := md["labels"].(map[string]any)
	if labels == nil {
		labels = map[string]any{}
		md["labels"] = labels
	}
	labels[LabelName] = hr.Name
	labels[LabelNamespace] = hr.Namespace
	return o
}

// manifestObjects splits a release manifest into objects.
func manifestObjects(manifest string) ([]map[string]any, error) {
	var out []map[string]any
	docs := releaseutil.SplitManifests(manifest)
	names := make([]string, 0, len(docs))
	for k := range docs {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		j, err := yaml.YAMLToJSON([]byte(docs[k]))
		if err != nil {
			return nil, err
		}
		if bytes.Equal(bytes.TrimSpace(j), []byte("null")) {
			continue
		}
		var obj map[string]any
		d := json.NewDecoder(bytes.NewReader(j))
		d.UseNumber()
		if err := d.Decode(&obj); err != nil {
			return nil, err
		}
		if len(obj) > 0 {
			out = append(out, obj)
		}
	}
	return out, nil
}

func copyJSON(obj map[string]any) map[string]any {
	b, err := json.Marshal(obj)
	if err != nil {
		return obj
	}
	var out map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&out); err != nil {
		return obj
	}
	return out
}

func sameJSON(a, b map[string]any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// clean drops what the server writes and an upgrade does not change:
// status, managedFields, resourceVersion, generation, uid, creation time.
func clean(obj map[string]any) map[string]any {
	if obj == nil {
		return nil
	}
	o := copyJSON(obj)
	delete(o, "status")
	if md, ok := o["metadata"].(map[string]any); ok {
		for _, k := range []string{"managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink"} {
			delete(md, k)
		}
		if a, ok := md["annotations"].(map[string]any); ok {
			delete(a, "deployment.kubernetes.io/revision")
			if len(a) == 0 {
				delete(md, "annotations")
			}
		}
	}
	return o
}

// unified is the diff of two objects as YAML (nil: absent), Secret data
// masked, Secret-fed values masked; plain and, with color, colored.
func unified(label string, a, b map[string]any, secret bool, secrets map[string]bool, color bool) (string, string) {
	if secret {
		// The old side is all <redacted>; the new side says which keys change.
		a, b = releasecheck.MaskSecret(a, nil), releasecheck.MaskSecret(b, a)
	}
	at, bt := text(a, secrets), text(b, secrets)
	var plain bytes.Buffer
	if _, err := textdiff.Unified(&plain, label, []byte(at), []byte(bt), textdiff.Options{}); err != nil {
		return "", ""
	}
	if !color || plain.Len() == 0 {
		return plain.String(), ""
	}
	var col bytes.Buffer
	_, _ = textdiff.Unified(&col, label, []byte(at), []byte(bt), textdiff.Options{Color: true})
	return plain.String(), col.String()
}

func text(obj map[string]any, secrets map[string]bool) string {
	if obj == nil {
		return ""
	}
	b, err := yaml.Marshal(obj)
	if err != nil {
		return ""
	}
	return releasecheck.MaskValues(string(b), secrets)
}

// changedPaths lists the fields (dotted paths, list items by index) whose
// values differ between a and b, sorted; values are never included.
func changedPaths(a, b map[string]any) []string {
	var out []string
	walkDiff("", a, b, &out)
	sort.Strings(out)
	return out
}

func walkDiff(path string, a, b any, out *[]string) {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		for k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			walkDiff(p, am[k], bm[k], out)
		}
		return
	}
	al, aok := a.([]any)
	bl, bok := b.([]any)
	if aok && bok && len(al) == len(bl) {
		for i := range al {
			walkDiff(fmt.Sprintf("%s[%d]", path, i), al[i], bl[i], out)
		}
		return
	}
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	if !bytes.Equal(x, y) {
		*out = append(*out, path)
	}
}

// Colored is Diff with ANSI colors when Input.Color was set, else Diff.
func (o Object) Colored() string {
	if o.colored != "" {
		return o.colored
	}
	return o.Diff
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
