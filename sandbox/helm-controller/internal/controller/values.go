package controller

import (
	"context"
	"fmt"
	"strings"

	v2 "github.com/fluxcd/helm-controller/api/v2"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/strvals"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

const defaultValuesKey = "values.yaml"

// composeValues merges spec.valuesFrom in order and then spec.values on top,
// as helm-controller does: a reference without targetPath is a YAML document
// merged into the result, one with targetPath sets that single path (as
// `helm --set-string` would), and an optional reference that is missing (object
// or key) is skipped.
func composeValues(ctx context.Context, c client.Reader, hr *v2.HelmRelease) (map[string]any, error) {
	result := map[string]any{}
	for _, ref := range hr.Spec.ValuesFrom {
		key := ref.ValuesKey
		if key == "" {
			key = defaultValuesKey
		}
		nn := types.NamespacedName{Namespace: hr.Namespace, Name: ref.Name}
		var (
			data  []byte
			found bool
		)
		switch ref.Kind {
		case "ConfigMap":
			var cm corev1.ConfigMap
			if err := c.Get(ctx, nn, &cm); err != nil {
				if apierrors.IsNotFound(err) && ref.Optional {
					continue
				}
				return nil, fmt.Errorf("could not get ConfigMap '%s': %w", nn, err)
			}
			if s, ok := cm.Data[key]; ok {
				data, found = []byte(s), true
			} else if b, ok := cm.BinaryData[key]; ok {
				data, found = b, true
			}
		case "Secret":
			var s corev1.Secret
			if err := c.Get(ctx, nn, &s); err != nil {
				if apierrors.IsNotFound(err) && ref.Optional {
					continue
				}
				return nil, fmt.Errorf("could not get Secret '%s': %w", nn, err)
			}
			data, found = s.Data[key]
		default:
			return nil, fmt.Errorf("unsupported ValuesReference kind '%s'; use ConfigMap or Secret", ref.Kind)
		}
		if !found {
			if ref.Optional {
				continue
			}
			return nil, fmt.Errorf("missing key '%s' in %s '%s'", key, ref.Kind, nn)
		}
		if ref.TargetPath != "" {
			// strvals is the parser behind --set-string: it understands the
			// dotted and indexed paths users write in targetPath.
			if err := strvals.ParseIntoString(ref.TargetPath+"="+escapeSetValue(string(data)), result); err != nil {
				return nil, fmt.Errorf("unable to replace value at path '%s' with data from %s '%s' key '%s': %w",
					ref.TargetPath, ref.Kind, nn, key, err)
			}
			continue
		}
		values := map[string]any{}
		if err := yaml.Unmarshal(data, &values); err != nil {
			return nil, fmt.Errorf("unable to read values from key '%s' in %s '%s': %w", key, ref.Kind, nn, err)
		}
		result = chartutil.MergeTables(values, result)
	}
	if v := hr.GetValues(); len(v) > 0 {
		return chartutil.MergeTables(v, result), nil
	}
	return result, nil
}

// escapeSetValue keeps commas in a value from being read as separators of
// further key=value pairs by the --set parser.
func escapeSetValue(s string) string {
	return strings.ReplaceAll(s, ",", `\,`)
}
