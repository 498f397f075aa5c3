package fluxmodel

import (
	"fmt"
	"path"
	"strings"
)

// artifactPath maps the path of a Kustomization whose source is an
// ExternalArtifact onto this repository, when the ArtifactGenerator
// (source-watcher, source.extensions.fluxcd.io) that produces the artifact
// copies folders of this repository's GitRepository into it without
// rearranging them: every copy is "@<alias>/<dir>/**" to
// "@artifact/<sub>/" with <dir> = <prefix>/<sub> for one common prefix
// (flux2-kustomize-helm-example: "@monorepo/apps/staging/**" to
// "@artifact/staging/"). It returns the folder in the repository, or a
// note saying why the Kustomization is not followed.
func (b *builder) artifactPath(name, namespace, ksPath string) (string, string) {
	var gen *Object
	var art map[string]any
	for _, o := range b.cluster.Objects {
		if o.Kind != "ArtifactGenerator" || group(o.APIVersion) != "source.extensions.fluxcd.io" || o.Namespace != namespace {
			continue
		}
		for _, a := range nestedSlice(o.Data, "spec", "artifacts") {
			am, _ := a.(map[string]any)
			if n, _ := am["name"].(string); n == name {
				gen, art = o, am
			}
		}
	}
	if gen == nil {
		return "", fmt.Sprintf("source ExternalArtifact %s/%s: no ArtifactGenerator in the repository produces it: not followed", namespace, name)
	}
	self := map[string]bool{} // aliases of this repository
	for _, s := range nestedSlice(gen.Data, "spec", "sources") {
		sm, _ := s.(map[string]any)
		alias, _ := sm["alias"].(string)
		kind, _ := sm["kind"].(string)
		src, _ := sm["name"].(string)
		if kind == "GitRepository" && b.isSelf(src, gen.Namespace, sm) {
			self[alias] = true
		}
	}
	where := fmt.Sprintf("source ExternalArtifact %s/%s (ArtifactGenerator %s/%s, %s)", namespace, name, gen.Namespace, gen.Name, gen.File)
	prefix, set := "", false
	copies, _ := art["copy"].([]any)
	for _, c := range copies {
		cm, _ := c.(map[string]any)
		from, _ := cm["from"].(string)
		to, _ := cm["to"].(string)
		alias, dir, ok := strings.Cut(strings.TrimPrefix(from, "@"), "/")
		if !strings.HasPrefix(from, "@") || !ok || !self[alias] {
			return "", fmt.Sprintf("%s copies %q, not from this repository: not followed", where, from)
		}
		if dir != "**" && !strings.HasSuffix(dir, "/**") {
			return "", fmt.Sprintf("%s copies files (%q), not whole folders: not followed", where, from)
		}
		dir = path.Clean("./" + strings.TrimSuffix(strings.TrimSuffix(dir, "**"), "/"))
		sub := path.Clean("./" + strings.TrimPrefix(strings.TrimPrefix(to, "@artifact"), "/"))
		var p string
		switch {
		case sub == ".":
			p = dir
		case dir == sub:
			p = "."
		case strings.HasSuffix(dir, "/"+sub):
			p = strings.TrimSuffix(dir, "/"+sub)
		default:
			return "", fmt.Sprintf("%s puts %s at %s: the artifact's layout is not the repository's: not followed", where, dir, sub)
		}
		if set && p != prefix {
			return "", fmt.Sprintf("%s rearranges folders (%s and %s): not followed", where, prefix, p)
		}
		prefix, set = p, true
	}
	if !set {
		return "", where + " copies nothing: not followed"
	}
	return path.Clean(path.Join(prefix, strings.TrimPrefix(ksPath, "/"))), ""
}

func ksNamespaceOf(ref map[string]any, ksNamespace string) string {
	if ns, _ := ref["namespace"].(string); ns != "" {
		return ns
	}
	return ksNamespace
}

// elsewhere returns a note when a Kustomization's path is not in this
// checkout and its source is a GitRepository the repository defines other
// than the bootstrap one: without the bootstrap GitRepository in the
// repository (an empty gotk-sync.yaml) the model cannot tell it apart
// from this one, and such a source is another repository or branch
// (flux2-multi-tenancy's dev-team GitRepository on branch dev-team), not a
// broken path.
func (b *builder) elsewhere(kind, name, namespace, p string) string {
	if kind != "GitRepository" || name == selfSource || b.fl.isDir(b.fl.abs(p)) {
		return ""
	}
	src := b.cluster.Source("GitRepository", namespace, name)
	if src == nil {
		return ""
	}
	url, _ := nested(src.Data, "spec", "url").(string)
	ref := ""
	if r, ok := nested(src.Data, "spec", "ref").(map[string]any); ok {
		for _, k := range []string{"branch", "tag", "semver", "name", "commit"} {
			if v, ok := r[k].(string); ok && v != "" {
				ref = ", " + k + " " + v
				break
			}
		}
	}
	return fmt.Sprintf("path %q is not in this checkout: source GitRepository %s/%s (%s%s) is taken to be another repository or branch: not followed", p, namespace, name, url, ref)
}
