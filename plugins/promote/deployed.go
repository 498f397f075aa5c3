package promote

import (
	"context"
	"fmt"
	"strings"

	"github.com/Masterminds/semver/v3"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/kubectl-gitops/kubectl-gitops/internal/envs"
	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxstatus"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kube"
)

// deployChecker answers --require-deployed: does env's cluster run
// HelmRelease namespace/name from src, Ready?
type deployChecker interface {
	Check(ctx context.Context, env *envs.Environment, name, namespace string, src *chartSource) error
}

var (
	gvrHelmRelease = schema.GroupVersionResource{Group: helmGroup, Version: "v2", Resource: "helmreleases"}
	gvrHelmChart   = schema.GroupVersionResource{Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "helmcharts"}
	gvrGitRepo     = schema.GroupVersionResource{Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "gitrepositories"}
	gvrOCIRepo     = schema.GroupVersionResource{Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "ocirepositories"}
)

// clusterChecker reads the Flux objects of the source environment's
// cluster (its kube context from .gitops.yaml, else the current one).
type clusterChecker struct {
	factory kube.Factory
	// client, when set, is used instead of building one (tests).
	client dynamic.Interface
}

func (c *clusterChecker) dynamicFor(env *envs.Environment) (dynamic.Interface, kube.Factory, error) {
	if c.client != nil {
		return c.client, c.factory, nil
	}
	// The shared factory for the environment's context: every kubeconfig and auth flag of the command
	// line (--user, --client-certificate, --token, --as, ...) and the raised rate limits apply to it.
	f := kube.ForContext(c.factory, env.Context)
	dc, err := f.Dynamic()
	if err != nil && env.Context != "" {
		return nil, nil, fmt.Errorf("environment %s: loading kube context %s: %w (fix context: in .gitops.yaml or your kubeconfig)", env.Name, env.Context, err)
	}
	return dc, f, err
}

