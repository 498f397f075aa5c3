package fluxstatus

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"
)

// Fixed SHAs for fixtures: C is traced, P its parent, L a later commit.
const (
	shaC = "a1ec31cde25a4b5c6d7e8f90a1b2c3d4e5f60718"
	shaP = "b923ae7c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f50"
	shaL = "c0ffee00112233445566778899aabbccddeeff00"
)

var fixtureVars = map[string]string{"C": shaC, "P": shaP, "L": shaL}

// LoadFixture reads a multi-document YAML fixture: Kubernetes objects, plus
// one "kind: CommitFacts" document with what the Git side would establish.
// {{X}} and {{X12}} are replaced by vars[X] and its first 12 characters.
// name may join files with "+": their documents are read as one fixture.
func loadFixture(t testing.TB, name string, vars map[string]string) (*Cluster, *Commit) {
	t.Helper()
	var docs []string
	for _, n := range strings.Split(name, "+") {
		b, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, string(b))
	}
	c, commit, err := ParseFixture(strings.Join(docs, "\n---\n"), vars)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return c, commit
}

// ParseFixture is the fixture format, shared with the plugin's tests.
func ParseFixture(s string, vars map[string]string) (*Cluster, *Commit, error) {
	for k, v := range vars {
		s = strings.ReplaceAll(s, "{{"+k+"12}}", v[:12])
		s = strings.ReplaceAll(s, "{{"+k+"}}", v)
	}
	c := &Cluster{}
	commit := &Commit{SHA: vars["C"]}
	for _, doc := range strings.Split(s, "\n---\n") {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			return nil, nil, err
		}
		if len(m) == 0 {
			continue
		}
		if m["kind"] == "CommitFacts" {
			var f struct {
				Input        string                 `json:"input"`
				Subject      string                 `json:"subject"`
				CommittedAt  time.Time              `json:"committedAt"`
				Pushed       bool                   `json:"pushed"`
				Paths        []string               `json:"paths"`
				HelmReleases []types.NamespacedName `json:"helmReleases"`
				Relations    map[string]Relation    `json:"relations"`
				ChartBuilds  map[string]string      `json:"chartBuilds"`
			}
			if err := yaml.Unmarshal([]byte(doc), &f); err != nil {
				return nil, nil, err
			}
			commit.Input, commit.Subject, commit.CommittedAt = f.Input, f.Subject, f.CommittedAt
			commit.Pushed, commit.Paths, commit.HelmReleases = f.Pushed, f.Paths, f.HelmReleases
			commit.Relations, commit.ChartBuilds = f.Relations, f.ChartBuilds
			commit.Subjects = map[string]string{shaL: "later commit"}
			continue
		}
		if err := c.Add(&unstructured.Unstructured{Object: m}); err != nil {
			return nil, nil, err
		}
	}
	return c, commit, nil
}
