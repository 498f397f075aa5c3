package fluxmodel

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/fluxcd/pkg/envsubst"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/provider"
	"sigs.k8s.io/kustomize/api/resource"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/resid"
	"sigs.k8s.io/yaml"
)

// This file is the part of github.com/fluxcd/pkg/kustomize that the model
// needs (its generator and its postBuild substitution), written here
// because that package's root imports controller-runtime's client, whose
// init every start-up of the plugin would pay (bench/imports_test.go). It
// follows kustomize-controller: the folder's kustomization.yaml (or one
// listing its manifests) with the Flux Kustomization's targetNamespace,
// namePrefix, nameSuffix, patches, images and components on top, then
// envsubst with Flux's own package.

// generate returns the kustomization.yaml kustomize-controller would build
// dir with, and its path.
func generate(fs filesys.FileSystem, dir string, obj map[string]any) ([]byte, string, bool, error) {
	var k kustypes.Kustomization
	kfile := ""
	for _, n := range konfig.RecognizedKustomizationFileNames() {
		p := filepath.Join(dir, n)
		if fs.Exists(p) && !fs.IsDir(p) {
			data, err := fs.ReadFile(p)
			if err != nil {
				return nil, "", false, err
			}
			if err := yaml.Unmarshal(data, &k); err != nil {
				return nil, "", false, fmt.Errorf("%s: %w", p, err)
			}
			kfile = p
			k.Resources = dropRemote(k.Resources)
			break
		}
	}
	if kfile == "" {
		kfile = filepath.Join(dir, konfig.DefaultKustomizationFileName())
		res, err := scanManifests(fs, dir)
		if err != nil {
			return nil, "", false, err
		}
		if len(res) == 0 {
			return nil, kfile, false, nil
		}
		k.Resources = res
	}
	k.APIVersion, k.Kind = kustypes.KustomizationVersion, kustypes.KustomizationKind
	spec, _ := obj["spec"].(map[string]any)
	if s, ok := spec["targetNamespace"].(string); ok {
		k.Namespace = s
	}
	if s, ok := spec["namePrefix"].(string); ok {
		k.NamePrefix = s
	}
	if s, ok := spec["nameSuffix"].(string); ok {
		k.NameSuffix = s
	}
	patches, _ := spec["patches"].([]any)
	for _, p := range patches {
		pm, _ := p.(map[string]any)
		s, _ := pm["patch"].(string)
		k.Patches = append(k.Patches, kustypes.Patch{Patch: s, Target: selector(pm["target"])})
	}
	ignoreMissing, _ := spec["ignoreMissingComponents"].(bool)
	comps, _ := spec["components"].([]any)
	for _, c := range comps {
		s, _ := c.(string)
		if strings.Contains(s, "://") || filepath.IsAbs(s) {
			return nil, "", false, fmt.Errorf("component path '%s' must be local and relative", s)
		}
		if ignoreMissing && !fs.Exists(filepath.Join(dir, s)) {
			continue
		}
		k.Components = append(k.Components, s)
	}
	images, _ := spec["images"].([]any)
	for _, i := range images {
		im, _ := i.(map[string]any)
		img := kustypes.Image{Name: str(im, "name"), NewName: str(im, "newName"), NewTag: str(im, "newTag"), Digest: str(im, "digest")}
		found := false
		for j := range k.Images {
			if k.Images[j].Name == img.Name {
				found = true
				if img.NewName != "" {
					k.Images[j].NewName = img.NewName
				}
				if img.NewTag != "" || img.Digest != "" {
					k.Images[j].NewTag, k.Images[j].Digest = img.NewTag, img.Digest
				}
			}
		}
		if !found {
			k.Images = append(k.Images, img)
		}
	}
	// No buildMetadata is added for provenance: the model finds each
	// object's file itself (sources in build.go), kustomize's annotations
	// cost a pass over every object per transformer.
	data, err := yaml.Marshal(k)
	return data, kfile, true, err
}

// isRemote reports whether a resources entry is a URL or a Git address
// kustomize would fetch over the network.
func isRemote(r string) bool {
	return strings.Contains(r, "://") || strings.HasPrefix(r, "github.com/") || strings.HasPrefix(r, "git@") || strings.HasPrefix(r, "gitlab.com/")
}

// dropRemote leaves out the resources entries kustomize would fetch over
// the network (a CRD by URL, a remote base): the model is built from the
// checkout alone, so that a diff neither waits on the network nor fails
// offline. What was left out is named by remoteResources.
func dropRemote(res []string) []string {
	out := res[:0:0]
	for _, r := range res {
		if !isRemote(r) {
			out = append(out, r)
		}
	}
	return out
}

