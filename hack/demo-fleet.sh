#!/usr/bin/env bash
# make demo-fleet: examples/flux-multi-env on two clusters of the sandbox, staging and production
# (docs/fleet.md).
#
#   1. start a two-cluster sandbox, push the app repo (tags v0.1.2, v0.1.3) and the GitOps repo (with a
#      kube context per environment in .gitops.yaml), apply each cluster's Flux objects, wait for
#      staging on chart 0.1.3 and production on 0.1.2
#   2. release chart 0.1.4 and ship it to staging (its GitRepository tag moves)
#   3. trace the chart commit across both clusters: staging deployed, production waiting for promotion
#   4. promote --require-deployed reads staging's cluster through its context and ships it to production
#   5. trace again: deployed in both
#
# Every run starts the story over (both repos are force-pushed from examples/, tags included), so it can
# be run again and again. Exits non-zero as soon as a step does not happen.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
n=0
step() { n=$((n + 1)); printf '\n== %d. %s\n' "$n" "$*"; }
fail() { printf '\ndemo-fleet FAILED: %s\n' "$*" >&2; exit 1; }
export GIT_AUTHOR_NAME="${GIT_AUTHOR_NAME:-kubectl-gitops demo}" GIT_AUTHOR_EMAIL="${GIT_AUTHOR_EMAIL:-demo@example.com}"
export GIT_COMMITTER_NAME="${GIT_COMMITTER_NAME:-kubectl-gitops demo}" GIT_COMMITTER_EMAIL="${GIT_COMMITTER_EMAIL:-demo@example.com}"
export GIT_TERMINAL_PROMPT=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
now() { date +%s.%N; }
request() { # ctx kind/name...: request a reconcile now, as `flux reconcile` does
  local ctx=$1
  shift
  kubectl --context "$ctx" annotate --overwrite -n flux-system "$@" "reconcile.fluxcd.io/requestedAt=$(now)" >/dev/null
}
# wait_chart CONTEXT ENV VERSION: the HelmRelease runs chart VERSION, deployed and Ready.
wait_chart() {
  local ctx=$1 ns=sample-app-$2 v=$3
  kubectl --context "$ctx" wait -n "$ns" helmrelease/sample-app --for=jsonpath='{.status.history[0].chartVersion}'="$v" --timeout=4m >/dev/null &&
    kubectl --context "$ctx" wait -n "$ns" helmrelease/sample-app --for=jsonpath='{.status.history[0].status}'=deployed --timeout=2m >/dev/null &&
    kubectl --context "$ctx" wait -n "$ns" helmrelease/sample-app --for=condition=Ready --timeout=2m >/dev/null &&
    kubectl --context "$ctx" rollout status -n "$ns" deployment/sample-app --timeout=3m >/dev/null ||
    fail "$2 does not run chart $v (kubectl --context $ctx -n $ns describe helmrelease sample-app)"
  echo "   $2 (context $ctx): chart $v, Ready"
}
# wait_source CONTEXT ENV TAG: the environment's chart GitRepository fetched TAG as this run pushed it
# (a second run force-pushes the tags to new commits).
wait_source() {
  local sha
  sha=$(git -C "$app" rev-parse "$3^{commit}")
  kubectl --context "$1" wait -n "sample-app-$2" gitrepository/sample-app-chart \
    --for=jsonpath='{.status.artifact.revision}'="$3@sha1:$sha" --timeout=3m >/dev/null ||
    fail "$2 did not fetch $3 at ${sha:0:12}"
}
kg() { "$root/bin/kubectl-gitops" "$@"; }

step "Start a sandbox with two clusters, staging and production"
export GITOPS_SANDBOX_DIR="${GITOPS_SANDBOX_FLEET_DIR:-/tmp/kubectl-gitops-sandbox-fleet}"
make -s sandbox-up SANDBOX_CLUSTERS="staging production"
eval "$(make -s sandbox-env)"
kubectl config get-contexts

step "Push the app repo (tags v0.1.2, v0.1.3) and examples/flux-multi-env to $GITOPS_SANDBOX_GIT_URL"
app=$work/sample-app-helm-chart
cp -r examples/sample-app-helm-chart "$app"
git -C "$app" init -q --initial-branch=main
git -C "$app" add -A
git -C "$app" commit -qm "sample-app chart 0.1.2"
git -C "$app" tag v0.1.2
sed -i 's/^version: .*/version: 0.1.3/' "$app/charts/sample-app/Chart.yaml"
git -C "$app" commit -qam "release 0.1.3"
git -C "$app" tag v0.1.3
git -C "$app" remote add origin "$GITOPS_SANDBOX_GIT_URL/sample-app-helm-chart.git"
git -C "$app" push -q --force origin main v0.1.2 v0.1.3
# A tag from an earlier run would point at a commit this run does not have.
git -C "$app" push -q origin :refs/tags/v0.1.4 2>/dev/null || true

