package promote

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxmodel"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
)

// Kinds of chart source, as HelmRelease sourceRef / chartRef name them.
const (
	kindHelmRepository = "HelmRepository"
	kindGitRepository  = "GitRepository"
	kindOCIRepository  = "OCIRepository"
	kindHelmChart      = "HelmChart"
)

// Ref types: which field pins what an environment runs.
const (
	refVersion = "version" // HelmRelease spec.chart.spec.version or HelmChart spec.version (semver or range)
	refSemver  = "semver"  // GitRepository / OCIRepository spec.ref.semver (range)
	refTag     = "tag"
	refCommit  = "commit"
	refDigest  = "digest"
	refBranch  = "branch"
	refName    = "name"
)

// chartSource is where one environment's HelmRelease gets its chart, and
// the one field that decides which version it runs.
type chartSource struct {
	// Kind is HelmRepository, GitRepository, OCIRepository or HelmChart.
	Kind string `json:"kind"`
	// Name and Namespace of the source object (for HelmRepository: of the
	// HelmRepository the HelmRelease names).
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
	// Chart is the chart name or path in the source ("" for chartRef).
	Chart string `json:"chart,omitempty"`
	// RefType is the field that pins the version (tag, semver, version...).
	RefType string `json:"refType"`
	// Value is that field's value ("" when unset and defaulted by Flux).
	Value string `json:"value"`
	// ReconcileStrategy of a Git or bucket chart (ChartVersion by default).
	ReconcileStrategy string `json:"reconcileStrategy,omitempty"`

	// holder is the object whose document carries the field; keys is the
	// path of the field in it.
	holder *object
	keys   []string
}

// Display is "tag v0.1.3" or "version 1.2.x".
func (s *chartSource) Display() string {
	v := s.Value
	if v == "" {
		v = "(unset)"
	}
	return s.RefType + " " + v
}

// Field is the dotted path of the pinning field in its object.
func (s *chartSource) Field() string { return strings.Join(s.keys, ".") }

// refOrder is the precedence source-controller gives the fields of a
// GitRepository ref (commit wins over name, over semver, over tag, over
// branch) and of an OCIRepository ref (digest over semver over tag).
var (
	gitRefOrder = []string{refCommit, refName, refSemver, refTag, refBranch}
	ociRefOrder = []string{refDigest, refSemver, refTag}
)

// resolveSource reads the chart source of HelmRelease hr in an environment.
func resolveSource(hr *object, v *view, c *fluxmodel.Cluster) (*chartSource, error) {
	hrNS := hr.Namespace
	if ck := scalarAtObj(hr, "spec", "chartRef", "kind"); ck != "" {
		name := scalarAtObj(hr, "spec", "chartRef", "name")
		ns := scalarAtObj(hr, "spec", "chartRef", "namespace")
		if ns == "" {
			ns = hrNS
		}
		switch ck {
		case kindOCIRepository:
			return refSource(kindOCIRepository, name, ns, ociRefOrder, refTag, "latest", v, c)
		case kindHelmChart:
			obj, err := v.source(c, kindHelmChart, name, ns)
			if err != nil {
				return nil, err
			}
			return &chartSource{Kind: kindHelmChart, Name: name, Namespace: obj.Namespace, Chart: scalarAtObj(obj, "spec", "chart"),
				RefType: refVersion, Value: scalarAtObj(obj, "spec", "version"), ReconcileStrategy: scalarAtObj(obj, "spec", "reconcileStrategy"),
				holder: obj, keys: []string{"spec", "version"}}, nil
		}
		return nil, exitcode.Errorf(exitcode.Conflict, "HelmRelease %s uses chartRef kind %s, which promote does not handle (OCIRepository and HelmChart are)", hr.Name, ck)
	}
	kind := scalarAtObj(hr, "spec", "chart", "spec", "sourceRef", "kind")
	name := scalarAtObj(hr, "spec", "chart", "spec", "sourceRef", "name")
	ns := scalarAtObj(hr, "spec", "chart", "spec", "sourceRef", "namespace")
	if ns == "" {
		ns = hrNS
	}
	chart := scalarAtObj(hr, "spec", "chart", "spec", "chart")
	strategy := scalarAtObj(hr, "spec", "chart", "spec", "reconcileStrategy")
	switch kind {
	case kindHelmRepository:
		return &chartSource{Kind: kind, Name: name, Namespace: ns, Chart: chart, RefType: refVersion,
			Value: scalarAtObj(hr, "spec", "chart", "spec", "version"), ReconcileStrategy: strategy,
			holder: hr, keys: []string{"spec", "chart", "spec", "version"}}, nil
	case kindGitRepository:
		s, err := refSource(kindGitRepository, name, ns, gitRefOrder, refBranch, "master", v, c)
		if err != nil {
			return nil, err
		}
		s.Chart, s.ReconcileStrategy = chart, strategy
		if s.ReconcileStrategy == "" {
			s.ReconcileStrategy = "ChartVersion"
		}
		return s, nil
	case "":
		return nil, exitcode.Errorf(exitcode.Conflict, "HelmRelease %s has neither spec.chart.spec.sourceRef nor spec.chartRef in what this environment applies", hr.Name)
	}
	return nil, exitcode.Errorf(exitcode.Conflict, "HelmRelease %s takes its chart from a %s, which promote does not handle (HelmRepository, GitRepository and OCIRepository are)", hr.Name, kind)
}

func scalarAtObj(o *object, keys ...string) string {
	v, ok := o.value(keys...)
	if !ok || v == nil {
		return ""
	}
	switch t := v.(type) {
	case string:
		return t
	case map[string]any, []any:
		return ""
	}
	return fmt.Sprint(v)
}

// refSource reads a source object's spec.ref, taking the field that wins
// by precedence.
func refSource(kind, name, ns string, order []string, defField, defValue string, v *view, c *fluxmodel.Cluster) (*chartSource, error) {
	obj, err := v.source(c, kind, name, ns)
	if err != nil {
		return nil, err
	}
	s := &chartSource{Kind: kind, Name: name, Namespace: obj.Namespace, holder: obj}
	for _, f := range order {
		if v := scalarAtObj(obj, "spec", "ref", f); v != "" {
			s.RefType, s.Value, s.keys = f, v, []string{"spec", "ref", f}
			return s, nil
		}
	}
	// No ref: Flux uses the default (branch master, OCI tag latest).
	s.RefType, s.Value, s.keys = defField, defValue, []string{"spec", "ref", defField}
	return s, nil
}

// isRange reports whether a version string is a range rather than one
// version.
func isRange(v string) bool {
	if v == "" || v == "*" {
		return true
	}
	_, err := semver.StrictNewVersion(strings.TrimPrefix(v, "v"))
	if err == nil {
		return false
	}
	return strings.ContainsAny(v, "<>=~^*xX|, ") || len(strings.Split(strings.TrimPrefix(v, "v"), ".")) < 3
}

// exactVersion parses a tag or version as one semver version ("v1.2.3" and
// "1.2.3" both work); ok is false for ranges and non-semver tags.
func exactVersion(v string) (*semver.Version, bool) {
	if isRange(v) {
		return nil, false
	}
	ver, err := semver.NewVersion(v)
	return ver, err == nil
}

var (
	digestRe = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	commitRe = regexp.MustCompile(`^[0-9a-f]{7,40}$`)
)

// checkValue validates a value for a ref type: what Flux would reject, we
// reject first, before anything is written.
func checkValue(refType, v string) error {
	switch refType {
	case refVersion, refSemver:
		if _, err := semver.NewConstraint(v); err != nil {
			return exitcode.Errorf(exitcode.Usage, "%q is not a valid semver version or range (%v); the %s field needs one, e.g. 1.2.3 or \">=1.2.0 <2.0.0\"", v, err, refType)
		}
	case refTag:
		if isRange(v) && strings.ContainsAny(v, "<>=~^*| ,") {
			return exitcode.Errorf(exitcode.Usage, "%q is a version range, but this environment pins a tag: give the exact tag (e.g. v1.2.3)", v)
		}
		if strings.ContainsAny(v, " \t\n~^:?*[\\") {
			return exitcode.Errorf(exitcode.Usage, "%q is not a valid Git or OCI tag", v)
		}
	case refDigest:
		if !digestRe.MatchString(v) {
			return exitcode.Errorf(exitcode.Usage, "%q is not a digest: this environment pins an OCI digest, give sha256:<64 hex>", v)
		}
	case refCommit:
		if !commitRe.MatchString(v) {
			return exitcode.Errorf(exitcode.Usage, "%q is not a commit hash: this environment pins a commit, give 7 to 40 hex digits", v)
		}
	}
	return nil
}

// target computes the value the target environment should get, and
// refuses what cannot be promoted safely.
func target(from, to *chartSource, fromEnv, toEnv, explicit string, allowDowngrade bool) (string, []string, error) {
	var notes []string
	if from.Kind != to.Kind {
		return "", nil, exitcode.Errorf(exitcode.Conflict,
			"%s takes the chart from a %s and %s from a %s: promote only moves versions between sources of the same kind; align the sources first",
			fromEnv, from.Kind, toEnv, to.Kind)
	}
	v := explicit
	if v == "" {
		sameKind := from.RefType == to.RefType ||
			(from.RefType == refVersion && to.RefType == refSemver) || (from.RefType == refSemver && to.RefType == refVersion)
		if !sameKind {
			return "", nil, exitcode.Errorf(exitcode.Conflict,
				"%s pins its %s by %s and %s by %s: give the %s for %s with --version",
				fromEnv, from.Kind, from.RefType, toEnv, to.RefType, to.RefType, toEnv)
		}
		v = from.Value
		if (to.RefType == refVersion || to.RefType == refSemver) && isRange(v) && !isRange(to.Value) {
			return "", nil, exitcode.Errorf(exitcode.Usage,
				"%s's %s is the range %q but %s pins the exact version %s: give the exact version to promote with --version",
				fromEnv, from.RefType, v, toEnv, to.Value)
		}
	}
	if err := checkValue(to.RefType, v); err != nil {
		return "", nil, err
	}
	if to.Kind == kindGitRepository && to.RefType == refBranch {
		notes = append(notes, fmt.Sprintf("%s follows branch %s: it will run whatever that branch holds, not a fixed version", toEnv, v))
	}
	cur, curOK := exactVersion(to.Value)
	next, nextOK := exactVersion(v)
	switch {
	case curOK && nextOK && next.LessThan(cur) && !allowDowngrade:
		return "", nil, exitcode.Errorf(exitcode.Conflict,
			"%s would go down from %s to %s: pass --allow-downgrade if that is what you want", toEnv, to.Value, v)
	case curOK && nextOK && next.LessThan(cur):
		notes = append(notes, fmt.Sprintf("downgrading %s from %s to %s (--allow-downgrade)", toEnv, to.Value, v))
	case to.RefType == refCommit || to.RefType == refDigest:
		notes = append(notes, fmt.Sprintf("%s pins a %s: promote cannot tell whether %s is older than %s", toEnv, to.RefType, shortRef(v), shortRef(to.Value)))
	}
	return v, notes, nil
}

func shortRef(v string) string { return gitrepo.Short(strings.TrimPrefix(v, "sha256:")) }
