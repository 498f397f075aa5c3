package chartsource

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"helm.sh/helm/v3/pkg/chart/loader"
)

// httpClient fetches chart repository indexes and packages; each request
// is bounded by the Lookups' timeout through its context.
var httpClient = &http.Client{}

// fromHelmRepo resolves a chart from an HTTP(S) Helm repository: the index,
// the newest version matching spec.version (a semver range, "*" when
// empty, an exact version first), the package (cached by URL and digest).
func (r *Resolver) fromHelmRepo(ctx context.Context, hrepo *sourcev1.HelmRepository, where string, spec helmv2.HelmChartTemplateSpec) (*Chart, error) {
	id := fmt.Sprintf("HelmRepository %s/%s", hrepo.Namespace, hrepo.Name)
	if hrepo.Spec.SecretRef != nil {
		return nil, unresolvable(nil, "%s needs credentials (secretRef %s), which are not read yet; pass --chart-dir with the chart", id, hrepo.Spec.SecretRef.Name)
	}
	base := strings.TrimSuffix(hrepo.Spec.URL, "/")
	if base == "" {
		return nil, unresolvable(nil, "%s (%s) has no spec.url", id, where)
	}
	root, err := r.cacheDir()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(root, "helm", cacheKey(base))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	v, err := r.lookups().do(ctx, "index|"+base, func(ctx context.Context) (any, error) {
		data, err := get(ctx, base+"/index.yaml")
		if err != nil {
			return nil, unresolvable(err, "fetching the index of %s", id)
		}
		idx, err := parseIndex(data)
		if err != nil {
			return nil, unresolvable(err, "reading the index of %s", id)
		}
		return idx, nil
	})
	if err != nil {
		return nil, err
	}
	idx := v.(*index)
	version := strings.TrimSpace(spec.Version)
	if version == "" {
		version = "*"
	}
	cv, err := idx.get(spec.Chart, version)
	if err != nil {
		return nil, unresolvable(err, "chart %s version %s in %s (%s)", spec.Chart, version, id, base)
	}
	if len(cv.URLs) == 0 {
		return nil, unresolvable(nil, "chart %s %s in %s has no download URL", spec.Chart, cv.Version, id)
	}
	pkgURL, err := resolveURL(base+"/", cv.URLs[0])
	if err != nil {
		return nil, unresolvable(err, "chart %s %s in %s", spec.Chart, cv.Version, id)
	}
	pkg := filepath.Join(dir, fmt.Sprintf("%s-%s-%s.tgz", cv.Name, cv.Version, cacheKey(pkgURL)))
	tgz, err := os.ReadFile(pkg)
	if err != nil || (cv.Digest != "" && digest(tgz) != cv.Digest) {
		v, err := r.lookups().do(ctx, "package|"+pkgURL, func(ctx context.Context) (any, error) {
			return get(ctx, pkgURL)
		})
		if err != nil {
			return nil, unresolvable(err, "downloading chart %s %s from %s", spec.Chart, cv.Version, id)
		}
		tgz = v.([]byte)
		if cv.Digest != "" && digest(tgz) != cv.Digest {
			return nil, unresolvable(nil, "chart %s %s from %s: the package's sha256 %s is not the index's %s", spec.Chart, cv.Version, pkgURL, digest(tgz), cv.Digest)
		}
		if err := writeFileAtomic(pkg, tgz); err != nil {
			return nil, err
		}
	}
	ch, err := loader.LoadArchive(bytes.NewReader(tgz))
	if err != nil {
		return nil, unresolvable(err, "loading chart %s %s from %s", spec.Chart, cv.Version, pkgURL)
	}
	out := &Chart{Chart: ch, From: fmt.Sprintf("%s (%s), chart %s %s", id, base, cv.Name, cv.Version), Revision: cv.Version}
	if err := applyValuesFiles(ch, spec, rawReader(out)); err != nil {
		return nil, err
	}
	return out, nil
}

// rawReader reads valuesFiles of a packaged chart: paths inside the chart.
func rawReader(c *Chart) func(string) ([]byte, bool, error) {
	return func(p string) ([]byte, bool, error) {
		p = cleanPath(p)
		for _, f := range c.Chart.Raw {
			if f.Name == p {
				return f.Data, true, nil
			}
		}
		return nil, false, nil
	}
}

func get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

func resolveURL(base, ref string) (string, error) {
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	r, err := url.Parse(ref)
	if err != nil {
		return "", err
	}
	return b.ResolveReference(r).String(), nil
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
