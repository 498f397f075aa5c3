package manifest

import (
	"fmt"
	"strings"
	"testing"
)

func TestGroup(t *testing.T) {
	if Group("helm.toolkit.fluxcd.io/v2") != "helm.toolkit.fluxcd.io" || Group("v1") != "" {
		t.Fatal("Group")
	}
}

// Headers skims a large document to its header and still gives the line
// of each document in the file.
func TestHeadersOfALargeDocument(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: first\n---\n# a comment\napiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: big\n  namespace: apps\nspec:\n  values:\n")
	for i := 0; i < 40000; i++ {
		fmt.Fprintf(&b, "    key%d: v\n", i)
	}
	b.WriteString("---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: last\n")
	docs, bad := Headers("f.yaml", []byte(b.String()))
	if bad != nil {
		t.Fatal(bad)
	}
	if len(docs) != 3 || docs[1].Name != "big" || docs[1].Namespace != "apps" || docs[1].Line != 7 || docs[1].Index != 1 || docs[2].Line != 40015 {
		t.Fatalf("headers = %+v", docs)
	}
}
