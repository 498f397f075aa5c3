// Command openapi-bundle regenerates internal/validate/bundled/: the
// OpenAPI v3 schemas of the built-in API groups, fetched from a running API
// server (the sandbox's, whose version is validate.BundledVersion), reduced
// to the fields the validation reads and gzipped.
//
//	make sandbox-up && eval "$(make -s sandbox-env)"
//	go run ./hack/openapi-bundle -o internal/validate/bundled/openapi-v1.34.json.gz
//
// Bump validate.BundledVersion (and the file name) with the sandbox's
// Kubernetes version.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"sort"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kubectl-gitops/kubectl-gitops/internal/validate"
)

func main() {
	out := flag.String("o", "internal/validate/bundled/openapi-v1.34.json.gz", "file to write")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "openapi-bundle:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(clientcmd.NewDefaultClientConfigLoadingRules(), nil).ClientConfig()
	if err != nil {
		return err
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return err
	}
	v, err := dc.ServerVersion()
	if err != nil {
		return err
	}
	paths, err := dc.OpenAPIV3().Paths()
	if err != nil {
		return err
	}
	docs := map[string][]byte{}
	var names []string
	for p, gv := range paths {
		if !validate.BuiltIn(p) {
			continue
		}
		data, err := gv.Schema("application/json")
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		docs[p] = data
		names = append(names, p)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	if err := validate.WriteBundle(&buf, docs); err != nil {
		return err
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Printf("wrote %s (%d bytes) from Kubernetes %s: %v\n", out, buf.Len(), v.GitVersion, names)
	return nil
}
