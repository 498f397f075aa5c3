package controller

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/release"
	helmtime "helm.sh/helm/v3/pkg/time"
	"k8s.io/apimachinery/pkg/runtime"
)

// fakeHelm is an in-memory Releaser that stores releases the way Helm does:
// a successful action supersedes the deployed release, a failed install or
// upgrade leaves a "failed" release, and a render error stores nothing.
type fakeHelm struct {
	now      time.Time
	releases map[string][]*release.Release // by storageNamespace/name, oldest first
	// upgradeErr/installErr fail the action after storing a failed release;
	// renderErr fails it before anything is stored.
	upgradeErr, installErr, renderErr error
	calls                             []string
	targets                           []Target
}

func newFakeHelm(now time.Time) *fakeHelm {
	return &fakeHelm{now: now, releases: map[string][]*release.Release{}}
}

func key(t Target) string { return t.StorageNamespace + "/" + t.ReleaseName }

func (f *fakeHelm) History(_ context.Context, t Target) ([]*release.Release, error) {
	// Copies, as Helm decodes fresh objects from storage on every read.
	var rels []*release.Release
	for _, r := range f.releases[key(t)] {
		c := *r
		info := *r.Info
		c.Info = &info
		rels = append(rels, &c)
	}
	sort.Slice(rels, func(i, j int) bool { return rels[i].Version > rels[j].Version })
	return rels, nil
}

// seed stores a release as if an earlier controller run made it.
func (f *fakeHelm) seed(t Target, name, version string, values map[string]any, status release.Status) *release.Release {
	rels := f.releases[key(t)]
	r := &release.Release{
		Name: t.ReleaseName, Namespace: t.Namespace, Version: len(rels) + 1,
		Chart:  &chart.Chart{Metadata: &chart.Metadata{Name: name, Version: version, AppVersion: "1.21", APIVersion: "v2"}},
		Config: values,
		Info: &release.Info{
			FirstDeployed: helmtime.Time{Time: f.now}, LastDeployed: helmtime.Time{Time: f.now},
			Status: status,
		},
		Manifest: fmt.Sprintf("---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s\n  annotations:\n    values: %q\n", t.ReleaseName, fmt.Sprint(values)),
	}
	if len(rels) > 0 {
		r.Info.FirstDeployed = rels[0].Info.FirstDeployed
	}
	f.releases[key(t)] = append(rels, r)
	return r
}

func (f *fakeHelm) supersedeDeployed(t Target) {
	for _, r := range f.releases[key(t)] {
		if r.Info.Status == release.StatusDeployed {
			r.Info.Status = release.StatusSuperseded
		}
	}
}

func (f *fakeHelm) run(t Target, chrt *chart.Chart, values map[string]any, failErr error) error {
	if f.renderErr != nil {
		return f.renderErr
	}
	if failErr != nil {
		f.seed(t, chrt.Name(), chrt.Metadata.Version, values, release.StatusFailed)
		return failErr
	}
	f.supersedeDeployed(t)
	f.seed(t, chrt.Name(), chrt.Metadata.Version, values, release.StatusDeployed)
	return nil
}

func (f *fakeHelm) Install(_ context.Context, t Target, chrt *chart.Chart, values map[string]any) error {
	f.calls, f.targets = append(f.calls, "install"), append(f.targets, t)
	return f.run(t, chrt, values, f.installErr)
}

func (f *fakeHelm) Upgrade(_ context.Context, t Target, chrt *chart.Chart, values map[string]any) error {
	f.calls, f.targets = append(f.calls, "upgrade"), append(f.targets, t)
	if len(f.releases[key(t)]) == 0 {
		return errors.New(`"` + t.ReleaseName + `" has no deployed releases`)
	}
	return f.run(t, chrt, values, f.upgradeErr)
}

func (f *fakeHelm) Rollback(_ context.Context, t Target, version int) error {
	f.calls, f.targets = append(f.calls, fmt.Sprintf("rollback:%d", version)), append(f.targets, t)
	for _, r := range f.releases[key(t)] {
		if r.Version == version {
			f.supersedeDeployed(t)
			f.seed(t, r.Chart.Metadata.Name, r.Chart.Metadata.Version, r.Config, release.StatusDeployed)
			return nil
		}
	}
	return fmt.Errorf("release: not found")
}

func (f *fakeHelm) Uninstall(_ context.Context, t Target) error {
	f.calls, f.targets = append(f.calls, "uninstall"), append(f.targets, t)
	delete(f.releases, key(t))
	return nil
}

// fakeCharts loads a chart per artifact revision without HTTP.
type fakeCharts map[string]*chart.Chart

func (f fakeCharts) Load(_ context.Context, a *meta.Artifact) (*chart.Chart, error) {
	c, ok := f[a.Revision]
	if !ok {
		return nil, fmt.Errorf("no chart for revision %s", a.Revision)
	}
	return c, nil
}

type recordedEvent struct {
	Type, Reason, Message string
	Annotations           map[string]string
}

type sliceRecorder struct{ events []recordedEvent }

func (s *sliceRecorder) AnnotatedEventf(_ runtime.Object, ann map[string]string, t, reason, f string, args ...any) {
	s.events = append(s.events, recordedEvent{Type: t, Reason: reason, Message: fmt.Sprintf(f, args...), Annotations: ann})
}