gitops=$work/flux-multi-env
cp -r examples/flux-multi-env "$gitops"
sed -i "s#https://github.com/example/#$GITOPS_SANDBOX_GIT_URL/#g" "$gitops"/apps/*/sample-app-source.yaml
# Each environment in its own cluster: the kube context goes into .gitops.yaml.
sed -i -e 's/^    # context: staging-cluster .*$/    context: staging/' \
  -e '/^    namespace: sample-app-production$/a\    context: production' "$gitops/.gitops.yaml"
grep -q '^    context: staging$' "$gitops/.gitops.yaml" && grep -q '^    context: production$' "$gitops/.gitops.yaml" ||
  fail "could not set the contexts in .gitops.yaml"
git -C "$gitops" init -q --initial-branch=main
git -C "$gitops" add -A
git -C "$gitops" commit -qm "import flux-multi-env, one cluster per environment"
git -C "$gitops" remote add origin "$GITOPS_SANDBOX_GIT_URL/flux-multi-env.git"
git -C "$gitops" push -q --force origin main
sed -n '/^environments:/,$p' "$gitops/.gitops.yaml" | sed 's/^/   /'

step "Apply each cluster's Flux objects; wait for staging on chart 0.1.3, production on 0.1.2"
for env in staging production; do
  # What `flux bootstrap` makes in each cluster: the GitRepository of the GitOps repo itself.
  kubectl --context "$env" apply --server-side --force-conflicts -f - >/dev/null <<EOF
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: flux-system
  namespace: flux-system
spec:
  interval: 1m
  url: $GITOPS_SANDBOX_GIT_URL/flux-multi-env.git
  ref:
    branch: main
EOF
  kubectl --context "$env" apply --server-side --force-conflicts -f "$gitops/clusters/$env" >/dev/null
  request "$env" gitrepository/flux-system kustomization/apps-$env
done
for env in staging production; do
  kubectl --context "$env" wait -n sample-app-$env gitrepository/sample-app-chart --for=create --timeout=3m >/dev/null ||
    fail "Flux did not apply apps/$env in cluster $env"
  kubectl --context "$env" annotate --overwrite -n sample-app-$env gitrepository/sample-app-chart "reconcile.fluxcd.io/requestedAt=$(now)" >/dev/null
done
wait_source staging staging v0.1.3
wait_source production production v0.1.2
wait_chart staging staging 0.1.3
wait_chart production production 0.1.2

step "Release chart 0.1.4 and ship it to staging"
sed -i -e 's/^version: .*/version: 0.1.4/' -e 's/^appVersion: .*/appVersion: "1.22"/' "$app/charts/sample-app/Chart.yaml"
git -C "$app" commit -qam "release 0.1.4: nginx 1.22 by default"
git -C "$app" tag v0.1.4
git -C "$app" push -q origin main v0.1.4
rev=$(git -C "$app" rev-parse HEAD)
echo "   chart commit $(git -C "$app" log -1 --format='%h %s')"
sed -i 's/tag: v0.1.3/tag: v0.1.4/' "$gitops/apps/staging/sample-app-source.yaml"
git -C "$gitops" commit -qam "staging: sample-app 0.1.4"
git -C "$gitops" push -q origin main
request staging gitrepository/flux-system kustomization/apps-staging
wait_chart staging staging 0.1.4

# trace_all_envs WANT: trace the chart commit across both clusters until settled (exit 0), then check each
# environment's state in -o json is WANT ("staging=... production=...").
trace_all_envs() {
  local code out states
  set +e
  kg trace "$rev" --repo "$app" --all-envs --gitops-repo "$gitops" --reconcile --wait --timeout 3m
  code=$?
  set -e
  [ "$code" -eq 0 ] || fail "trace --all-envs exited $code, want 0 ($1)"
  out=$(kg trace "$rev" --repo "$app" --all-envs --gitops-repo "$gitops" -o json)
  states=$(printf '%s' "$out" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(" ".join(e["name"]+"="+e["state"] for e in r["environments"]))')
  [ "$states" = "$1" ] || fail "trace -o json says $states, want $1"
  echo "   -o json: $states"
}

step "Where is the chart commit? trace --all-envs: staging runs it, production waits for promotion"
trace_all_envs "staging=deployed production=waitingForPromotion"

step "promote --require-deployed: checks staging's cluster through its context, ships 0.1.4 to production"
kg promote sample-app --from staging --to production --require-deployed --push --repo "$gitops" ||
  fail "kubectl gitops promote exited $?"
request production gitrepository/flux-system kustomization/apps-production
wait_chart production production 0.1.4

step "trace --all-envs again: deployed in both clusters"
trace_all_envs "staging=deployed production=deployed"
printf '\ndemo-fleet OK\n'
