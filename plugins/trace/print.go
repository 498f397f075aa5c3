package trace

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxstatus"
	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/printer"
	"github.com/kubectl-gitops/kubectl-gitops/internal/term"
)

func (o *runner) print(r *fluxstatus.Report, redraw bool) error {
	if done, err := printer.Print(o.out(), o.Output, r); done {
		return err
	}
	return o.draw(redraw, func(w io.Writer) { writeTable(w, r, o.color) })
}

// draw writes a table in one write; a redraw of the live view replaces the
// last one on a terminal and follows it after a blank line elsewhere.
func (o *runner) draw(redraw bool, table func(io.Writer)) error {
	var buf bytes.Buffer
	if redraw && o.color {
		// Home and clear: the live view replaces itself on a terminal.
		buf.WriteString("\x1b[H\x1b[2J")
	}
	table(&buf)
	if redraw && !o.color {
		buf.WriteString("\n")
	}
	_, err := o.out().Write(buf.Bytes())
	return err
}

func stateColor(s fluxstatus.State) string {
	switch s {
	case fluxstatus.Done:
		return term.Green
	case fluxstatus.Failed:
		return term.Red
	case fluxstatus.NotNeeded:
		return term.Gray
	}
	return term.Yellow
}

// writeTable renders the human view. Times are UTC; a letter after each
// says where it was read: s = a status field, e = a Flux event, g = the
// commit date in Git.
func writeTable(w io.Writer, r *fluxstatus.Report, color bool) {
	now := r.GeneratedAt
	fmt.Fprintf(w, "Commit %s %q", gitrepo.Short(r.Revision.SHA), r.Revision.Subject)
	if r.Revision.Input != "" && !strings.HasPrefix(r.Revision.SHA, r.Revision.Input) {
		fmt.Fprintf(w, " (%s)", r.Revision.Input)
	}
	fmt.Fprintf(w, ", committed %s\n", clockTime(r.Revision.CommittedAt, now))
	for _, s := range r.Sources {
		fmt.Fprintf(w, "Source  %s %s/%s  %s  at %s\n", s.Kind, s.Namespace, s.Name, s.URL, orDash(s.Revision))
	}
	for _, f := range r.Forbidden {
		fmt.Fprintf(w, "%s cannot read %s: %s\n", term.Paint(color, term.Yellow, "forbidden:"), f.Kind, f.Message)
	}
	for _, rel := range r.Releases {
		fmt.Fprintln(w)
		head := "NOT DEPLOYED"
		switch {
		case rel.Deployed:
			head = "DEPLOYED"
		case rel.State == fluxstatus.Failed:
			head = "FAILED"
		case rel.State == fluxstatus.InProgress:
			head = "IN PROGRESS"
		case rel.State == fluxstatus.Waiting:
			head = "WAITING"
		}
		col := stateColor(rel.State)
		if rel.Deployed {
			col = term.Green
		}
		fmt.Fprintf(w, "HelmRelease %s/%s (via %s)  %s", rel.Namespace, rel.Name, strings.Join(rel.Via, "+"), term.Paint(color, term.Bold+col, head))
		if rel.DeployedBy != nil {
			fmt.Fprintf(w, " by later commit %s %q, which contains it", gitrepo.Short(rel.DeployedBy.SHA), rel.DeployedBy.Subject)
		}
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  STAGE\tSTATE\tSTARTED\tFINISHED\tTOOK\tDETAILS")
		for _, s := range rel.Stages {
			state := string(s.State)
			if color {
				// Pad before painting so escape codes do not skew the columns.
				state = term.Paint(true, stateColor(s.State), fmt.Sprintf("%-11s", state))
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", s.Title, state,
				stamp(s.StartedAt, s.StartedFrom, now), stamp(s.FinishedAt, s.FinishedFrom, now), took(s.DurationSeconds), details(s))
		}
		tw.Flush()
		for _, d := range rel.Diagnoses {
			fmt.Fprintf(w, "  %s %s: %s\n", term.Paint(color, term.Red, "!"), d.Code, d.Message)
			if d.Fix != "" {
				fmt.Fprintf(w, "    fix: %s\n", d.Fix)
			}
		}
	}
	for _, d := range r.Diagnoses {
		fmt.Fprintf(w, "\n%s %s: %s\n", term.Paint(color, term.Red, "!"), d.Code, d.Message)
		if d.Fix != "" {
			fmt.Fprintf(w, "  fix: %s\n", d.Fix)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Result: %s\n", summary(r))
	fmt.Fprintln(w, "Times in UTC; s = status field, e = Flux event, g = commit date.")
}

func summary(r *fluxstatus.Report) string {
	n := len(r.Releases)
	var dep, failed int
	for _, rel := range r.Releases {
		if rel.Deployed {
			dep++
		}
		if rel.State == fluxstatus.Failed {
			failed++
		}
	}
	switch {
	case n == 0:
		return "nothing to trace"
	case r.Deployed:
		return fmt.Sprintf("deployed everywhere (%d of %d releases)", dep, n)
	case failed > 0:
		return fmt.Sprintf("FAILED (%d failed, %d deployed, %d releases)", failed, dep, n)
	}
	return fmt.Sprintf("not deployed yet (%d of %d releases deployed, %s)", dep, n, r.State)
}

// details: the message for stages that are not done, else the key evidence.
func details(s fluxstatus.Stage) string {
	if s.State != fluxstatus.Done {
		m := s.Message
		if len(s.Evidence) > 0 && s.State != fluxstatus.NotNeeded && s.State != fluxstatus.Forbidden {
			m += " [" + evidence(s.Evidence) + "]"
		}
		return oneLine(m)
	}
	return evidence(s.Evidence)
}

func evidence(e fluxstatus.Evidence) string {
	parts := make([]string, 0, len(e))
	for _, kv := range e {
		parts = append(parts, kv.Key+"="+kv.Value)
	}
	return strings.Join(parts, " ")
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}

func stamp(t *time.Time, from string, now time.Time) string {
	if t == nil {
		return "-"
	}
	tag := ""
	if from != "" {
		tag = " " + from[:1]
	}
	return clockTime(*t, now) + tag
}

func clockTime(t, now time.Time) string {
	t = t.UTC()
	if t.Format("2006-01-02") == now.UTC().Format("2006-01-02") {
		return t.Format("15:04:05")
	}
	return t.Format("2006-01-02 15:04:05")
}

func took(d *float64) string {
	if d == nil {
		return "-"
	}
	return (time.Duration(*d) * time.Second).String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
