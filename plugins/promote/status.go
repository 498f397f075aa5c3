package promote

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/kubectl-gitops/kubectl-gitops/internal/exitcode"
	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxmodel"
	"github.com/kubectl-gitops/kubectl-gitops/internal/forge"
	"github.com/kubectl-gitops/kubectl-gitops/internal/kube"
	"github.com/kubectl-gitops/kubectl-gitops/internal/printer"
	"github.com/kubectl-gitops/kubectl-gitops/internal/suggest"
	"github.com/kubectl-gitops/kubectl-gitops/internal/term"
	"github.com/kubectl-gitops/kubectl-gitops/plugins/command"
)

// statusReport is the matrix of --status, and its -o json|yaml form.
type statusReport struct {
	Environments     []string        `json:"environments"`
	EnvironmentsFrom string          `json:"environmentsFrom"`
	HelmReleases     []releaseStatus `json:"helmReleases"`

	// Errors are the builds that failed, each naming its file and line.
	Errors []statusError `json:"errors,omitempty"`

	// forge is the kind of forge the open requests come from.
	forge forge.Kind
	// broken counts releases that do not build.
	broken int
}

// statusError is a cluster (or a Kustomization of it) that does not build.
type statusError struct {
	Environment string `json:"environment"`
	Error       string `json:"error"`
}

type releaseStatus struct {
	Name string `json:"name"`
	// Drift is true when some environment's version or values differ from
	// the environment before it.
	Drift        bool        `json:"drift"`
	Environments []envStatus `json:"environments"`
}

type envStatus struct {
	Environment string       `json:"environment"`
	Present     bool         `json:"present"`
	Namespace   string       `json:"namespace,omitempty"`
	Source      *chartSource `json:"source,omitempty"`
	// Values are the spec.values leaves (dotted keys) that are not the
	// same in every environment; "" value means unset here.
	Values map[string]string `json:"values,omitempty"`
	// VersionDrift: the version differs from the previous environment that
	// has this HelmRelease. ValuesDrift lists the keys that do.
	VersionDrift bool     `json:"versionDrift,omitempty"`
	ValuesDrift  []string `json:"valuesDrift,omitempty"`
	Error        string   `json:"error,omitempty"`
	// OpenRequests are the forge's open pull/merge requests that promote
	// (or override) opened for this release and environment.
	OpenRequests []forge.PullRequest `json:"openRequests,omitempty"`

	allValues map[string]string
}

// StatusOptions are the flags of `promote status`.
type StatusOptions struct {
	// Repo is a directory inside the GitOps checkout (default ".").
	Repo   string
	Output string
}

// statusConfig is one run of `promote status` (or `promote --status`),
// settled before it runs.
type statusConfig struct {
	genericiooptions.IOStreams
	Repo, Output string
	// Release is the one HelmRelease to show ("" = all); Namespace narrows
	// it (-n).
	Release, Namespace string
	// Remote and Forge pick the forge whose open requests are listed:
	// promote --status's --remote, --forge, --forge-url and
	// --forge-token-env; empty from the subcommand (detected).
	Remote string
	Forge  forge.Flags
	getenv func(string) string
	color  bool
	// httpClient talks to the forge; nil is a plain one.
	httpClient *http.Client
}

// Complete settles the config: the HELMRELEASE argument, -n, and the
// factory's environment.
func (o *StatusOptions) Complete(_ context.Context, in command.Inputs, args []string) (statusConfig, error) {
	c := statusConfig{IOStreams: in.Streams, Repo: o.Repo, Output: o.Output, getenv: in.Getenv()}
	if len(args) == 1 {
		c.Release = args[0]
	}
	c.Namespace = namespaceFlag(in.Factory)
	c.color = term.Color(c.Out, c.getenv)
	return c, nil
}

// namespaceFlag is -n as given ("" when not).
func namespaceFlag(f kube.Factory) string {
	if f == nil {
		return ""
	}
	if fl := f.Flags(); fl != nil && fl.Namespace != nil {
		return *fl.Namespace
	}
	return ""
}

