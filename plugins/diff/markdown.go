package diff

import (
	"fmt"
	"strings"
)

// Markdown is the report as Markdown for a pull-request comment: the
// summary first (no links, so it reads the same wherever it is pasted),
// then one section per release with its rendered diff folded. limit > 0
// cuts it to at most limit bytes: releases that do not fit are listed by
// name and status only, then left out, and a note says so.
func Markdown(res *Result, limit int) string {
	var head strings.Builder
	tool := res.Tool
	if tool == "" {
		tool = "kubectl gitops"
	}
	cmd := "diff"
	if res.Live {
		cmd = "diff --live"
	}
	fmt.Fprintf(&head, "### %s %s `%s..%s`\n\n", tool, cmd, short(res.Base), short(res.Head))
	if len(res.Releases) == 0 {
		head.WriteString("No HelmRelease changes.\n")
		return head.String()
	}
	fmt.Fprintf(&head, "**%s.**\n\n", res.Summary())
	if res.Unchecked+res.Invalid+res.Errors > 0 {
		head.WriteString("| status | HelmRelease | why |\n|---|---|---|\n")
		for _, e := range res.Releases {
			why := e.Reason
			if e.Status == StatusInvalid && len(e.Problems) > 0 {
				why = e.Problems[0].String()
				if len(e.Problems) > 1 {
					why += fmt.Sprintf(" (and %d more)", len(e.Problems)-1)
				}
			}
			if why == "" {
				continue
			}
			fmt.Fprintf(&head, "| %s %s | `%s` | %s |\n", mark(e.Status), e.Status, e.Release, cell(why))
		}
		head.WriteString("\n")
	}
	full := make([]string, len(res.Releases))
	brief := make([]string, len(res.Releases))
	for i, e := range res.Releases {
		brief[i] = fmt.Sprintf("- %s `%s` (%s): %s\n", mark(e.Status), e.Release, e.Path, e.Status)
		full[i] = section(e)
	}
	if limit <= 0 {
		return head.String() + strings.Join(full, "")
	}
	// Fit: full sections while the rest still fits as one line each, then
	// one line each, then nothing but the count.
	out := head.String()
	note := func(shown int) string {
		return fmt.Sprintf("\n> [!NOTE]\n> This comment is cut to the forge's limit of %d characters: %d of %d HelmRelease(s) are shown in full. Run `%s diff %s..%s` for the whole report.\n", limit, shown, len(res.Releases), tool, short(res.Base), short(res.Head))
	}
	reserve := len(note(len(res.Releases)))
	rest := 0
	for _, b := range brief {
		rest += len(b)
	}
	i := 0
	for ; i < len(full); i++ {
		rest -= len(brief[i])
		if len(out)+len(full[i])+rest+reserve > limit {
			rest += len(brief[i])
			break
		}
		out += full[i]
	}
	if i == len(full) {
		return out
	}
	shown := i
	listed := "\n"
	for ; i < len(brief); i++ {
		if len(out)+len(listed)+len(brief[i])+reserve+40 > limit {
			listed += fmt.Sprintf("- … and %d more\n", len(brief)-i)
			break
		}
		listed += brief[i]
	}
	out += listed + note(shown)
	if len(out) > limit { // the head alone is too long: cut it at a line
		out = out[:strings.LastIndexByte(out[:limit-reserve], '\n')+1] + note(0)
	}
	return out
}

func section(e Entry) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#### %s HelmRelease `%s` (%s): %s\n\n", mark(e.Status), e.Release, e.Path, e.Status)
	if e.Reason != "" {
		fmt.Fprintf(&b, "- **%s**: %s\n", reasonLabel(e.Status), cell(e.Reason))
	}
	for _, p := range e.Problems {
		fmt.Fprintf(&b, "- **invalid**: %s\n", strings.ReplaceAll(p.String(), "`", "'"))
	}
	for _, n := range e.Notes {
		fmt.Fprintf(&b, "- note: %s\n", n)
	}
	if e.Reason != "" || len(e.Problems)+len(e.Notes) > 0 {
		b.WriteString("\n")
	}
	if e.Diff != "" {
		fence := "```"
		for strings.Contains(e.Diff, fence) {
			fence += "`"
		}
		fmt.Fprintf(&b, "<details><summary>rendered diff</summary>\n\n%sdiff\n%s%s\n\n</details>\n\n", fence, e.Diff, fence)
	}
	return b.String()
}

// mark is the sign of a status: ✅ only for what was rendered and passed.
func mark(status string) string {
	switch status {
	case StatusAdded, StatusChanged, StatusSame:
		return "✅"
	case StatusRemoved:
		return "➖"
	case StatusUnchecked:
		return "⚠️"
	}
	return "❌"
}

// cell makes s safe in a table cell or list item: one line, no pipes or
// backticks that would end it.
func cell(s string) string {
	s = strings.NewReplacer("\n", " ", "|", `\|`, "`", "'").Replace(s)
	return s
}