// remoteResources lists the remote entries of the folder's own
// kustomization.yaml.
func remoteResources(fs filesys.FileSystem, dir string) []string {
	for _, n := range konfig.RecognizedKustomizationFileNames() {
		p := filepath.Join(dir, n)
		if !fs.Exists(p) || fs.IsDir(p) {
			continue
		}
		data, err := fs.ReadFile(p)
		if err != nil {
			return nil
		}
		var k kustypes.Kustomization
		if yaml.Unmarshal(data, &k) != nil {
			return nil
		}
		var out []string
		for _, r := range k.Resources {
			if isRemote(r) {
				out = append(out, r)
			}
		}
		return out
	}
	return nil
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func selector(t any) *kustypes.Selector {
	m, ok := t.(map[string]any)
	if !ok {
		return nil
	}
	return &kustypes.Selector{
		ResId:              resid.ResId{Gvk: resid.Gvk{Group: str(m, "group"), Version: str(m, "version"), Kind: str(m, "kind")}, Name: str(m, "name"), Namespace: str(m, "namespace")},
		LabelSelector:      str(m, "labelSelector"),
		AnnotationSelector: str(m, "annotationSelector"),
	}
}

// scanManifests lists what Flux's generator lists for a folder without a
// kustomization.yaml: sub-folders that have one, and every YAML file
// (recursively) that decodes as Kubernetes objects.
func scanManifests(fs filesys.FileSystem, base string) ([]string, error) {
	var paths []string
	rf := provider.NewDefaultDepProvider().GetResourceFactory()
	err := fs.Walk(base, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if p == base {
			return nil
		}
		if info.IsDir() {
			for _, n := range konfig.RecognizedKustomizationFileNames() {
				if kp := filepath.Join(p, n); fs.Exists(kp) && !fs.IsDir(kp) {
					paths = append(paths, "."+strings.TrimPrefix(p, base))
					return filepath.SkipDir
				}
			}
			return nil
		}
		if ext := filepath.Ext(p); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		data, err := fs.ReadFile(p)
		if err != nil {
			return err
		}
		if _, err := rf.SliceFromBytes(data); err != nil {
			return fmt.Errorf("failed to decode Kubernetes YAML from %s: %w", p, err)
		}
		paths = append(paths, "."+strings.TrimPrefix(p, base))
		return nil
	})
	return paths, err
}

// Builds run side by side (buildAll). kustomize-controller still holds one
// lock around every build for kubernetes-sigs/kustomize#3659 (concurrent
// map writes in kyaml's OpenAPI globals); kyaml guards those with its own
// schemaLock since, and the race detector finds nothing with the model's
// fixtures and two home-ops repositories (100+ Kustomizations built side
// by side, GOMAXPROCS=8), so the model takes no lock of its own.
func kustomize(fs filesys.FileSystem, dir string) (res []*resource.Resource, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("kustomize build panicked: %v", r)
		}
	}()
	k := krusty.MakeKustomizer(&krusty.Options{LoadRestrictions: kustypes.LoadRestrictionsNone, PluginConfig: kustypes.DisabledPluginConfig()})
	rm, err := k.Run(fs, dir)
	if err != nil {
		return nil, err
	}
	return rm.Resources(), nil
}

var varName = regexp.MustCompile(`^[_[:alpha:]][_[:alpha:][:digit:]]*$`)

const substituteKey = "kustomize.toolkit.fluxcd.io/substitute"

// bareVar is a ${NAME} reference without an operator.
var bareVar = regexp.MustCompile(`\$\{([_[:alpha:]][_[:alpha:][:digit:]]*)\}`)

// escapeUnknown rewrites every bare ${NAME} that vars does not set (and
// that is not escaped already) as Flux's escape $${NAME}, which the
// substitution writes out as ${NAME}.
func escapeUnknown(text string, vars map[string]string) string {
	var b strings.Builder
	last := 0
	for _, m := range bareVar.FindAllStringSubmatchIndex(text, -1) {
		name := text[m[2]:m[3]]
		if _, ok := vars[name]; ok || (m[0] > 0 && text[m[0]-1] == '$') {
			continue
		}
		b.WriteString(text[last:m[0]])
		b.WriteString("$")
		last = m[0]
	}
	b.WriteString(text[last:])
	return b.String()
}

// substitute runs Flux's postBuild substitution on r, unless r opts out.
// With keepUnknown (a substituteFrom source is not in the repository), a
// bare ${NAME} that no known source sets is left as written instead of
// emptied, since its value is in the cluster; ${NAME:=default} still takes
// its default.
func substitute(r *resource.Resource, vars map[string]string, keepUnknown bool) error {
	if r.GetLabels()[substituteKey] == "disabled" || r.GetAnnotations()[substituteKey] == "disabled" {
		return nil
	}
	for v := range vars {
		if !varName.MatchString(v) {
			return fmt.Errorf("'%s' var name is invalid, must match '%s'", v, varName)
		}
	}
	data, err := r.AsYAML()
	if err != nil {
		return err
	}
	text := string(data)
	if keepUnknown {
		text = escapeUnknown(text, vars)
	}
	out, err := envsubst.Eval(text, func(s string) (string, bool) { return vars[s], true })
	if err != nil {
		return fmt.Errorf("variable substitution failed: %w", err)
	}
	j, err := yaml.YAMLToJSON([]byte(out))
	if err != nil {
		return err
	}
	return r.UnmarshalJSON(j)
}