// Validate checks -o and the forge flags (of the --status alias).
func (c statusConfig) Validate() error {
	if err := printer.Check(c.Output, ""); err != nil {
		return err
	}
	return c.Forge.ValidateTarget()
}

// Run prints the matrix; it exits with an error when something does not
// build.
func (c statusConfig) Run(ctx context.Context) error {
	w, err := openWorkspace(ctx, c.Repo, c.ErrOut, true)
	if err != nil {
		return err
	}
	rep, err := buildStatus(w, c.Release, c.Namespace)
	if err != nil {
		return err
	}
	c.addOpenRequests(ctx, w.repo, rep)
	if done, err := printer.Print(c.Out, c.Output, rep); done {
		if err != nil {
			return err
		}
		return rep.problem()
	}
	if err := printStatus(c.Out, rep, c.color); err != nil {
		return err
	}
	if err := printOpenRequests(c.Out, rep); err != nil {
		return err
	}
	return rep.problem()
}

func buildStatus(w *workspace, only, ns string) (*statusReport, error) {
	rep := &statusReport{Environments: w.cfg.Names(), EnvironmentsFrom: w.cfg.Source}
	clusters := make([]*fluxmodel.Cluster, len(w.cfg.Environments))
	all := map[string]bool{}
	for i := range w.cfg.Environments {
		env := &w.cfg.Environments[i]
		c, err := w.view.cluster(env)
		if err != nil {
			return nil, err
		}
		clusters[i] = c
		for _, r := range c.Releases {
			if ns == "" || r.Namespace == ns {
				all[r.Name] = true
			}
		}
		// What does not build is a row of its own, naming the file: the
		// releases it holds are missing from the rest.
		for _, e := range c.Errors {
			rep.Errors = append(rep.Errors, statusError{Environment: env.Name, Error: e.Error()})
		}
	}
	if only != "" && !all[only] {
		var cands []string
		for n := range all {
			cands = append(cands, n)
		}
		msg := fmt.Sprintf("HelmRelease %s not found in any environment (%s)", only, strings.Join(rep.Environments, ", "))
		if s := suggest.Closest(only, cands); s != "" {
			msg += "; did you mean " + s + "?"
		}
		if len(rep.Errors) > 0 {
			return nil, exitcode.Errorf(exitcode.Failed, "%s; and some environments do not build in full: %s", msg, rep.Errors[0].Error)
		}
		return nil, exitcode.Errorf(exitcode.NotFound, "%s", msg)
	}
	namesSorted := make([]string, 0, len(all))
	for n := range all {
		if only == "" || n == only {
			namesSorted = append(namesSorted, n)
		}
	}
	sort.Strings(namesSorted)
	for _, name := range namesSorted {
		for _, rowNS := range w.rowNamespaces(clusters, name, ns) {
			rep.HelmReleases = append(rep.HelmReleases, w.releaseRow(rep, clusters, name, rowNS))
		}
	}
	return rep, nil
}

