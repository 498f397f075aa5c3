// Command helm-controller is the kubectl-gitops sandbox's HelmRelease
// reconciler: a stand-in for Flux's helm-controller, which cannot be built
// here. It takes the real controller's flags and environment so the sandbox
// can start either binary the same way.
package main

import (
	"fmt"
	"net/http"
	"os"
	"time"

	v2 "github.com/fluxcd/helm-controller/api/v2"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"github.com/spf13/pflag"
	"go.uber.org/zap/zapcore"
	helmkube "helm.sh/helm/v3/pkg/kube"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/kubectl-gitops/kubectl-gitops/sandbox/helm-controller/internal/controller"
	"github.com/kubectl-gitops/kubectl-gitops/sandbox/helm-controller/internal/helmaction"
)

const controllerName = "helm-controller"

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "helm-controller: %v\n", err)
		os.Exit(1)
	}
}

// options are the flags this stand-in reads.
type options struct {
	metricsAddr, healthAddr, eventsAddr, logLevel string
	leaderElection, watchAll                      bool
	concurrent, helmLogLines                      int
	requeueDependency                             time.Duration
}

// parseFlags reads the real helm-controller's flags. The sandbox may pass any
// of them; those this stand-in has no use for are accepted and ignored rather
// than fatal.
func parseFlags(args []string) (options, error) {
	var o options
	fs := pflag.NewFlagSet(controllerName, pflag.ContinueOnError)
	fs.ParseErrorsAllowlist = pflag.ParseErrorsAllowlist{UnknownFlags: true}
	fs.StringVar(&o.metricsAddr, "metrics-addr", ":8080", "The address the metric endpoint binds to.")
	fs.StringVar(&o.healthAddr, "health-addr", ":9440", "The address the health endpoint binds to.")
	fs.StringVar(&o.eventsAddr, "events-addr", "", "The address of the events receiver (accepted; events go to the API server only).")
	fs.BoolVar(&o.leaderElection, "enable-leader-election", false, "Enable leader election for controller manager.")
	fs.BoolVar(&o.watchAll, "watch-all-namespaces", true, "Watch for custom resources in all namespaces, if set to false it will only watch the runtime namespace.")
	fs.IntVar(&o.concurrent, "concurrent", 4, "The number of concurrent HelmRelease reconciles.")
	fs.StringVar(&o.logLevel, "log-level", "info", "Log verbosity level: debug, info or error.")
	fs.String("log-encoding", "json", "Log encoding format (accepted; logs are JSON).")
	fs.DurationVar(&o.requeueDependency, "requeue-dependency", 5*time.Second, "The interval at which failing dependencies are reevaluated.")
	fs.IntVar(&o.helmLogLines, "helm-log-lines", 10, "Helm log lines kept for failure events.")
	if err := fs.Parse(args); err != nil {
		return o, fmt.Errorf("bad flags: %w", err)
	}
	return o, nil
}

func run(args []string) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	level := zapcore.InfoLevel
	switch o.logLevel {
	case "debug", "trace":
		level = zapcore.DebugLevel
	case "error":
		level = zapcore.ErrorLevel
	}
	ctrl.SetLogger(zap.New(zap.Level(level)))
	log := ctrl.Log.WithName("setup")
	if o.eventsAddr != "" {
		log.Info("--events-addr is accepted but not used: events are recorded in the API server only", "addr", o.eventsAddr)
	}

	// helm-controller's main does the same: the objects of every release
	// are created and patched by field manager "helm-controller", the name
	// its drift detection and `kubectl gitops diff --live` apply with
	// (Helm would otherwise use the binary's file name).
	helmkube.ManagedFieldsManager = controllerName

	runtimeNamespace := os.Getenv("RUNTIME_NAMESPACE")
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, v2.AddToScheme, sourcev1.AddToScheme} {
		if err := add(scheme); err != nil {
			return fmt.Errorf("building scheme: %w", err)
		}
	}

	restCfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("no cluster to talk to (set KUBECONFIG): %w", err)
	}
	opts := ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsserver.Options{BindAddress: o.metricsAddr},
		HealthProbeBindAddress:  o.healthAddr,
		LeaderElection:          o.leaderElection,
		LeaderElectionID:        "5b6ca942.fluxcd.io",
		LeaderElectionNamespace: runtimeNamespace,
		// Like helm-controller, read Secrets and ConfigMaps (valuesFrom) live
		// instead of caching every one in the cluster, Helm's release
		// Secrets included.
		Client: client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}, &corev1.ConfigMap{}}}},
	}
	if !o.watchAll {
		if runtimeNamespace == "" {
			return fmt.Errorf("--watch-all-namespaces=false needs RUNTIME_NAMESPACE set to the namespace to watch")
		}
		opts.Cache = cache.Options{DefaultNamespaces: map[string]cache.Config{runtimeNamespace: {}}}
	}
	mgr, err := ctrl.NewManager(restCfg, opts)
	if err != nil {
		return fmt.Errorf("unable to create manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("unable to add health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("unable to add ready check: %w", err)
	}

	cs, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return fmt.Errorf("building clientset: %w", err)
	}
	broadcaster := record.NewBroadcaster()
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: cs.CoreV1().Events("")})
	defer broadcaster.Shutdown()
	recorder := broadcaster.NewRecorder(scheme, corev1.EventSource{Component: controllerName})

	helmLog := ctrl.Log.WithName("helm")
	r := &controller.Reconciler{
		Client: mgr.GetClient(),
		Helm: &helmaction.Helm{
			Config:   restCfg,
			LastLogs: o.helmLogLines,
			Logf:     func(f string, a ...any) { helmLog.V(1).Info(fmt.Sprintf(f, a...)) },
		},
		Charts:                    controller.HTTPChartLoader{Client: &http.Client{Timeout: time.Minute}},
		Recorder:                  recorder,
		Clock:                     clock.RealClock{},
		DependencyRequeueInterval: o.requeueDependency,
	}
	_, ociErr := mgr.GetRESTMapper().RESTMapping(schema.GroupKind{Group: sourcev1.GroupVersion.Group, Kind: sourcev1.OCIRepositoryKind}, sourcev1.GroupVersion.Version)
	if err := r.SetupWithManager(mgr, controller.SetupOptions{
		MaxConcurrentReconciles: o.concurrent,
		WatchOCIRepositories:    ociErr == nil,
	}); err != nil {
		return fmt.Errorf("unable to create controller: %w", err)
	}
	log.Info("starting manager", "watchAllNamespaces", o.watchAll, "runtimeNamespace", runtimeNamespace)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		return fmt.Errorf("manager stopped: %w", err)
	}
	return nil
}
