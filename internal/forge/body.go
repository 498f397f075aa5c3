package forge

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Meta is what a request was opened for, kept in its body as an HTML
// comment (invisible on every forge) so that `promote --status` can tell
// promotion requests from others, whatever the branch is called.
type Meta struct {
	Command     string `json:"command"` // "promote" or "override"
	HelmRelease string `json:"helmRelease"`
	From        string `json:"from,omitempty"`
	To          string `json:"to,omitempty"`
}

const markerPrefix = "<!-- kubectl-gitops "

var markerRe = regexp.MustCompile(`<!-- kubectl-gitops (\{[^\n]*\}) -->`)

// Marker is the HTML comment that carries m.
func (m Meta) Marker() string {
	b, _ := json.Marshal(m)
	return markerPrefix + string(b) + " -->"
}

// ParseMeta reads the marker Body wrote, if the body has one.
func ParseMeta(body string) (Meta, bool) {
	sm := markerRe.FindStringSubmatch(body)
	if sm == nil {
		return Meta{}, false
	}
	var m Meta
	if json.Unmarshal([]byte(sm[1]), &m) != nil || m.Command == "" {
		return Meta{}, false
	}
	return m, true
}

// DiffWriter writes a diff uncoloured and says whether anything changed
// (internal/releasecheck's Report does, for the rendered manifests).
type DiffWriter interface {
	WriteDiff(w io.Writer, color bool) (bool, error)
}

// BodyInput is what a request's description says.
type BodyInput struct {
	// Summary is the first paragraph (Markdown).
	Summary string
	// Changes are one line each: "HelmRelease x spec.values.a (file): 1 -> 2".
	Changes []string
	// Notes are what reviewers should know beyond the change itself.
	Notes []string
	// Diff is the unified diff of the files, uncoloured.
	Diff string
	// Rendered writes the rendered manifests' diff, when validation
	// rendered the chart before and after (nil otherwise).
	Rendered DiffWriter
	// Environments are the environments the change touches, in order
	// ("staging → production" for a promotion).
	Environments string
	// Follow is the command that follows the change after the merge.
	Follow string
	Meta   Meta
}

// maxDiff keeps the body under every forge's limit (GitHub's is 65,536
// characters); a longer diff is cut and says so.
const maxDiff = 40000

// writeFenced writes d as a diff code block, cut at maxDiff, fenced with
// more backticks than it holds.
func writeFenced(b *strings.Builder, d string) {
	if len(d) > maxDiff {
		d = d[:maxDiff] + "\n... (diff cut at " + fmt.Sprint(maxDiff) + " characters; the commit has it all)"
	}
	fence := "```"
	for strings.Contains(d, fence) {
		fence += "`"
	}
	fmt.Fprintf(b, "%sdiff\n%s\n%s\n\n", fence, d, fence)
}

// Body renders the description of a request.
func Body(in BodyInput) string {
	var b strings.Builder
	b.WriteString(strings.TrimSpace(in.Summary))
	b.WriteString("\n\n")
	if in.Environments != "" {
		fmt.Fprintf(&b, "**Environments:** %s\n\n", in.Environments)
	}
	if len(in.Changes) > 0 {
		b.WriteString("### What changes\n\n")
		for _, c := range in.Changes {
			fmt.Fprintf(&b, "- %s\n", c)
		}
		b.WriteString("\n")
	}
	if len(in.Notes) > 0 {
		b.WriteString("### Notes\n\n")
		for _, n := range in.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
		b.WriteString("\n")
	}
	if d := strings.TrimRight(in.Diff, "\n"); d != "" {
		writeFenced(&b, d)
	}
	var rendered strings.Builder
	if in.Rendered != nil {
		if changed, err := in.Rendered.WriteDiff(&rendered, false); err == nil && changed {
			b.WriteString("<details><summary>Rendered manifests</summary>\n\n")
			writeFenced(&b, strings.TrimRight(rendered.String(), "\n"))
			b.WriteString("</details>\n\n")
		}
	}
	if in.Follow != "" {
		fmt.Fprintf(&b, "### After the merge\n\nFollow it until it runs:\n\n```sh\n%s\n```\n\n", in.Follow)
	}
	b.WriteString("<sub>Opened with kubectl-gitops; running the same command again updates this request.</sub>\n")
	if in.Meta.Command != "" {
		b.WriteString("\n" + in.Meta.Marker() + "\n")
	}
	return b.String()
}
