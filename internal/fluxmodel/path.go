package fluxmodel

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// LoadPath is the model of one folder of the checkout at root built the
// way kustomize-controller builds a Flux Kustomization whose spec.path is
// dir and that sets nothing else: the folder's own kustomization.yaml, or
// the one Flux generates for a folder without one, and the Flux
// Kustomizations found in it followed as a cluster's are. Its one cluster
// is named after the path ("--path apps/staging"): what a command given a
// folder edits, each release with its applied identity and the file that
// sets each value (a patch in dir merged over a base outside it).
//
// Errors are in the cluster's Errors, as Load's are; a dir that is not a
// folder of the checkout is an error.
func LoadPath(ctx context.Context, root, dir string) (*Model, error) {
	abs, err := resolveRoot(root)
	if err != nil {
		return nil, err
	}
	dir = path.Clean(strings.TrimPrefix(filepath.ToSlash(dir), "./"))
	if dir == "" || strings.HasPrefix(dir, "../") || dir == ".." || path.IsAbs(dir) {
		return nil, fmt.Errorf("--path %s: not a folder inside the repository", dir)
	}
	if st, err := os.Stat(filepath.Join(abs, filepath.FromSlash(dir))); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("--path %s: not a folder of the repository", dir)
	}
	if !buildablePath(abs) {
		// kustomize refuses the checkout's path ("+", a space, a comma):
		// the folder is built in a copy, as Load builds such a checkout.
		return inCopy(abs, func(tmp string) (*Model, error) { return LoadPath(ctx, tmp, dir) })
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	name := "--path " + dir
	b := &builder{fl: disk(abs), cluster: &Cluster{Name: name, Entry: []string{dir}}, built: map[string]bool{}, seen: map[string]bool{}}
	b.run(ctx, []string{dir})
	return &Model{Root: abs, fl: b.fl, Clusters: []*Cluster{b.cluster}, Layout: "the build of " + dir + " as a Flux Kustomization with that path"}, nil
}
