package controller

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strings"

	v2 "github.com/fluxcd/helm-controller/api/v2"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

const (
	labelName      = "helm.toolkit.fluxcd.io/name"
	labelNamespace = "helm.toolkit.fluxcd.io/namespace"
)

// errFileNotFound is an artifact URL that answers 404: source-controller has
// moved on to a newer artifact and the watch will bring us back.
var errFileNotFound = errors.New("artifact not found")

// helmChartRef is where the HelmRelease's HelmChart lives (from spec.chart).
func helmChartRef(hr *v2.HelmRelease) types.NamespacedName {
	return types.NamespacedName{Namespace: hr.Spec.Chart.GetNamespace(hr.Namespace), Name: hr.GetHelmChartName()}
}

// buildHelmChart renders spec.chart into the HelmChart helm-controller creates.
func buildHelmChart(hr *v2.HelmRelease) *sourcev1.HelmChart {
	tpl := hr.Spec.Chart
	ref := helmChartRef(hr)
	hc := &sourcev1.HelmChart{
		ObjectMeta: metav1.ObjectMeta{Name: ref.Name, Namespace: ref.Namespace},
		Spec: sourcev1.HelmChartSpec{
			Chart:   tpl.Spec.Chart,
			Version: tpl.Spec.Version,
			SourceRef: sourcev1.LocalHelmChartSourceReference{
				Name: tpl.Spec.SourceRef.Name,
				Kind: tpl.Spec.SourceRef.Kind,
			},
			Interval:                 tpl.GetInterval(hr.Spec.Interval),
			ReconcileStrategy:        tpl.Spec.ReconcileStrategy,
			ValuesFiles:              tpl.Spec.ValuesFiles,
			IgnoreMissingValuesFiles: tpl.Spec.IgnoreMissingValuesFiles,
		},
	}
	if v := tpl.Spec.Verify; v != nil {
		hc.Spec.Verify = &sourcev1.HelmChartVerification{Provider: v.Provider, SecretRef: v.SecretRef}
	}
	labels := map[string]string{}
	if tpl.ObjectMeta != nil {
		hc.SetAnnotations(tpl.ObjectMeta.Annotations)
		for k, v := range tpl.ObjectMeta.Labels {
			labels[k] = v
		}
	}
	labels[labelName] = hr.Name
	labels[labelNamespace] = hr.Namespace
	hc.SetLabels(labels)
	return hc
}

