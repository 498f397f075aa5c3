// Command registry is a real OCI registry (github.com/distribution/distribution/v3)
// with in-memory storage, on a loopback address, for tests of OCI chart
// resolution. It lives in its own module so the registry's dependencies never
// enter the product's go.mod; hack/tools.sh-style builds cache it by version
// under ${XDG_CACHE_HOME:-~/.cache}/kubectl-gitops/tools.
//
//	registry -addr 127.0.0.1:5000
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:5000", "loopback address to listen on")
	flag.Parse()
	if !strings.HasPrefix(*addr, "127.0.0.1:") && !strings.HasPrefix(*addr, "[::1]:") {
		fmt.Fprintln(os.Stderr, "registry: listen on loopback only (127.0.0.1:PORT)")
		os.Exit(2)
	}
	cfg := &configuration.Configuration{Version: "0.1"}
	cfg.HTTP.Addr = *addr
	cfg.Storage = configuration.Storage{"inmemory": configuration.Parameters{}}
	cfg.Log.Level = "error"
	cfg.Log.AccessLog.Disabled = true
	r, err := registry.NewRegistry(context.Background(), cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "registry:", err)
		os.Exit(1)
	}
	if err := r.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, "registry:", err)
		os.Exit(1)
	}
}
