#!/usr/bin/env bash
# hack/tools.sh NAME: print the path of a release tool, building it first if
# the cache does not hold it yet.
#
#   goreleaser, krew, validate-krew-manifest,
#   cyclonedx-gomod (SBOMs)                   pinned in hack/tools/go.mod
#   flux                                      the Flux CLI at the flux2/v2 version in go.mod
#   staticcheck                               pinned in hack/lint/go.mod (make lint)
#   yq                                        pinned in hack/yq/go.mod (baseline of the
#                                             override large-file benchmark)
#   gitea                                     the forge the forge tests run against (hack/gitea/go.mod)
#   sops                                      the sops CLI the --sops tests run (hack/sops/go.mod)
#
# Binaries live outside the work tree, keyed by version, so every worktree and
# every CI run on a machine shares one build:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-gitops/tools/<name>-<version>
# Each is built to a temporary file in that directory and renamed into place,
# so an interrupted or concurrent build never leaves a half-written tool.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/kubectl-gitops/tools"
mkdir -p "$cache"

name="${1:?usage: hack/tools.sh goreleaser|krew|validate-krew-manifest|cyclonedx-gomod|flux|yq|staticcheck|gitea|sops}"

modversion() { # dir module
  go -C "$1" list -m -f '{{.Version}}' "$2"
}

case "$name" in
  goreleaser) mod=github.com/goreleaser/goreleaser/v2; pkg=$mod; dir="$root/hack/tools" ;;
  krew) mod=sigs.k8s.io/krew; pkg=$mod/cmd/krew; dir="$root/hack/tools" ;;
  validate-krew-manifest) mod=sigs.k8s.io/krew; pkg=$mod/cmd/validate-krew-manifest; dir="$root/hack/tools" ;;
  cyclonedx-gomod) mod=github.com/CycloneDX/cyclonedx-gomod; pkg=$mod/cmd/cyclonedx-gomod; dir="$root/hack/tools" ;;
  flux) mod=github.com/fluxcd/flux2/v2; dir="$root" ;;
  staticcheck) mod=honnef.co/go/tools; pkg=$mod/cmd/staticcheck; dir="$root/hack/lint" ;;
  yq) mod=github.com/mikefarah/yq/v4; pkg=$mod; dir="$root/hack/yq" ;;
  gitea) mod=code.gitea.io/gitea; pkg=$mod; dir="$root/hack/gitea" ;;
  sops) mod=github.com/getsops/sops/v3; pkg=$mod/cmd/sops; dir="$root/hack/sops" ;;
  *) echo "hack/tools.sh: unknown tool $name (want goreleaser, krew, validate-krew-manifest, cyclonedx-gomod, flux, yq, staticcheck, gitea or sops)" >&2; exit 2 ;;
esac
version="$(modversion "$dir" "$mod")"
out="$cache/$name-$version"
# Gitea 1.26 has SQLite only through mattn/go-sqlite3 (cgo) behind these tags;
# the cache name says so, since a build without them cannot open a database.
buildtags="" cgo=0
if [[ "$name" == gitea ]]; then
  buildtags="sqlite sqlite_unlock_notify" cgo=1
  out="$out-sqlite"
fi
if [[ -x "$out" ]]; then
  echo "$out"
  exit 0
fi

# One build per tool at a time: a second caller waits, then finds it built.
if command -v flock >/dev/null; then
  exec 9>"$cache/.lock-$name"
  flock 9
  if [[ -x "$out" ]]; then
    echo "$out"
    exit 0
  fi
fi

echo "hack/tools.sh: building $name $version into $cache (once per version)" >&2
tmp="$(mktemp -d "$cache/.build-$name-XXXXXX")"
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT

if [[ "$name" == flux ]]; then
  # cmd/flux embeds manifests/*.yaml, generated upstream by `make`; the module
  # zip ships none, so the pattern matches nothing and the build fails. A copy
  # of the module with one placeholder file builds; the CLI then only lacks
  # `flux install` manifests, which the plugin checks never use.
  src="$(go -C "$dir" list -m -f '{{.Dir}}' "$mod")"
  if [[ -z "$src" || ! -d "$src" ]]; then
    go -C "$dir" mod download "$mod"
    src="$(go -C "$dir" list -m -f '{{.Dir}}' "$mod")"
  fi
  cp -r "$src" "$tmp/flux2"
  chmod -R u+w "$tmp/flux2"
  mkdir -p "$tmp/flux2/cmd/flux/manifests"
  printf '# placeholder so the go:embed pattern matches (see hack/tools.sh)\n' >"$tmp/flux2/cmd/flux/manifests/placeholder.yaml"
  (cd "$tmp/flux2" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.VERSION=${version#v}" -o "$tmp/bin" ./cmd/flux)
else
  CGO_ENABLED=$cgo go -C "$dir" build -trimpath -tags "$buildtags" -ldflags "-s -w" -o "$tmp/bin" "$pkg"
fi
mv -f "$tmp/bin" "$out"
echo "$out"
