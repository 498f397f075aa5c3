#!/usr/bin/env bash
# make demo: the founding story of kubectl-gitops on the local Flux cluster (docs/sandbox.md).
#
#   1. start the cluster, push the app repo and the GitOps repo to its Git server, apply the GitOps
#      manifests, wait for 2 pods of nginx:1.21
#   2. Scenario 2: an environment override written with `kubectl gitops override ... --push`
#   3. Flux picks the commit up, 4. rolls out 5 pods of nginx:1.22 with a 512Mi limit, 5. final check.
#
# Every run starts the story over: both repos are force-pushed from examples/, so a second `make demo`
# works the same way. Exits non-zero as soon as a step does not happen.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
n=0
step() { n=$((n + 1)); printf '\n== %d. %s\n' "$n" "$*"; }
fail() { printf '\ndemo FAILED: %s\n' "$*" >&2; exit 1; }
export GIT_AUTHOR_NAME="${GIT_AUTHOR_NAME:-kubectl-gitops demo}" GIT_AUTHOR_EMAIL="${GIT_AUTHOR_EMAIL:-demo@example.com}"
export GIT_COMMITTER_NAME="${GIT_COMMITTER_NAME:-kubectl-gitops demo}" GIT_COMMITTER_EMAIL="${GIT_COMMITTER_EMAIL:-demo@example.com}"
export GIT_TERMINAL_PROMPT=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }
request() { # request a reconcile now instead of waiting for the interval, as `flux reconcile` does
  kubectl annotate --overwrite "$@" "reconcile.fluxcd.io/requestedAt=$(now)" >/dev/null
}
head_of() { git ls-remote "$GITOPS_SANDBOX_GIT_URL/$1.git" refs/heads/main | cut -f1; }

step "Start the local Flux cluster"
make -s sandbox-up
eval "$(make -s sandbox-env)"

step "Push examples/sample-app-helm-chart and examples/flux-app-delivery to $GITOPS_SANDBOX_GIT_URL"
for repo in sample-app-helm-chart flux-app-delivery; do
  cp -r "examples/$repo" "$work/$repo"
  # The examples point at placeholder URLs; the cluster clones from its own Git server.
  { grep -rl 'https://github.com/example/' "$work/$repo" || true; } | xargs -r sed -i "s#https://github.com/example/#$GITOPS_SANDBOX_GIT_URL/#g"
  git -C "$work/$repo" init -q --initial-branch=main
  git -C "$work/$repo" add -A
  git -C "$work/$repo" commit -qm "import $repo"
  git -C "$work/$repo" push -q --force "$GITOPS_SANDBOX_GIT_URL/$repo.git" main
  echo "   $repo: $(git -C "$work/$repo" rev-parse --short HEAD)"
done
gitops_rev="main@sha1:$(head_of flux-app-delivery)"

step "Apply the GitOps manifests and wait for sample-app: 2 pods of nginx:1.21"
kubectl apply --server-side --force-conflicts -f "$work/flux-app-delivery/sources" -f "$work/flux-app-delivery/clusters/local"
request -n flux-system gitrepository/sample-app-helm-chart gitrepository/flux-app-delivery
request -n flux-system kustomization/sample-app
kubectl wait -n flux-system kustomization/sample-app --for=jsonpath='{.status.lastAppliedRevision}'="$gitops_rev" --timeout=3m >/dev/null ||
  fail "Flux did not apply $gitops_rev (kubectl -n flux-system describe kustomization sample-app)"

# wait_release: the HelmRelease has reconciled its current spec and is Ready, then the rollout is done.
wait_release() {
  local gen
  gen=$(kubectl get -n sample-app helmrelease/sample-app -o jsonpath='{.metadata.generation}')
  kubectl wait -n sample-app helmrelease/sample-app --for=jsonpath='{.status.observedGeneration}'="$gen" --timeout=3m >/dev/null &&
    kubectl wait -n sample-app helmrelease/sample-app --for=condition=Ready --timeout=3m >/dev/null ||
    fail "HelmRelease sample-app did not become Ready (kubectl -n sample-app describe helmrelease sample-app)"
  kubectl rollout status -n sample-app deployment/sample-app --timeout=3m >/dev/null ||
    fail "Deployment sample-app did not finish its rollout"
}
# check_pods N IMAGE [MEMORY]: exactly N Ready pods run IMAGE (with that memory limit).
check_pods() {
  local want=$1 image=$2 mem=${3:-} got
  got=$(kubectl get pods -n sample-app -l app.kubernetes.io/instance=sample-app -o \
    jsonpath='{range .items[*]}{.metadata.deletionTimestamp}|{.spec.containers[0].image}|{.spec.containers[0].resources.limits.memory}|{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' |
    awk -F'|' -v i="$image" -v m="$mem" '$1 == "" && $2 == i && (m == "" || $3 == m) && $4 == "True"' | wc -l)
  [ "$got" -eq "$want" ] || fail "want $want Ready pods of $image${mem:+ with memory limit $mem}, found $got"
  echo "   $got pods Ready, image $image${mem:+, memory limit $mem}"
}
wait_release
check_pods 2 nginx:1.21

step "Scenario 2: override the release for this environment with kubectl gitops override --push"
git clone -q "$GITOPS_SANDBOX_GIT_URL/flux-app-delivery.git" "$work/clone"
bin/kubectl-gitops override sample-app -n sample-app --repo "$work/clone" \
  --set-string image.tag=1.22 --set replicaCount=5 --set resources.limits.memory=512Mi --push ||
  fail "kubectl gitops override exited $?"
pushed=$(now)
new_rev="main@sha1:$(head_of flux-app-delivery)"
[ "$new_rev" != "$gitops_rev" ] || fail "the override did not push a new commit to flux-app-delivery"
git -C "$work/clone" --no-pager show --stat --format='   %h %s' HEAD | sed 's/^/   /'

step "Flux picks up the commit (reconcile requested, as \`flux reconcile\` does)"
request -n flux-system gitrepository/flux-app-delivery
request -n flux-system kustomization/sample-app
kubectl wait -n flux-system kustomization/sample-app --for=jsonpath='{.status.lastAppliedRevision}'="$new_rev" --timeout=2m >/dev/null ||
  fail "Flux did not apply $new_rev"
echo "   Kustomization sample-app applied $new_rev after $(since "$pushed")"

step "Rolling update to 5 pods of nginx:1.22 with a 512Mi memory limit"
wait_release
echo "   $(kubectl get -n sample-app helmrelease/sample-app -o jsonpath='{.status.conditions[?(@.type=="Released")].message}')"
echo "   git push to pods Ready: $(since "$pushed")"

step "What runs now"
kubectl get -n sample-app deployment/sample-app -o wide
check_pods 5 nginx:1.22 512Mi
printf '\ndemo OK\n'
