package validate

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
)

// Values checks values (user values; the chart's defaults are coalesced in
// as Helm does) against the values.schema.json of the chart and of its
// subcharts, as Helm's chartutil.ValidateAgainstSchema does, with the same
// validation library (santhosh-tekuri/jsonschema), whose structured errors
// give each problem's Field: the dotted values path
// (resources.limits.memory), "" when the problem is not at one value.
func Values(ch *chart.Chart, values map[string]any) ([]Problem, error) {
	if !hasSchema(ch) {
		return nil, nil
	}
	coalesced, err := chartutil.CoalesceValues(ch, values)
	if err != nil {
		return nil, err
	}
	return chartProblems(ch, coalesced, nil), nil
}

func hasSchema(ch *chart.Chart) bool {
	if ch.Schema != nil {
		return true
	}
	for _, d := range ch.Dependencies() {
		if hasSchema(d) {
			return true
		}
	}
	return false
}

// chartProblems validates values against ch's schema, then each
// subchart's values (under the subchart's name) against its own, as Helm
// does. under is where ch's values live in the top chart's values.
func chartProblems(ch *chart.Chart, values map[string]any, under []string) []Problem {
	var out []Problem
	if ch.Schema != nil {
		out = append(out, schemaProblems(ch.Schema, values, under, ch.Name())...)
	}
	for _, sub := range ch.Dependencies() {
		raw, ok := values[sub.Name()]
		if !ok || raw == nil {
			continue
		}
		path := append(append([]string{}, under...), sub.Name())
		m, ok := raw.(map[string]any)
		if !ok {
			out = append(out, Problem{Field: strings.Join(path, "."), Message: withChart(sub.Name(), fmt.Sprintf("invalid type for values: expected object (map), got %T", raw))})
			continue
		}
		out = append(out, chartProblems(sub, m, path)...)
	}
	return out
}

// printer words the library's errors as its own Error() does.
var printer = message.NewPrinter(language.English)

// schemaProblems validates values against one values.schema.json.
func schemaProblems(schemaJSON []byte, values map[string]any, under []string, chartName string) (out []Problem) {
	defer func() {
		if r := recover(); r != nil {
			out = []Problem{{Message: withChart(chartName, fmt.Sprintf("unable to validate schema: %v", r))}}
		}
	}()
	v, err := compile(schemaJSON)
	if err != nil {
		return []Problem{{Message: withChart(chartName, err.Error())}}
	}
	err = v.Validate(map[string]any(values))
	if err == nil {
		return nil
	}
	verr, ok := err.(*jsonschema.ValidationError)
	if !ok {
		return []Problem{{Message: withChart(chartName, err.Error())}}
	}
	walk(verr, true, func(e *jsonschema.ValidationError) {
		if _, ok := e.ErrorKind.(*kind.Schema); ok {
			// A referenced schema that failed: its causes say why.
			out = append(out, Problem{Message: withChart(chartName, e.ErrorKind.LocalizedString(printer))})
			return
		}
		path := append(append([]string{}, under...), e.InstanceLocation...)
		out = append(out, Problem{Field: strings.Join(path, "."), Message: withChart(chartName, e.ErrorKind.LocalizedString(printer))})
	})
	return out
}

// walk visits the errors of the tree in the library's own order, leaving
// out the root (the "validation failed" line Helm drops too) and
// references that only lead to one cause.
func walk(e *jsonschema.ValidationError, root bool, visit func(*jsonschema.ValidationError)) {
	_, ref := e.ErrorKind.(*kind.Reference)
	if !root && !(ref && len(e.Causes) == 1) {
		visit(e)
	}
	for _, c := range e.Causes {
		walk(c, false, visit)
	}
}

// compile compiles a values.schema.json with the loaders Helm uses: files,
// http(s) $refs, and urn: refs accepted as permissive.
func compile(schemaJSON []byte) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, err
	}
	web := httpLoader{Timeout: 15 * time.Second, Transport: &http.Transport{Proxy: http.ProxyFromEnvironment}}
	c := jsonschema.NewCompiler()
	c.UseLoader(jsonschema.SchemeURLLoader{"file": jsonschema.FileLoader{}, "http": web, "https": web, "urn": urnLoader{}})
	const url = "file:///values.schema.json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	return c.Compile(url)
}

// httpLoader loads a schema a $ref names by URL.
type httpLoader http.Client

func (l httpLoader) Load(url string) (any, error) {
	c := http.Client(l)
	resp, err := c.Get(url)
	if err != nil {
		return nil, fmt.Errorf("HTTP request failed for %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP request to %s returned status %d (%s)", url, resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return jsonschema.UnmarshalJSON(resp.Body)
}

// urnLoader accepts any urn: reference, as Helm does when none resolves it.
type urnLoader struct{}

func (urnLoader) Load(string) (any, error) { return true, nil }

func withChart(name, msg string) string {
	if name == "" {
		return msg
	}
	return msg + " (values.schema.json of chart " + name + ")"
}
