package chartsource

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/Masterminds/semver/v3"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/registry"
)

// ociPull pulls the chart at repo (host/path, no scheme) with Helm's
// registry client: the tag, the digest, or the highest tag matching the
// semver range (exact tag first; "*" when all are empty), as
// source-controller picks it. Credentials are Helm's (`helm registry
// login`). Helm's client takes no context: every request it makes carries
// ctx through the transport, so that cancelling ctx (a signal, the
// look-up's timeout) aborts it.
func ociPull(ctx context.Context, repo string, plainHTTP bool, tag, digest, semverRange string) (*ociResult, error) {
	opts := []registry.ClientOption{registry.ClientOptHTTPClient(&http.Client{Transport: ctxTransport{ctx, http.DefaultTransport}})}
	if plainHTTP {
		opts = append(opts, registry.ClientOptPlainHTTP())
	}
	client, err := registry.NewClient(opts...)
	if err != nil {
		return nil, err
	}
	ref := ""
	switch {
	case digest != "":
		ref = repo + "@" + digest
	case tag != "" && semverRange == "":
		ref = repo + ":" + tag
	default:
		if semverRange == "" {
			semverRange = "*"
		}
		c, err := semver.NewConstraint(semverRange)
		if err != nil {
			return nil, fmt.Errorf("version %q is not a semver range: %w", semverRange, err)
		}
		tags, err := client.Tags(repo)
		if err != nil {
			return nil, fmt.Errorf("listing the tags of %s: %w", repo, err)
		}
		for _, t := range tags { // highest first
			if t == semverRange {
				ref = repo + ":" + t
				break
			}
		}
		for _, t := range tags {
			if v, err := semver.NewVersion(t); ref == "" && err == nil && c.Check(v) {
				ref = repo + ":" + t
			}
		}
		if ref == "" {
			return nil, fmt.Errorf("no tag of %s matches %q (tags: %s)", repo, semverRange, strings.Join(tags, ", "))
		}
	}
	res, err := client.Pull(ref)
	if err != nil {
		return nil, fmt.Errorf("pulling %s: %w", ref, err)
	}
	return &ociResult{ref: ref, data: res.Chart.Data, digest: res.Manifest.Digest}, nil
}

// ctxTransport sends each request with ctx in place of the context its
// maker gave it (Helm's registry client gives context.Background()).
type ctxTransport struct {
	ctx  context.Context
	base http.RoundTripper
}

func (t ctxTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.base.RoundTrip(req.WithContext(t.ctx))
}

// ociResult is a pulled chart archive, kept for the run: each release
// loads its own copy (valuesFiles replace a chart's values).
type ociResult struct {
	ref, digest string
	data        []byte
}

// pullOnce is ociPull, remembered for the run (failures too).
func (r *Resolver) pullOnce(ctx context.Context, repo string, plainHTTP bool, tag, digest, semverRange string) (*Chart, error) {
	l := r.lookups()
	key := fmt.Sprintf("oci|%s|%t|%s|%s|%s", repo, plainHTTP, tag, digest, semverRange)
	v, err := l.do(ctx, key, func(ctx context.Context) (any, error) {
		return ociPull(ctx, repo, plainHTTP, tag, digest, semverRange)
	})
	if err != nil {
		return nil, err
	}
	res := v.(*ociResult)
	ch, err := loader.LoadArchive(bytes.NewReader(res.data))
	if err != nil {
		return nil, fmt.Errorf("loading the chart pulled from %s: %w", res.ref, err)
	}
	return &Chart{Chart: ch, From: "oci://" + res.ref, Revision: ch.Metadata.Version + "@" + res.digest}, nil
}

// fromOCIHelmRepo resolves spec.chart from a HelmRepository of type oci.
func (r *Resolver) fromOCIHelmRepo(ctx context.Context, hrepo *sourcev1.HelmRepository, where, chartName, version string) (*Chart, error) {
	id := fmt.Sprintf("HelmRepository %s/%s", hrepo.Namespace, hrepo.Name)
	base, ok := strings.CutPrefix(hrepo.Spec.URL, "oci://")
	if !ok {
		return nil, unresolvable(nil, "%s (%s) is of type oci but its url %q does not start with oci://", id, where, hrepo.Spec.URL)
	}
	if hrepo.Spec.SecretRef != nil {
		return nil, unresolvable(nil, "%s needs credentials (secretRef %s), which are not read; pass --chart-dir with the chart", id, hrepo.Spec.SecretRef.Name)
	}
	tag, rng := "", version
	if _, err := semver.StrictNewVersion(version); err == nil {
		tag, rng = version, ""
	}
	ch, err := r.pullOnce(ctx, strings.TrimSuffix(base, "/")+"/"+chartName, hrepo.Spec.Insecure, tag, "", rng)
	if err != nil {
		return nil, unresolvable(err, "chart %s from %s", chartName, id)
	}
	ch.From = fmt.Sprintf("%s (%s), chart %s", id, ch.From, ch.Chart.Metadata.Version)
	return ch, nil
}

// fromOCIRepository resolves spec.chartRef: OCIRepository.
func (r *Resolver) fromOCIRepository(ctx context.Context, repo *sourcev1.OCIRepository, where string) (*Chart, error) {
	id := fmt.Sprintf("OCIRepository %s/%s", repo.Namespace, repo.Name)
	base, ok := strings.CutPrefix(repo.Spec.URL, "oci://")
	if !ok {
		return nil, unresolvable(nil, "%s (%s): url %q does not start with oci://", id, where, repo.Spec.URL)
	}
	if repo.Spec.SecretRef != nil {
		return nil, unresolvable(nil, "%s needs credentials (secretRef %s), which are not read; pass --chart-dir with the chart", id, repo.Spec.SecretRef.Name)
	}
	var tag, digest, rng string
	if ref := repo.Spec.Reference; ref != nil {
		tag, digest, rng = ref.Tag, ref.Digest, ref.SemVer
	}
	if tag == "" && digest == "" && rng == "" {
		tag = "latest"
	}
	ch, err := r.pullOnce(ctx, base, repo.Spec.Insecure, tag, digest, rng)
	if err != nil {
		return nil, unresolvable(err, "%s", id)
	}
	ch.From = fmt.Sprintf("%s (%s)", id, ch.From)
	return ch, nil
}

func (r *Resolver) resolveChartRef(ctx context.Context, kind, name, ns string) (*Chart, error) {
	if kind != KindOCIRepository {
		return nil, unresolvable(nil, "spec.chartRef %s %s is not resolved (only OCIRepository)", kind, name)
	}
	var repo sourcev1.OCIRepository
	where, err := r.sourceObject(ctx, kind, name, ns, &repo)
	if err != nil {
		return nil, err
	}
	if repo.Namespace == "" {
		repo.Namespace = ns
	}
	return r.fromOCIRepository(ctx, &repo, where)
}
