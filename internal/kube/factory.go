// Package kube builds Kubernetes clients lazily from the standard kubectl
// flags (--kubeconfig, --context, -n, --as, ...).
//
// Nothing here touches a kubeconfig until a command asks for a client, so
// `kubectl gitops --help`, `version` and the purely Git-side commands never
// pay for it, and a broken kubeconfig becomes an error, not a panic.
package kube

import (
	"fmt"
	"sync"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"
)

// Factory is what plugins get from the root command: clients for the
// cluster named by the kubectl flags, the clock to read time from, and the
// process environment to read variables from.
type Factory interface {
	// ToRESTConfig returns the REST config for the selected context.
	ToRESTConfig() (*rest.Config, error)
	// Namespace returns the namespace from -n, or else the context's, and
	// whether it was set explicitly.
	Namespace() (string, bool, error)
	// Kubernetes returns a typed clientset.
	Kubernetes() (kubernetes.Interface, error)
	// Dynamic returns a dynamic client.
	Dynamic() (dynamic.Interface, error)
	// Clock is the source of "now" for ages, timeouts and stage durations.
	Clock() clock.PassiveClock
	// Flags are the kubectl flags the factory reads (for completion and plugins
	// that need the raw getter).
	Flags() *genericclioptions.ConfigFlags
	// Getenv reads an environment variable (NO_COLOR, forge tokens and
	// config locations). It is the one way commands read the environment:
	// main injects os.Getenv, tests their own.
	Getenv(key string) string
}

// NewFactory returns a Factory over flags. clk may be nil for the real
// clock; getenv reads the environment (nil: an empty one).
func NewFactory(flags *genericclioptions.ConfigFlags, clk clock.PassiveClock, getenv func(string) string) Factory {
	if clk == nil {
		clk = clock.RealClock{}
	}
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	return &factory{flags: flags, clock: clk, getenv: getenv}
}

type factory struct {
	flags  *genericclioptions.ConfigFlags
	clock  clock.PassiveClock
	getenv func(string) string

	once    sync.Once
	cfg     *rest.Config
	cfgErr  error
	kcOnce  sync.Once
	kc      kubernetes.Interface
	kcErr   error
	dynOnce sync.Once
	dyn     dynamic.Interface
	dynErr  error
}

func (f *factory) Flags() *genericclioptions.ConfigFlags { return f.flags }
func (f *factory) Clock() clock.PassiveClock             { return f.clock }
func (f *factory) Getenv(key string) string              { return f.getenv(key) }

func (f *factory) ToRESTConfig() (*rest.Config, error) {
	f.once.Do(func() {
		cfg, err := f.flags.ToRESTConfig()
		if err != nil {
			f.cfgErr = fmt.Errorf("loading kubeconfig: %w (set --kubeconfig or KUBECONFIG, and --context)", err)
			return
		}
		// Trace lists many kinds at once; the client-go default of 5 QPS
		// would make it wait on its own rate limiter.
		cfg.QPS, cfg.Burst = 50, 100
		f.cfg = cfg
	})
	return f.cfg, f.cfgErr
}

func (f *factory) Namespace() (string, bool, error) {
	ns, explicit, err := f.flags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return "", false, fmt.Errorf("reading namespace from kubeconfig: %w", err)
	}
	if f.flags.Namespace != nil && *f.flags.Namespace != "" {
		return *f.flags.Namespace, true, nil
	}
	return ns, explicit, nil
}

func (f *factory) Kubernetes() (kubernetes.Interface, error) {
	f.kcOnce.Do(func() {
		cfg, err := f.ToRESTConfig()
		if err != nil {
			f.kcErr = err
			return
		}
		f.kc, f.kcErr = kubernetes.NewForConfig(cfg)
	})
	return f.kc, f.kcErr
}

func (f *factory) Dynamic() (dynamic.Interface, error) {
	f.dynOnce.Do(func() {
		cfg, err := f.ToRESTConfig()
		if err != nil {
			f.dynErr = err
			return
		}
		f.dyn, f.dynErr = dynamic.NewForConfig(cfg)
	})
	return f.dyn, f.dynErr
}

// ForContext returns a factory for kube context name that keeps every other
// kubectl flag of f: --kubeconfig, --user, --cluster, --client-certificate,
// --client-key, --token, --as, --server, ... and the raised rate limits of
// ToRESTConfig. Commands that read another environment's cluster (promote
// --require-deployed, trace --env) use it, so the flags a user gave for one
// cluster are not silently dropped for the next. An empty name returns f.
func ForContext(f Factory, name string) Factory {
	if name == "" {
		return f
	}
	return NewFactory(withContext(f.Flags(), name), f.Clock(), f.Getenv)
}

// withContext copies every exported flag of base (the pointers: they are
// bound to the command line) and sets the context. The unexported caches of
// ConfigFlags (the loaded client config, discovery) are not copied: they hold
// the base context.
func withContext(base *genericclioptions.ConfigFlags, name string) *genericclioptions.ConfigFlags {
	c := genericclioptions.NewConfigFlags(true)
	if base != nil {
		c.CacheDir, c.KubeConfig = base.CacheDir, base.KubeConfig
		c.ClusterName, c.AuthInfoName, c.Namespace = base.ClusterName, base.AuthInfoName, base.Namespace
		c.APIServer, c.TLSServerName, c.Insecure = base.APIServer, base.TLSServerName, base.Insecure
		c.CertFile, c.KeyFile, c.CAFile, c.BearerToken = base.CertFile, base.KeyFile, base.CAFile, base.BearerToken
		c.Impersonate, c.ImpersonateUID, c.ImpersonateGroup = base.Impersonate, base.ImpersonateUID, base.ImpersonateGroup
		c.ImpersonateUserExtra = base.ImpersonateUserExtra
		c.Username, c.Password, c.Timeout = base.Username, base.Password, base.Timeout
		c.DisableCompression, c.WrapConfigFn = base.DisableCompression, base.WrapConfigFn
	}
	c.Context = &name
	return c
}
