#!/usr/bin/env bash
# make test (and CI on a fresh clone): lint, unit tests, then the end-to-end suite on a sandbox cluster
# started for this run and stopped at the end, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
make lint
go test -timeout 30m ./...

# The sandbox is its own module (so the main go.mod stays lean): vet and test it separately, and vet the
# end-to-end tests, which only build with their tag.
(cd sandbox && test -z "$(gofmt -l .)" && go vet ./... && go test ./...)
if [ -f sandbox/helm-controller/go.mod ]; then
  (cd sandbox/helm-controller && go vet ./... && go test ./...)
fi
go vet -tags e2e ./test/...

# Pull/merge requests against a real Gitea server built from Go modules (hack/gitea, cached by version under
# ~/.cache/kubectl-gitops/tools; the first build takes several minutes) and started on loopback by the tests.
go vet -tags forge ./test/forge/
go test -tags forge -count=1 -timeout 30m ./test/forge/

# Release: goreleaser snapshot, krew and flux plugin installs (see test/release).
make release-check

# A cluster of its own, so a sandbox kept for `make demo` is neither reused nor stopped by the tests.
# Two clusters, so the fleet tests (test/e2e/fleet_test.go) need no sandbox of their own: every other
# test runs on the first, the current context of the kubeconfig. One more API server with its
# controllers costs about 0.85 GiB and 8 s of start-up (docs/fleet.md), less than a second sandbox would.
export GITOPS_SANDBOX_DIR="${GITOPS_SANDBOX_TEST_DIR:-${TMPDIR:-/tmp}/kubectl-gitops-sandbox-test}"
trap 'make -s sandbox-down' EXIT
make -s sandbox-up SANDBOX_CLUSTERS="${GITOPS_SANDBOX_TEST_CLUSTERS:-staging production}"
eval "$(make -s sandbox-env)"
go test -tags e2e -count=1 -timeout 40m ./test/e2e/...
make -s sandbox-status
