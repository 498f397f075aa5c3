package trace

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/kubectl-gitops/kubectl-gitops/internal/gitrepo"
	"github.com/kubectl-gitops/kubectl-gitops/internal/printer"
	"github.com/kubectl-gitops/kubectl-gitops/internal/term"
)

// printFleet prints one section per environment (the single-cluster view of its cluster) and a summary
// line per environment, or the FleetReport as JSON/YAML.
func (o *runner) printFleet(rep *FleetReport, redraw bool) error {
	if done, err := printer.Print(o.out(), o.Output, rep); done {
		return err
	}
	return o.draw(redraw, func(w io.Writer) { writeFleetTable(w, rep, o.color) })
}

func writeFleetTable(w io.Writer, rep *FleetReport, color bool) {
	for i, e := range rep.Environments {
		if i > 0 {
			fmt.Fprintln(w)
		}
		var where []string
		if e.Context != "" {
			where = append(where, "context "+e.Context)
		}
		if e.Namespace != "" {
			where = append(where, "namespace "+e.Namespace)
		}
		head := "=== " + e.Name
		if len(where) > 0 {
			head += " (" + strings.Join(where, ", ") + ")"
		}
		fmt.Fprintln(w, term.Paint(color, term.Bold, head))
		if e.Report != nil && e.State != EnvNotReachable && e.State != EnvForbidden {
			writeTable(w, e.Report, color)
		}
		if e.Error != "" {
			fmt.Fprintf(w, "%s %s\n", term.Paint(color, term.Red, "!"), e.Error)
		}
	}
	fmt.Fprintf(w, "\nCommit %s %q across %d environments:\n", gitrepo.Short(rep.Revision.SHA), rep.Revision.Subject, len(rep.Environments))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, e := range rep.Environments {
		fmt.Fprintf(tw, "  %s\t%s\n", e.Name, term.Paint(color, envColor(e.State), e.Summary))
	}
	tw.Flush()
}

func envColor(s EnvState) string {
	switch s {
	case EnvDeployed:
		return term.Green
	case EnvFailed, EnvNotReachable, EnvForbidden:
		return term.Red
	}
	return term.Yellow
}
