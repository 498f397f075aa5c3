# kubectl-gitops. The two commands a fresh machine needs: `make demo` and `make test`.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
DATE ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
PKG := github.com/kubectl-gitops/kubectl-gitops/internal/version
LDFLAGS := -s -w -X $(PKG).version=$(VERSION) -X $(PKG).commit=$(COMMIT) -X $(PKG).date=$(DATE)
BIN := bin/kubectl-gitops

.PHONY: build test unit e2e forge-test demo demo-fleet lint sandbox-bin sandbox-up sandbox-down sandbox-env sandbox-status release-check bench bench-cluster

# Without cgo, as .goreleaser.yaml builds: a cgo build is linked dynamically and
# (kustomize's API imports Go's plugin package) exports every symbol, 81 MB
# instead of 63 and nearly twice the start-up memory (docs/release.md, "Start-up").
build: ## Build bin/kubectl-gitops and bin/kubectl_complete-gitops
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/kubectl-gitops
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o bin/kubectl_complete-gitops ./cmd/kubectl_complete-gitops

unit: ## Unit tests (no cluster)
	$(GO) test -timeout 30m ./...

test: ## Every test: unit, end-to-end on the local cluster, release checks
	hack/test.sh

demo: build ## The founding story on the local cluster
	hack/demo.sh

demo-fleet: build ## examples/flux-multi-env on two clusters: trace across them, promote --require-deployed
	hack/demo-fleet.sh

lint: ## gofmt, go vet and staticcheck (built once per version by hack/tools.sh, cached outside the tree)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags release ./test/release/
	$(GO) vet -tags e2e ./test/e2e/...
	@sc=$$(hack/tools.sh staticcheck) && $$sc ./... && $$sc -tags e2e ./test/e2e/... && $$sc -tags release ./test/release/

# The local Flux cluster (docs/sandbox.md). Recipes are silent so `eval "$$(make -s sandbox-env)"` works.
SANDBOX := bin/sandbox
# SANDBOX_CLUSTERS="staging production" runs one API server with its own controllers per name, a kube
# context each (default: one cluster, context kubectl-gitops-sandbox).
SANDBOX_CLUSTERS ?=

sandbox-bin:
	@cd sandbox && $(GO) build -o ../$(SANDBOX) ./cmd/sandbox

sandbox-up: sandbox-bin ## Build what is missing and start the local cluster(s) (SANDBOX_CLUSTERS="a b"); prints the exports
	@$(SANDBOX) up $(if $(strip $(SANDBOX_CLUSTERS)),--clusters "$(SANDBOX_CLUSTERS)")

sandbox-down: sandbox-bin ## Stop everything the sandbox started and remove its state
	@$(SANDBOX) down

sandbox-env: sandbox-bin ## Print the exports of the running sandbox
	@$(SANDBOX) env

sandbox-status: sandbox-bin ## Each cluster, and health and memory of each sandbox component
	@$(SANDBOX) status

forge-test: ## --pr end to end against a real Gitea built from Go modules and started on loopback (docs/pr.md)
	$(GO) test -tags forge -count=1 -timeout 30m ./test/forge/

e2e: ## End-to-end tests on the running sandbox
	$(GO) test -tags e2e -count=1 -timeout 30m ./test/e2e/...
release-check: ## goreleaser check + snapshot, krew and flux plugin installs (RELEASE_ALL_PLATFORMS=1 for all six)
	$(GO) test -tags release -count=1 -v -timeout 60m ./test/release/

bench: ## Benchmarks (figures as ratios against baselines in the same run)
	$(GO) test -run '^$$' -bench . -benchmem ./...

bench-cluster: sandbox-up ## trace at scale on the sandbox: 1,000 HelmReleases, 10,000 pods, side by side with flux trace
	$(GO) test -tags e2e -count=1 -run '^$$' -bench TraceAtScale -benchtime 1x -timeout 60m -v ./test/e2e/