// reconcileHelmChart creates or updates the HelmChart from spec.chart, deletes
// one left behind when it moved or when spec.chartRef replaced spec.chart, and
// returns the events helm-controller emits for it.
func reconcileHelmChart(ctx context.Context, c client.Client, hr *v2.HelmRelease) ([]Event, error) {
	var events []Event
	want := ""
	if hr.Spec.Chart != nil {
		want = helmChartRef(hr).String()
	}
	if hr.Status.HelmChart != "" && hr.Status.HelmChart != want {
		ns, name := hr.Status.GetHelmChart()
		old := &sourcev1.HelmChart{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		if err := c.Delete(ctx, old); err != nil && !apierrors.IsNotFound(err) {
			return events, fmt.Errorf("failed to delete HelmChart '%s': %w", hr.Status.HelmChart, err)
		}
		events = append(events, Event{Type: "Normal", Reason: "HelmChartDeleted", Message: fmt.Sprintf("deleted HelmChart '%s'", hr.Status.HelmChart)})
		hr.Status.HelmChart = ""
	}
	if hr.Spec.Chart == nil {
		return events, nil
	}
	desired := buildHelmChart(hr)
	var cur sourcev1.HelmChart
	err := c.Get(ctx, client.ObjectKeyFromObject(desired), &cur)
	src := fmt.Sprintf("'%s/%s/%s'", desired.Spec.SourceRef.Kind, desired.Namespace, desired.Spec.SourceRef.Name)
	switch {
	case apierrors.IsNotFound(err):
		if err := c.Create(ctx, desired); err != nil {
			return events, fmt.Errorf("failed to create HelmChart %s: %w", want, err)
		}
		events = append(events, Event{Type: "Normal", Reason: "HelmChartCreated",
			Message: fmt.Sprintf("Created HelmChart/%s with SourceRef %s", want, src)})
	case err != nil:
		return events, fmt.Errorf("failed to get HelmChart %s: %w", want, err)
	default:
		if !equality.Semantic.DeepEqual(cur.Spec, desired.Spec) || !labelsContain(cur.Labels, desired.Labels) {
			cur.Spec = desired.Spec
			if cur.Labels == nil {
				cur.Labels = map[string]string{}
			}
			for k, v := range desired.Labels {
				cur.Labels[k] = v
			}
			if err := c.Update(ctx, &cur); err != nil {
				return events, fmt.Errorf("failed to update HelmChart %s: %w", want, err)
			}
			events = append(events, Event{Type: "Normal", Reason: "HelmChartConfigured",
				Message: fmt.Sprintf("HelmChart/%s configured with SourceRef %s", want, src)})
		}
	}
	hr.Status.HelmChart = want
	return events, nil
}

func labelsContain(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// chartSource is the object whose artifact holds the chart.
type chartSource struct {
	Kind       string
	Key        types.NamespacedName
	Generation int64
	Observed   int64
	Conditions []metav1.Condition
	Artifact   *meta.Artifact
}

// getChartSource fetches the HelmChart (from spec.chart or a chartRef) or the
// OCIRepository a chartRef names.
func getChartSource(ctx context.Context, c client.Reader, hr *v2.HelmRelease) (*chartSource, error) {
	if hr.Spec.ChartRef != nil {
		ns := hr.Spec.ChartRef.Namespace
		if ns == "" {
			ns = hr.Namespace
		}
		key := types.NamespacedName{Namespace: ns, Name: hr.Spec.ChartRef.Name}
		switch hr.Spec.ChartRef.Kind {
		case sourcev1.HelmChartKind:
			var hc sourcev1.HelmChart
			if err := c.Get(ctx, key, &hc); err != nil {
				return nil, err
			}
			return &chartSource{Kind: sourcev1.HelmChartKind, Key: key, Generation: hc.Generation, Observed: hc.Status.ObservedGeneration, Conditions: hc.Status.Conditions, Artifact: hc.Status.Artifact}, nil
		case sourcev1.OCIRepositoryKind:
			var oci sourcev1.OCIRepository
			if err := c.Get(ctx, key, &oci); err != nil {
				return nil, err
			}
			return &chartSource{Kind: sourcev1.OCIRepositoryKind, Key: key, Generation: oci.Generation, Observed: oci.Status.ObservedGeneration, Conditions: oci.Status.Conditions, Artifact: oci.Status.Artifact}, nil
		default:
			return nil, fmt.Errorf("unsupported chartRef kind '%s'; this sandbox controller supports HelmChart and OCIRepository", hr.Spec.ChartRef.Kind)
		}
	}
	if hr.Spec.Chart == nil {
		return nil, fmt.Errorf("HelmRelease has neither spec.chart nor spec.chartRef; set one of them")
	}
	key := helmChartRef(hr)
	var hc sourcev1.HelmChart
	if err := c.Get(ctx, key, &hc); err != nil {
		return nil, err
	}
	return &chartSource{Kind: sourcev1.HelmChartKind, Key: key, Generation: hc.Generation, Observed: hc.Status.ObservedGeneration, Conditions: hc.Status.Conditions, Artifact: hc.Status.Artifact}, nil
}

// ready reports whether the source can be used, with helm-controller's
// message when it cannot.
func (s *chartSource) ready() (bool, string) {
	ready := apimeta.FindStatusCondition(s.Conditions, meta.ReadyCondition)
	stalled := apimeta.FindStatusCondition(s.Conditions, meta.StalledCondition)
	switch {
	case s.Generation != s.Observed:
		msg := "latest generation of object has not been reconciled"
		if ready != nil && ready.Status == metav1.ConditionFalse {
			msg = ready.Message
		}
		return false, fmt.Sprintf("%s '%s' is not ready: %s", s.Kind, s.Key, msg)
	case stalled != nil && stalled.Status == metav1.ConditionTrue:
		return false, fmt.Sprintf("%s '%s' is not ready: %s", s.Kind, s.Key, stalled.Message)
	case s.Artifact == nil:
		return false, fmt.Sprintf("%s '%s' is not ready: does not have an artifact", s.Kind, s.Key)
	}
	return true, ""
}

// ChartLoader fetches and loads the chart an artifact holds.
type ChartLoader interface {
	Load(ctx context.Context, artifact *meta.Artifact) (*chart.Chart, error)
}

// HTTPChartLoader downloads artifacts from source-controller's storage server.
type HTTPChartLoader struct {
	Client *http.Client
}

// Load downloads the artifact tarball, checks it against the artifact digest
// and loads it as a chart.
func (l HTTPChartLoader) Load(ctx context.Context, a *meta.Artifact) (*chart.Chart, error) {
	hc := l.Client
	if hc == nil {
		hc = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("invalid artifact URL %q: %w", a.URL, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("failed to download artifact from %s: %w", a.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, errFileNotFound
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("failed to download artifact from %s: status %s", a.URL, resp.Status)
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("failed to read artifact from %s: %w", a.URL, err)
	}
	if err := verifyDigest(a.Digest, data); err != nil {
		return nil, err
	}
	chrt, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("failed to load chart from artifact %s: %w", a.URL, err)
	}
	return chrt, nil
}

func verifyDigest(want string, data []byte) error {
	algo, hexSum, ok := strings.Cut(want, ":")
	if !ok {
		return fmt.Errorf("artifact digest %q is not of the form <algorithm>:<hex>", want)
	}
	var h hash.Hash
	switch algo {
	case "sha256":
		h = sha256.New()
	case "sha384":
		h = sha512.New384()
	case "sha512":
		h = sha512.New()
	default:
		return fmt.Errorf("artifact digest algorithm %q is not supported; source-controller writes sha256", algo)
	}
	h.Write(data)
	if got := hex.EncodeToString(h.Sum(nil)); got != hexSum {
		return fmt.Errorf("computed digest doesn't match '%s': got '%s:%s'", want, algo, got)
	}
	return nil
}
