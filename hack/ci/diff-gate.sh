#!/usr/bin/env bash
# The CI gate of kubectl-gitops (action.yml and examples/ci/gitlab-ci.yml run
# it): install the released binary of KUBECTL_GITOPS_VERSION, checked against
# the release's checksums.txt, then run `kubectl gitops diff` on the pull
# request's range and post the report on it (--comment). See docs/ci.md.
#
# Environment:
#   KUBECTL_GITOPS_VERSION   release to install, e.g. 0.4.0 or v0.4.0 (required)
#   KUBECTL_GITOPS_RELEASES  where releases are downloaded from
#                            (default https://github.com/kubectl-gitops/kubectl-gitops/releases/download)
#   GATE_BASE                branch the request merges into (default: $GITHUB_BASE_REF,
#                            else $CI_MERGE_REQUEST_TARGET_BRANCH_NAME)
#   GATE_PR                  number of the request (default: $CI_MERGE_REQUEST_IID)
#   GATE_REMOTE              Git remote of the forge (default origin)
#   GATE_COMMENT             "false" to print the report without posting it
#   GATE_FAIL_ON_CHANGE      "true" to fail when something changes (exit 7)
#   GATE_ARGS                more arguments for diff (--allow-unchecked, --chart-dir DIR, ...)
#   GATE_INSTALL_DIR         where the binary goes (default $RUNNER_TEMP or /tmp, + /kubectl-gitops)
# The forge token is read by kubectl-gitops itself (GITHUB_TOKEN, GITLAB_TOKEN,
# GITEA_TOKEN, ...); this script never prints it.
set -euo pipefail

die() { echo "diff-gate: $*" >&2; exit 2; }

version="${KUBECTL_GITOPS_VERSION:?diff-gate: set KUBECTL_GITOPS_VERSION (the release to install, e.g. 0.4.0)}"
version="${version#v}"
releases="${KUBECTL_GITOPS_RELEASES:-https://github.com/kubectl-gitops/kubectl-gitops/releases/download}"
base="${GATE_BASE:-${GITHUB_BASE_REF:-${CI_MERGE_REQUEST_TARGET_BRANCH_NAME:-}}}"
pr="${GATE_PR:-${CI_MERGE_REQUEST_IID:-}}"
remote="${GATE_REMOTE:-origin}"
[[ -n "$base" ]] || die "no base branch: set GATE_BASE (the branch the pull request merges into)"

case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  *) die "unsupported OS $(uname -s): run on Linux or macOS" ;;
esac
case "$(uname -m)" in
  x86_64|amd64) arch=amd64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) die "unsupported architecture $(uname -m)" ;;
esac

dir="${GATE_INSTALL_DIR:-${RUNNER_TEMP:-/tmp}/kubectl-gitops}"
mkdir -p "$dir"
archive="kubectl-gitops_${version}_${os}_${arch}.tar.gz"
url="$releases/v$version"
curl -fsSL --retry 3 -o "$dir/$archive" "$url/$archive" || die "downloading $url/$archive failed: is $version a release?"
curl -fsSL --retry 3 -o "$dir/checksums.txt" "$url/checksums.txt" || die "downloading $url/checksums.txt failed"
want="$(awk -v f="$archive" '$2 == f || $2 == "*" f { print $1 }' "$dir/checksums.txt")"
[[ -n "$want" ]] || die "checksums.txt of $version does not list $archive"
got="$(sha256sum "$dir/$archive" | awk '{print $1}')"
[[ "$got" == "$want" ]] || die "checksum mismatch for $archive: sha256 $got, checksums.txt says $want; not running it"
tar -xzf "$dir/$archive" -C "$dir" kubectl-gitops
echo "diff-gate: installed kubectl-gitops $version ($archive, sha256 $got)"
if [[ -n "${GITHUB_PATH:-}" ]]; then echo "$dir" >> "$GITHUB_PATH"; fi

# The merge base needs the base branch's history.
git fetch --quiet --no-tags "$remote" "+refs/heads/$base:refs/remotes/$remote/$base" || die "fetching $base from $remote failed"

args=(diff --base "$remote/$base")
if [[ "${GATE_COMMENT:-true}" != false ]]; then
  args+=(--comment --remote "$remote")
  if [[ -n "$pr" ]]; then args+=(--pr-number "$pr"); fi
fi
# shellcheck disable=SC2206 # GATE_ARGS is split on purpose
args+=(${GATE_ARGS:-})
set +e
"$dir/kubectl-gitops" "${args[@]}"
code=$?
set -e
if [[ $code -eq 7 && "${GATE_FAIL_ON_CHANGE:-false}" != true ]]; then
  code=0 # changes, every one rendered and valid
fi
exit "$code"
