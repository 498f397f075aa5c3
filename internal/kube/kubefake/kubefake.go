// Package kubefake is the kube.Factory of in-process tests: given clients
// (fakes, or a client of a real test cluster), a clock and a namespace,
// instead of a kubeconfig.
package kubefake

import (
	"os"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
)

// Factory implements kube.Factory. Zero fields are fine: no clients (nil
// and Err), the real clock, namespace "default".
type Factory struct {
	Dyn  dynamic.Interface
	Kube kubernetes.Interface
	// Clk is the source of "now"; nil is the real clock.
	Clk clock.PassiveClock
	// NS is the namespace given with -n, or with NSFromKubeconfig the
	// kubeconfig context's; -n in ConfigFlags wins over both.
	NS               string
	NSFromKubeconfig bool
	// Err, when set, is what every client call returns, as a broken
	// kubeconfig would.
	Err error
	// ConfigFlags are the kubectl flags, so a root command can register
	// them (-n, --context); nil means fresh ones.
	ConfigFlags *genericclioptions.ConfigFlags
	// Env reads the environment; nil is the test process's (os.Getenv, so
	// t.Setenv works).
	Env func(string) string
}

// Getenv reads the environment through Env.
func (f *Factory) Getenv(key string) string {
	if f.Env == nil {
		return os.Getenv(key)
	}
	return f.Env(key)
}

// ToRESTConfig returns an empty config, or Err.
func (f *Factory) ToRESTConfig() (*rest.Config, error) {
	if f.Err != nil {
		return nil, f.Err
	}
	return &rest.Config{}, nil
}

// Namespace is -n when given, else NS (else "default").
func (f *Factory) Namespace() (string, bool, error) {
	if fl := f.Flags(); fl.Namespace != nil && *fl.Namespace != "" {
		return *fl.Namespace, true, nil
	}
	if f.NS == "" {
		return "default", false, nil
	}
	return f.NS, !f.NSFromKubeconfig, nil
}

// Kubernetes returns Kube, or Err.
func (f *Factory) Kubernetes() (kubernetes.Interface, error) { return f.Kube, f.Err }

// Dynamic returns Dyn, or Err.
func (f *Factory) Dynamic() (dynamic.Interface, error) { return f.Dyn, f.Err }

// Clock returns Clk, or the real clock.
func (f *Factory) Clock() clock.PassiveClock {
	if f.Clk == nil {
		return clock.RealClock{}
	}
	return f.Clk
}

// Flags returns ConfigFlags, made on first use.
func (f *Factory) Flags() *genericclioptions.ConfigFlags {
	if f.ConfigFlags == nil {
		f.ConfigFlags = genericclioptions.NewConfigFlags(false)
	}
	return f.ConfigFlags
}
