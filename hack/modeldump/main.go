// Command modeldump prints the model of a checkout: one line per release
// (cluster/namespace/name, chart, file) and every build error. It is for
// trying the model on a repository by hand.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/kubectl-gitops/kubectl-gitops/internal/fluxmodel"
)

func main() {
	root := "."
	if len(os.Args) > 1 {
		root = os.Args[1]
	}
	m, err := fluxmodel.Load(context.Background(), root)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(m.Describe())
	n := 0
	for _, c := range m.Clusters {
		for _, k := range c.Kustomizations {
			fmt.Printf("ks %s %s/%s path=%s followed=%v %s\n", c.Name, k.Namespace, k.Name, k.Path, k.Followed, k.Note)
		}
		for _, r := range c.Releases {
			n++
			chart := ""
			if r.HR != nil && r.HR.Spec.Chart != nil {
				chart = r.HR.Spec.Chart.Spec.Chart + "@" + r.HR.Spec.Chart.Spec.Version
			}
			fmt.Printf("hr %s %s %s:%d", r.ID(), chart, r.File, r.Line)
			if r.Err != nil {
				fmt.Printf(" ERROR %v", r.Err)
			}
			fmt.Println()
		}
		for _, e := range c.Errors {
			fmt.Printf("error %s: %v\n", c.Name, e)
		}
	}
	fmt.Printf("%d releases\n", n)
	if len(m.Errors()) > 0 {
		os.Exit(1)
	}
}
