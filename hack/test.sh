#!/usr/bin/env bash
# make test: unit tests, then (as they land) the end-to-end suites on the local cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
make lint
go test ./...
# Release: goreleaser snapshot, krew and flux plugin installs (see test/release).
make release-check