func (c *clusterChecker) Check(ctx context.Context, env *envs.Environment, name, namespace string, src *chartSource) error {
	dc, f, err := c.dynamicFor(env)
	if err != nil {
		return err
	}
	if namespace == "" && f != nil {
		namespace, _, _ = f.Namespace()
	}
	where := fmt.Sprintf("environment %s", env.Name)
	if env.Context != "" && c.client == nil {
		where += " (context " + env.Context + ")"
	}
	refuse := func(format string, args ...any) error {
		return exitcode.Errorf(exitcode.Failed, "refusing to promote: in %s, %s; promote without --require-deployed to skip this check",
			where, fmt.Sprintf(format, args...))
	}
	// The HelmRelease side (deployed, Ready for its generation, Deployments
	// rolled out) is trace's status model; the source side below is what
	// only promote needs.
	key := types.NamespacedName{Namespace: namespace, Name: name}
	fc, err := fluxstatus.FetchRelease(ctx, dc, key)
	if err != nil {
		return fmt.Errorf("reading HelmRelease %s in %s: %w", key, where, err)
	}
	want := ""
	if v, ok := exactVersion(src.Value); ok && (src.Kind == kindHelmRepository || src.Kind == kindHelmChart) {
		want = v.Original()
	}
	st := fluxstatus.ReleaseStatus(fc, key, want)
	switch {
	case !st.Found && st.State == fluxstatus.Forbidden:
		return exitcode.Errorf(exitcode.Failed, "cannot check %s: reading HelmRelease %s is forbidden (%s); promote without --require-deployed or get read access", where, key, st.Message)
	case !st.Found:
		return refuse("HelmRelease %s does not exist", key)
	case fc.HelmReleases[0].Status.ObservedGeneration < fc.HelmReleases[0].Generation:
		return refuse("HelmRelease %s has not reconciled its latest spec yet (generation %d, observed %d)", key,
			fc.HelmReleases[0].Generation, fc.HelmReleases[0].Status.ObservedGeneration)
	case st.ChartVersion == "":
		return refuse("HelmRelease %s has no deployed Helm release (%s: %s)", key, orNA(st.Reason), orNA(st.Message))
	case !st.Deployed:
		return refuse("HelmRelease %s runs chart version %s, not %s", key, st.ChartVersion, want)
	case st.State != fluxstatus.Done:
		return refuse("HelmRelease %s is not Ready (%s: %s)", key, orNA(st.Reason), orNA(st.Message))
	}
	chartVersion := st.ChartVersion
	hcRef := fc.HelmReleases[0].Status.HelmChart

	switch src.Kind {
	case kindHelmRepository, kindHelmChart:
		if !versionMatches(src.Value, chartVersion) {
			return refuse("%s/%s runs chart version %s, not %s", namespace, name, chartVersion, src.Value)
		}
	case kindGitRepository, kindOCIRepository:
		gvr := gvrGitRepo
		if src.Kind == kindOCIRepository {
			gvr = gvrOCIRepo
		}
		srcNS := src.Namespace
		if srcNS == "" {
			srcNS = namespace
		}
		obj, err := dc.Resource(gvr).Namespace(srcNS).Get(ctx, src.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return refuse("%s %s/%s does not exist", src.Kind, srcNS, src.Name)
		}
		if err != nil {
			return fmt.Errorf("reading %s %s/%s in %s: %w", src.Kind, srcNS, src.Name, where, err)
		}
		rev, _, _ := unstructured.NestedString(obj.Object, "status", "artifact", "revision")
		if !revisionMatches(src.RefType, src.Value, rev) {
			if rev == "" {
				rev = "nothing yet"
			}
			return refuse("%s %s/%s has fetched %s, not %s %s", src.Kind, srcNS, src.Name, rev, src.RefType, src.Value)
		}
		if src.Kind == kindGitRepository {
			// The chart deployed must be the one built from that revision:
			// with the ChartVersion strategy a new commit may build nothing.
			hcNS, hcName, ok := strings.Cut(hcRef, "/")
			if !ok {
				return refuse("HelmRelease %s/%s does not name its HelmChart yet", namespace, name)
			}
			hc, err := dc.Resource(gvrHelmChart).Namespace(hcNS).Get(ctx, hcName, metav1.GetOptions{})
			if err != nil {
				return refuse("reading HelmChart %s: %v", hcRef, err)
			}
			observed, _, _ := unstructured.NestedString(hc.Object, "status", "observedSourceArtifactRevision")
			built, _, _ := unstructured.NestedString(hc.Object, "status", "artifact", "revision")
			if observed != rev {
				return refuse("HelmChart %s has not built from %s yet (it last saw %s)", hcRef, rev, observed)
			}
			if built != chartVersion {
				return refuse("HelmChart %s built chart %s from %s but %s/%s runs %s", hcRef, built, rev, namespace, name, chartVersion)
			}
		}
	}
	return nil
}

func orNA(s string) string {
	if s == "" {
		return "no details"
	}
	return s
}

// versionMatches reports whether a deployed chart version satisfies a
// version field (exact or range). "+<commit>" build metadata is ignored for
// exact versions, as Flux's Revision strategy adds it.
func versionMatches(want, got string) bool {
	if want == "" || want == "*" {
		return got != ""
	}
	gv, err := semver.NewVersion(got)
	if err != nil {
		return false
	}
	if wv, ok := exactVersion(want); ok {
		return wv.Equal(gv)
	}
	c, err := semver.NewConstraint(want)
	return err == nil && c.Check(gv)
}

// revisionMatches compares a source's artifact revision
// ("v0.1.3@sha1:<hex>", "sha1:<hex>", "latest@sha256:<hex>") with a ref.
func revisionMatches(refType, want, rev string) bool {
	if rev == "" {
		return false
	}
	name, digest, hasAt := strings.Cut(rev, "@")
	if !hasAt {
		name, digest = "", rev
	}
	_, hash, _ := strings.Cut(digest, ":")
	switch refType {
	case refTag, refBranch, refName:
		return name == want || strings.TrimPrefix(name, "refs/heads/") == want || strings.TrimPrefix(name, "refs/tags/") == want
	case refCommit:
		return strings.HasPrefix(hash, want)
	case refDigest:
		return digest == want
	case refSemver:
		v, err := semver.NewVersion(name)
		c, cerr := semver.NewConstraint(want)
		return err == nil && cerr == nil && c.Check(v)
	}
	return false
}
