package helmaction

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const (
	labelName      = "helm.toolkit.fluxcd.io/name"
	labelNamespace = "helm.toolkit.fluxcd.io/namespace"
)

// labelPostRenderer stamps helm.toolkit.fluxcd.io/name and /namespace on
// every rendered object, as helm-controller's post-renderer does, so tools can
// find a HelmRelease's objects by label.
type labelPostRenderer struct {
	name, namespace string
}

func (p labelPostRenderer) Run(in *bytes.Buffer) (*bytes.Buffer, error) {
	out := new(bytes.Buffer)
	r := utilyaml.NewYAMLReader(bufioReader(in))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("post-render: reading rendered manifests: %w", err)
		}
		obj := map[string]any{}
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			return nil, fmt.Errorf("post-render: parsing rendered manifest: %w", err)
		}
		if len(obj) == 0 {
			continue
		}
		md, _ := obj["metadata"].(map[string]any)
		if md == nil {
			md = map[string]any{}
			obj["metadata"] = md
		}
		labels, _ := md["labels"].(map[string]any)
		if labels == nil {
			labels = map[string]any{}
			md["labels"] = labels
		}
		labels[labelName] = p.name
		labels[labelNamespace] = p.namespace
		b, err := yaml.Marshal(obj)
		if err != nil {
			return nil, fmt.Errorf("post-render: writing manifest: %w", err)
		}
		out.WriteString("---\n")
		out.Write(b)
	}
	return out, nil
}

func bufioReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }
