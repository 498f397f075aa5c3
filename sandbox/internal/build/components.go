package build

import (
	"fmt"
	"strings"
)

// Versions of every third-party part, chosen for what the module proxy serves and Go 1.26.8 builds
// (see docs/sandbox.md for why each one).
const (
	KubernetesVersion          = "v1.34.4"
	StagingVersion             = "v0.34.4"
	EtcdVersion                = "v3.6.16"
	KwokVersion                = "v0.8.0"
	SourceControllerVersion    = "v1.9.0" // v1.9.5+ needs a fluxcd/pkg/artifact version the proxy refuses
	KustomizeControllerVersion = "v1.9.6"
	ControllerToolsVersion     = "v0.21.0"
	HelmControllerAPIVersion   = "v1.6.4"
)

// stagingModules are the k8s.io modules that k8s.io/kubernetes replaces with ./staging/...; outside its own
// repository each has to be pinned to the matching published v0.x version.
var stagingModules = []string{
	"api", "apiextensions-apiserver", "apimachinery", "apiserver", "cli-runtime", "client-go",
	"cloud-provider", "cluster-bootstrap", "code-generator", "component-base", "component-helpers",
	"controller-manager", "cri-api", "cri-client", "csi-translation-lib", "dynamic-resource-allocation",
	"endpointslice", "externaljwt", "kms", "kube-aggregator", "kube-controller-manager", "kube-proxy",
	"kube-scheduler", "kubectl", "kubelet", "metrics", "mount-utils", "pod-security-admission",
	"sample-apiserver", "sample-cli-plugin", "sample-controller",
}

func tools(imports ...string) string {
	var b strings.Builder
	b.WriteString("//go:build tools\n\n// Package tools pins the commands this throwaway module builds.\npackage tools\n\nimport (\n")
	for _, i := range imports {
		fmt.Fprintf(&b, "\t_ %q\n", i)
	}
	b.WriteString(")\n")
	return b.String()
}

// Kubernetes builds kube-apiserver, kube-controller-manager and kube-scheduler.
func Kubernetes() Module {
	var b strings.Builder
	fmt.Fprintf(&b, "module sandbox.local/kubernetes\n\ngo 1.24.0\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n", KubernetesVersion)
	for _, s := range stagingModules {
		fmt.Fprintf(&b, "\tk8s.io/%s => k8s.io/%s %s\n", s, s, StagingVersion)
	}
	b.WriteString(")\n")
	cmds := []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler"}
	m := Module{Name: "kubernetes", Version: KubernetesVersion, GoMod: b.String(), Files: map[string]string{}}
	var imports []string
	for _, c := range cmds {
		imports = append(imports, "k8s.io/kubernetes/cmd/"+c)
		m.Targets = append(m.Targets, Target{Bin: c, Pkg: "k8s.io/kubernetes/cmd/" + c})
	}
	m.Files["tools.go"] = tools(imports...)
	return m
}

// Etcd builds etcd from its server module with a five-line main.
func Etcd() Module {
	return Module{
		Name: "etcd", Version: EtcdVersion,
		GoMod: fmt.Sprintf("module sandbox.local/etcd\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 %s\n", EtcdVersion),
		Files: map[string]string{"main.go": `// Command etcd is etcd's own main, reachable from its server module.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
`},
		Targets: []Target{{Bin: "etcd", Pkg: "."}},
	}
}

// Kwok builds the fake kubelet.
func Kwok() Module {
	return Module{
		Name: "kwok", Version: KwokVersion,
		GoMod:   fmt.Sprintf("module sandbox.local/kwok\n\ngo 1.26.0\n\nrequire sigs.k8s.io/kwok %s\n", KwokVersion),
		Files:   map[string]string{"tools.go": tools("sigs.k8s.io/kwok/cmd/kwok")},
		Targets: []Target{{Bin: "kwok", Pkg: "sigs.k8s.io/kwok/cmd/kwok"}},
	}
}

const goDigestReplace = "replace github.com/opencontainers/go-digest => github.com/opencontainers/go-digest v1.0.1-0.20220411205349-bde1400a84be\n"

// SourceController builds Flux's source-controller (its main package is the module root).
func SourceController() Module {
	return Module{
		Name: "source-controller", Version: SourceControllerVersion,
		GoMod: fmt.Sprintf("module sandbox.local/source-controller\n\ngo 1.26.0\n\nrequire github.com/fluxcd/source-controller %s\n\n%s",
			SourceControllerVersion, goDigestReplace),
		Files:        map[string]string{"tools.go": tools("github.com/fluxcd/source-controller")},
		TidyTolerant: true,
		Targets:      []Target{{Bin: "source-controller", Pkg: "github.com/fluxcd/source-controller"}},
	}
}

// KustomizeController builds Flux's kustomize-controller, copying the replace lines of its own go.mod.
func KustomizeController() Module {
	return Module{
		Name: "kustomize-controller", Version: KustomizeControllerVersion,
		GoMod: fmt.Sprintf(`module sandbox.local/kustomize-controller

go 1.26.0

require github.com/fluxcd/kustomize-controller %s

%sreplace (
	sigs.k8s.io/kustomize/api => sigs.k8s.io/kustomize/api v0.21.1
	sigs.k8s.io/kustomize/kyaml => sigs.k8s.io/kustomize/kyaml v0.21.1
	gopkg.in/yaml.v3 => gopkg.in/yaml.v3 v3.0.1
)
`, KustomizeControllerVersion, goDigestReplace),
		Files:        map[string]string{"tools.go": tools("github.com/fluxcd/kustomize-controller")},
		TidyTolerant: true,
		Targets:      []Target{{Bin: "kustomize-controller", Pkg: "github.com/fluxcd/kustomize-controller"}},
	}
}

// ControllerGen builds controller-gen, used once to generate the HelmRelease CRD.
func ControllerGen() Module {
	return Module{
		Name: "controller-gen", Version: ControllerToolsVersion,
		GoMod:   fmt.Sprintf("module sandbox.local/controller-gen\n\ngo 1.26.0\n\nrequire sigs.k8s.io/controller-tools %s\n", ControllerToolsVersion),
		Files:   map[string]string{"tools.go": tools("sigs.k8s.io/controller-tools/cmd/controller-gen")},
		Targets: []Target{{Bin: "controller-gen", Pkg: "sigs.k8s.io/controller-tools/cmd/controller-gen"}},
	}
}

// HelmControllerAPI is a module that only depends on the HelmRelease API types, so controller-gen can load
// them: no served module ships the HelmRelease CRD itself.
func HelmControllerAPI() Module {
	return Module{
		Name: "helm-controller-api", Version: HelmControllerAPIVersion,
		GoMod: fmt.Sprintf("module sandbox.local/helmreleasecrd\n\ngo 1.26.0\n\nrequire github.com/fluxcd/helm-controller/api %s\n", HelmControllerAPIVersion),
		Files: map[string]string{"types.go": `// Package helmreleasecrd exists so controller-gen can load the HelmRelease API types.
package helmreleasecrd

import _ "github.com/fluxcd/helm-controller/api/v2"
`},
	}
}