// rowNamespaces are the namespaces of name's rows: ns (any, when "") for
// one row, unless an environment applies name in more than one namespace
// that its own namespace does not settle (a hub cluster holding one
// HelmRelease per spoke, each in the spoke's namespace, as Flux's
// hub-and-spoke example does): then a row per namespace, each read as
// with -n.
func (w *workspace) rowNamespaces(clusters []*fluxmodel.Cluster, name, ns string) []string {
	if ns != "" {
		return []string{ns}
	}
	split := false
	set := map[string]bool{}
	for i, c := range clusters {
		split = split || len(applied(&w.cfg.Environments[i], c, name, "")) > 1
		for _, r := range c.Find("", name) {
			set[r.Namespace] = true
		}
	}
	if !split {
		return []string{""}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// releaseRow is the status of release name (in namespace ns, "" for any)
// in every environment.
func (w *workspace) releaseRow(rep *statusReport, clusters []*fluxmodel.Cluster, name, ns string) releaseStatus {
	rs := releaseStatus{Name: name}
	for i := range w.cfg.Environments {
		env := &w.cfg.Environments[i]
		es := envStatus{Environment: env.Name}
		rels := clusters[i].Find(ns, name)
		if len(rels) == 0 {
			rs.Environments = append(rs.Environments, es)
			continue
		}
		es.Present = true
		hr, c, err := w.release(env, name, ns)
		if err != nil {
			es.Error = err.Error()
			es.Namespace = rels[0].Namespace
			if rels[0].Err != nil {
				rep.broken++
			}
			rs.Environments = append(rs.Environments, es)
			continue
		}
		es.Namespace = hr.Namespace
		src, err := resolveSource(hr, w.view, c)
		if err != nil {
			es.Error = err.Error()
		}
		es.Source = src
		es.allValues = flattenValues(hr)
		rs.Environments = append(rs.Environments, es)
	}
	markDrift(&rs)
	return rs
}

// problem is the error status exits with when a cluster or release does
// not build: the rows say which file and line.
func (rep *statusReport) problem() error {
	if n := len(rep.Errors) + rep.broken; n > 0 {
		return exitcode.Errorf(exitcode.Failed, "%d build error(s) in the repository (see the error rows): fix them for a full status", n)
	}
	return nil
}

// markDrift compares each environment with the previous one that has the
// release, and keeps only the values that are not the same everywhere.
func markDrift(rs *releaseStatus) {
	keys := map[string]bool{}
	for _, es := range rs.Environments {
		for k := range es.allValues {
			keys[k] = true
		}
	}
	differing := map[string]bool{}
	for k := range keys {
		first, seen := "", false
		for _, es := range rs.Environments {
			if !es.Present {
				continue
			}
			v := es.allValues[k]
			if seen && v != first {
				differing[k] = true
				break
			}
			first, seen = v, true
		}
	}
	var prev *envStatus
	for i := range rs.Environments {
		es := &rs.Environments[i]
		if !es.Present {
			continue
		}
		if len(differing) > 0 {
			es.Values = map[string]string{}
			for k := range differing {
				es.Values[k] = es.allValues[k]
			}
		}
		if prev != nil {
			if es.Source != nil && prev.Source != nil && (es.Source.Kind != prev.Source.Kind || es.Source.Display() != prev.Source.Display()) {
				es.VersionDrift = true
			}
			for k := range differing {
				if es.allValues[k] != prev.allValues[k] {
					es.ValuesDrift = append(es.ValuesDrift, k)
				}
			}
			sort.Strings(es.ValuesDrift)
			if es.VersionDrift || len(es.ValuesDrift) > 0 {
				rs.Drift = true
			}
		}
		prev = es
	}
}

// flattenValues turns the applied spec.values of hr (the model's,
// patches merged) into dotted leaves.
func flattenValues(hr *object) map[string]string {
	out := map[string]string{}
	v, ok := hr.value("spec", "values")
	if !ok || v == nil {
		return out
	}
	var n yaml.Node
	if err := n.Encode(v); err != nil {
		return out
	}
	for _, op := range flatten("", &n, nil) {
		if op.del {
			delete(out, op.key)
		} else {
			out[op.key] = op.value
		}
	}
	return out
}

// valueOp is one step of turning values into leaves: delete key, or set
// it to value.
type valueOp struct {
	key, value string
	del        bool
}

// flatten appends the ops that merge n, at prefix, into leaves.
func flatten(prefix string, n *yaml.Node, ops []valueOp) []valueOp {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if prefix != "" {
				k = prefix + "." + k
			}
			// A map replaces what a lower layer had at a leaf.
			ops = append(ops, valueOp{key: k, del: true})
			ops = flatten(k, n.Content[i+1], ops)
		}
	case yaml.SequenceNode:
		// Lists are replaced whole by a patch, so compare them whole, as
		// one line of JSON a user can paste (YAML reads it too).
		var v any
		text := ""
		if err := n.Decode(&v); err == nil {
			text = printer.Inline(v)
		} else {
			b, _ := yaml.Marshal(n)
			text = strings.TrimSpace(string(b))
		}
		ops = append(ops, valueOp{key: prefix, value: text})
	case yaml.AliasNode:
		if n.Alias != nil {
			ops = flatten(prefix, n.Alias, ops)
		}
	default:
		ops = append(ops, valueOp{key: prefix, value: n.Value})
	}
	return ops
}

