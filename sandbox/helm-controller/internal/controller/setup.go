package controller

import (
	"context"

	v2 "github.com/fluxcd/helm-controller/api/v2"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// SetupOptions configure the controller.
type SetupOptions struct {
	MaxConcurrentReconciles int
	// WatchOCIRepositories adds a watch on OCIRepositories for chartRefs;
	// only when their CRD is installed.
	WatchOCIRepositories bool
}

// SetupWithManager registers the reconciler: HelmReleases on a new generation
// or a new reconcile request, and their HelmCharts (or OCIRepositories) on a
// new artifact revision, as helm-controller watches them.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager, opts SetupOptions) error {
	b := ctrl.NewControllerManagedBy(mgr).
		Named("helmrelease").
		For(&v2.HelmRelease{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, reconcileRequestedPredicate{}))).
		Watches(&sourcev1.HelmChart{}, handler.EnqueueRequestsFromMapFunc(r.requestsForSource(sourcev1.HelmChartKind)),
			builder.WithPredicates(artifactRevisionChanged{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: opts.MaxConcurrentReconciles})
	if opts.WatchOCIRepositories {
		b = b.Watches(&sourcev1.OCIRepository{}, handler.EnqueueRequestsFromMapFunc(r.requestsForSource(sourcev1.OCIRepositoryKind)),
			builder.WithPredicates(artifactRevisionChanged{}))
	}
	return b.Complete(r)
}

// requestsForSource maps a source to the HelmReleases that use it: by
// status.helmChart for spec.chart, or by spec.chartRef.
func (r *Reconciler) requestsForSource(kind string) handler.MapFunc {
	return func(ctx context.Context, obj client.Object) []reconcile.Request {
		var list v2.HelmReleaseList
		if err := r.Client.List(ctx, &list); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "failed to list HelmReleases for source", "kind", kind, "source", client.ObjectKeyFromObject(obj))
			return nil
		}
		key := client.ObjectKeyFromObject(obj).String()
		var reqs []reconcile.Request
		for _, hr := range list.Items {
			match := false
			if hr.Spec.Chart != nil && kind == sourcev1.HelmChartKind {
				match = helmChartRef(&hr).String() == key
			}
			if ref := hr.Spec.ChartRef; ref != nil && ref.Kind == kind {
				ns := ref.Namespace
				if ns == "" {
					ns = hr.Namespace
				}
				match = match || (types.NamespacedName{Namespace: ns, Name: ref.Name}).String() == key
			}
			if match {
				reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&hr)})
			}
		}
		return reqs
	}
}

// reconcileRequestedPredicate passes updates that change the
// reconcile.fluxcd.io/requestedAt annotation (`flux reconcile`).
type reconcileRequestedPredicate struct{ predicate.Funcs }

func (reconcileRequestedPredicate) Update(e event.UpdateEvent) bool {
	if e.ObjectOld == nil || e.ObjectNew == nil {
		return false
	}
	v, ok := e.ObjectNew.GetAnnotations()[meta.ReconcileRequestAnnotation]
	return ok && v != e.ObjectOld.GetAnnotations()[meta.ReconcileRequestAnnotation]
}

// artifactRevisionChanged passes source updates that bring a new artifact
// (or the first one).
type artifactRevisionChanged struct{ predicate.Funcs }

func (artifactRevisionChanged) Create(event.CreateEvent) bool { return true }
func (artifactRevisionChanged) Delete(event.DeleteEvent) bool { return false }

func (artifactRevisionChanged) Update(e event.UpdateEvent) bool {
	type artifacted interface{ GetArtifact() *meta.Artifact }
	o, ok1 := e.ObjectOld.(artifacted)
	n, ok2 := e.ObjectNew.(artifacted)
	if !ok1 || !ok2 {
		return false
	}
	oa, na := o.GetArtifact(), n.GetArtifact()
	switch {
	case na == nil:
		return false
	case oa == nil:
		return true
	default:
		return oa.Revision != na.Revision || oa.Digest != na.Digest
	}
}
