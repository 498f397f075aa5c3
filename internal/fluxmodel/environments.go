package fluxmodel

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/kubectl-gitops/kubectl-gitops/internal/envs"
)

// LoadEnvironments returns the environments of the checkout at root, as
// promote and completion name them, and the model they were read from
// (nil with a .gitops.yaml, which is then the answer).
//
// Without .gitops.yaml they come from the model of what the repository
// applies: when a known layout names the same environments as the model's
// clusters, that layout is kept and each environment gets, as bases, the
// folders outside it that its cluster applies (clusters/<env> pulling a
// shared base through resources:); otherwise the model's clusters are the
// environments (a single-cluster repository needs no configuration). A
// repository the model reads as plain files keeps the inferred layout.
func LoadEnvironments(ctx context.Context, root string) (*envs.Config, *Model, error) {
	if _, err := os.Stat(filepath.Join(root, envs.FileName)); err == nil {
		cfg, err := envs.Load(root)
		return cfg, nil, err
	}
	m, err := Load(ctx, root)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := m.environments()
	return cfg, m, err
}

// environments are the environments of the model's checkout without a
// .gitops.yaml (see LoadEnvironments).
func (m *Model) environments() (*envs.Config, error) {
	inferred, ierr := envs.LoadFS(m.files().fsys())
	if m.Plain {
		return inferred, ierr
	}
	fromModel := m.Environments()
	if ierr != nil || !sameNames(inferred, fromModel) {
		if len(fromModel.Environments) == 0 {
			return inferred, ierr
		}
		return fromModel, nil
	}
	for i := range inferred.Environments {
		e := &inferred.Environments[i]
		me, _ := fromModel.Get(e.Name)
		for _, d := range append(append([]string{}, me.Paths...), me.Bases...) {
			if !covered(d, e.Paths) && !covered(d, e.Bases) {
				e.Bases = append(e.Bases, d)
			}
		}
	}
	return inferred, nil
}

func sameNames(a, b *envs.Config) bool {
	x, y := a.Names(), b.Names()
	sort.Strings(x)
	sort.Strings(y)
	return reflect.DeepEqual(x, y)
}

// covered reports whether dir is one of roots or under one.
func covered(dir string, roots []string) bool {
	for _, r := range roots {
		if r == "." || dir == r || strings.HasPrefix(dir, r+"/") {
			return true
		}
	}
	return false
}