// cellValue is a value on one line of the matrix: a multi-line string
// (a config file in values) shows its first line and how many follow,
// not escaped newlines; -o json and -o yaml have it whole.
func cellValue(v string) string {
	first, rest, multi := strings.Cut(strings.TrimRight(v, "\n"), "\n")
	if !multi {
		return v
	}
	return fmt.Sprintf("%s … (+%d lines)", first, strings.Count(rest, "\n")+1)
}

// maxValuesShown keeps the text matrix readable; -o json has them all.
const maxValuesShown = 4

func printStatus(w io.Writer, rep *statusReport, color bool) error {
	type cell struct {
		text  string
		drift bool
	}
	rows := [][]cell{{{text: "HELMRELEASE"}, {text: "ENVIRONMENT"}, {text: "NAMESPACE"}, {text: "SOURCE"}, {text: "VERSION"}, {text: "VALUES"}}}
	anyDrift := false
	for _, rs := range rep.HelmReleases {
		for i, es := range rs.Environments {
			name := ""
			if i == 0 {
				name = rs.Name
			}
			r := []cell{{text: name}, {text: es.Environment}}
			switch {
			case !es.Present:
				r = append(r, cell{text: "-"}, cell{text: "-"}, cell{text: "(not in this environment)"}, cell{})
			case es.Source == nil:
				r = append(r, cell{text: orDash(es.Namespace)}, cell{text: "?"}, cell{text: "error: " + es.Error}, cell{})
			default:
				src := es.Source.Kind + "/" + es.Source.Name
				ver := es.Source.Display()
				if es.VersionDrift {
					ver += " *"
					anyDrift = true
				}
				var vals []string
				keys := make([]string, 0, len(es.Values))
				for k := range es.Values {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				drifted := map[string]bool{}
				for _, k := range es.ValuesDrift {
					drifted[k] = true
				}
				for i, k := range keys {
					if i == maxValuesShown {
						vals = append(vals, fmt.Sprintf("(+%d more)", len(keys)-i))
						break
					}
					v := es.Values[k]
					if v == "" {
						v = "(unset)"
					}
					s := k + "=" + cellValue(v)
					if drifted[k] {
						s += " *"
						anyDrift = true
					}
					vals = append(vals, s)
				}
				r = append(r, cell{text: orDash(es.Namespace)}, cell{text: src}, cell{text: ver, drift: es.VersionDrift},
					cell{text: strings.Join(vals, ", "), drift: len(es.ValuesDrift) > 0})
			}
			rows = append(rows, r)
		}
	}
	for _, e := range rep.Errors {
		rows = append(rows, []cell{{text: "(build)"}, {text: e.Environment}, {text: "-"}, {text: "?"}, {text: "?"}, {text: "error: " + e.Error}})
	}
	widths := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], len([]rune(c.text)))
		}
	}
	var b strings.Builder
	for _, r := range rows {
		var line strings.Builder
		for i, c := range r {
			text := c.text
			if i < len(r)-1 {
				text += strings.Repeat(" ", widths[i]-len([]rune(c.text))+2)
			}
			if c.drift {
				// Paint the text, not the padding, so columns stay aligned.
				text = term.Paint(color, term.Yellow, c.text) + text[len(c.text):]
			}
			line.WriteString(text)
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
	}
	if anyDrift {
		b.WriteString("* differs from the environment before it\n")
	}
	if len(rep.HelmReleases)+len(rep.Errors) == 0 {
		b.Reset()
		fmt.Fprintf(&b, "No HelmReleases in %s.\n", strings.Join(rep.Environments, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
