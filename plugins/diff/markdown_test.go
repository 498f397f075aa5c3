package diff_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kubectl-gitops/kubectl-gitops/plugins/diff"
)

// A report longer than the forge accepts is cut to the limit: the
// summary first, full sections while they fit, the rest by name, a note.
func TestMarkdownCutToLimit(t *testing.T) {
	res := &diff.Result{Base: "1111111111111111", Head: "2222222222222222", Counts: map[string]int{}}
	for i := 0; i < 40; i++ {
		e := diff.Entry{Release: fmt.Sprintf("team/app-%02d", i), Path: "apps/x.yaml", Status: diff.StatusChanged, Valid: true,
			Diff: strings.Repeat("+  line\n", 200)}
		res.Releases = append(res.Releases, e)
		res.Counts[e.Status]++
		res.Changed++
	}
	full := diff.Markdown(res, 0)
	const limit = 20000
	cut := diff.Markdown(res, limit)
	if len(full) <= limit || len(cut) > limit {
		t.Fatalf("full %d, cut %d, limit %d", len(full), len(cut), limit)
	}
	if !strings.HasPrefix(cut, "### kubectl gitops diff `111111111111..222222222222`\n\n**40 HelmRelease(s) in the range: 40 changed.**") {
		t.Errorf("summary is not first:\n%.300s", cut)
	}
	if !strings.Contains(cut, "This comment is cut to the forge's limit of 20000 characters") || !strings.Contains(cut, "`team/app-39`") {
		t.Errorf("no note, or the last release is not listed:\n%s", cut[len(cut)-800:])
	}
	if !strings.Contains(cut, "Run `kubectl gitops diff 111111111111..222222222222` for the whole report.") {
		t.Errorf("the note does not say how to see the whole report:\n%s", cut[len(cut)-800:])
	}
	// Run as the Flux plugin, the report names the command the user has.
	res.Tool = "flux gitops"
	cut = diff.Markdown(res, limit)
	if !strings.HasPrefix(cut, "### flux gitops diff `111111111111..222222222222`") || !strings.Contains(cut, "Run `flux gitops diff 111111111111..222222222222` for the whole report.") || strings.Contains(cut, "kubectl gitops") {
		t.Errorf("as flux gitops:\n%.300s\n...\n%s", cut, cut[len(cut)-800:])
	}
}
