package validate

import (
	"regexp"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
)

// Values checks values (user values; the chart's defaults are coalesced in
// as Helm does) against the values.schema.json of the chart and of its
// subcharts, with Helm's own check. Each problem's Field is the dotted
// values path (resources.limits.memory), "" when Helm's message names none.
func Values(ch *chart.Chart, values map[string]any) ([]Problem, error) {
	if !hasSchema(ch) {
		return nil, nil
	}
	coalesced, err := chartutil.CoalesceValues(ch, values)
	if err != nil {
		return nil, err
	}
	verr := chartutil.ValidateAgainstSchema(ch, coalesced)
	if verr == nil {
		return nil, nil
	}
	return parseSchemaError(verr.Error(), ch.Name()), nil
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

// atLine is one line of a jsonschema (santhosh-tekuri/jsonschema/v6) error
// as Helm prints it: "- at '/resources/limits/memory': got number, want string".
var atLine = regexp.MustCompile(`^\s*-\s*at '([^']*)':\s*(.*)$`)

func parseSchemaError(msg, top string) []Problem {
	var out []Problem
	chartName := ""
	for _, line := range strings.Split(msg, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if m := atLine.FindStringSubmatch(line); m != nil {
			field := strings.ReplaceAll(strings.Trim(m[1], "/"), "/", ".")
			if chartName != "" && chartName != top {
				// A subchart's values live under its name.
				field = strings.TrimSuffix(chartName+"."+field, ".")
			}
			out = append(out, Problem{Field: field, Message: withChart(chartName, m[2])})
			continue
		}
		if strings.HasSuffix(line, ":") && !strings.HasPrefix(line, " ") && !strings.HasPrefix(line, "-") {
			chartName = strings.TrimSuffix(line, ":")
			continue
		}
		out = append(out, Problem{Message: withChart(chartName, strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "-")))})
	}
	return out
}

func withChart(name, msg string) string {
	if name == "" {
		return msg
	}
	return msg + " (values.schema.json of chart " + name + ")"
}
