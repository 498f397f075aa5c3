#!/usr/bin/env bash
# make demo: the founding story of kubectl-gitops on the local Flux cluster (docs/demo.md has a transcript).
#
#   1. the three roles: the app repo, the GitOps repo, the cluster
#   2. deploy: push both repos to the cluster's Git server, apply the GitOps manifests, and follow the commit
#      with `kubectl gitops trace` to 2 pods of nginx:1.21
#   3. the Flux controllers running; 4. the app's pods and service
#   5. Scenario 1: a change to the chart's values.yaml (nginx 1.22, 3 replicas); trace diagnoses the
#      ChartVersion trap (exit 4) and prints the fix; the fix (Chart.yaml's version bumped) is pushed and
#      trace follows it to 3 Ready pods of nginx:1.22
#   6. Scenario 2: an environment override with `kubectl gitops override` (--dry-run, a typo refused
#      by validation before the push, then --push), followed by trace to 5 pods
#   7. verify: 5 pods of nginx:1.22 with a 512Mi limit, a release of a new chart version in the
#      HelmRelease's history; and a promotion staging -> production on examples/flux-multi-env with
#      `promote --status` before and after
#
# Every run starts the story over: the repos are force-pushed from examples/, so Flux returns the release to
# chart 0.1.2 with 2 pods of nginx:1.21 before Scenario 1. Exits non-zero as soon as a step does not happen.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# The commands shown are the plugin's own name; bin/ comes first on PATH so they are this build.
export PATH="$root/bin:$PATH"
n=0
step() { n=$((n + 1)); printf '\n== %d. %s\n' "$n" "$*"; }
say() { printf '   %s\n' "$*"; }
fail() { printf '\ndemo FAILED at step %d: %s\n' "$n" "$*" >&2; exit 1; }
# show: print a command as the user would type it, then run it; its output is indented.
show() { printf '\n   $ %s\n' "$*"; "$@" 2>&1 | sed 's/^/     /'; return "${PIPESTATUS[0]}"; }
export GIT_AUTHOR_NAME="${GIT_AUTHOR_NAME:-kubectl-gitops demo}" GIT_AUTHOR_EMAIL="${GIT_AUTHOR_EMAIL:-demo@example.com}"
export GIT_COMMITTER_NAME="${GIT_COMMITTER_NAME:-kubectl-gitops demo}" GIT_COMMITTER_EMAIL="${GIT_COMMITTER_EMAIL:-demo@example.com}"
export GIT_TERMINAL_PROMPT=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }
# tree DIR: the files of a checkout as an indented tree (no `tree` needed).
tree() {
  (cd "$1" && find . -path ./.git -prune -o -type f -print | sed 's#^\./##' | sort |
    awk -F/ '{ p = ""; for (i = 1; i < NF; i++) { p = p $i "/"; if (!(p in seen)) { seen[p] = 1; printf "     %*s%s/\n", 2 * (i - 1), "", $i } }
               printf "     %*s%s\n", 2 * (NF - 1), "", $NF }')
}
# On a terminal trace draws a live view; in a pipe or CI it blocks and prints the result.
follow=--wait
[ -t 1 ] && follow=--watch
# trace ARGS: run kubectl gitops trace in the current directory and return its exit code. Not through
# show's pipe: --watch draws its live view only on a terminal.
trace() { printf '\n   $ kubectl gitops trace %s\n' "$*"; kubectl gitops trace "$@"; }
# ready_pods IMAGE [MEMORY]: how many pods of sample-app are Ready on IMAGE (with that memory limit).
ready_pods() {
  kubectl get pods -n sample-app -l app.kubernetes.io/instance=sample-app -o \
    jsonpath='{range .items[*]}{.metadata.deletionTimestamp}|{.spec.containers[0].image}|{.spec.containers[0].resources.limits.memory}|{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' |
    awk -F'|' -v i="$1" -v m="${2:-}" '$1 == "" && $2 == i && (m == "" || $3 == m) && $4 == "True"' | wc -l
}
all_pods() { kubectl get pods -n sample-app -l app.kubernetes.io/instance=sample-app --no-headers 2>/dev/null | wc -l; }
# wait_pods N IMAGE [MEMORY]: the rollout to exactly N Ready pods of IMAGE is over (old pods gone): helm
# reports the release once the Deployment is available, a moment before the last old pod is deleted.
wait_pods() {
  local want=$1 image=$2 mem=${3:-} deadline=$(($(date +%s) + 120))
  until [ "$(ready_pods "$image" "$mem")" -eq "$want" ] && [ "$(all_pods)" -eq "$want" ]; do
    [ "$(date +%s)" -lt "$deadline" ] ||
      fail "want $want Ready pods of $image${mem:+ with memory limit $mem}, found $(ready_pods "$image" "$mem") of $(all_pods)"
    sleep 1
  done
  say "$want pods Ready, image $image${mem:+, memory limit $mem}"
}
# import_repo NAME: examples/NAME as a new repository in $work/NAME, force-pushed to the cluster's Git
# server (so every run starts over) and tracking it. The examples point at placeholder URLs; the cluster
# clones from its own Git server.
import_repo() {
  local dir="$work/$1"
  cp -r "examples/$1" "$dir"
  { grep -rl 'https://github.com/example/' "$dir" || true; } | xargs -r sed -i "s#https://github.com/example/#$GITOPS_SANDBOX_GIT_URL/#g"
  git -C "$dir" init -q --initial-branch=main
  git -C "$dir" add -A
  git -C "$dir" commit -qm "import $1"
  git -C "$dir" remote add origin "$GITOPS_SANDBOX_GIT_URL/$1.git"
  git -C "$dir" push -q --force origin main
  git -C "$dir" branch -q --set-upstream-to=origin/main
}
chart_version() { kubectl get -n sample-app helmrelease/sample-app -o jsonpath='{.status.history[0].chartVersion}'; }

step "The three roles"
make -s sandbox-up >"$work/sandbox-up.log" 2>&1 || { cat "$work/sandbox-up.log"; fail "the local cluster did not start"; }
eval "$(make -s sandbox-env)"
say "The app repo, sample-app-helm-chart: the chart, owned by the developers"
tree examples/sample-app-helm-chart
say "The GitOps repo, flux-app-delivery: what runs where, owned by the platform team"
tree examples/flux-app-delivery
say "The cluster: a local Kubernetes API server with Flux, cloning both repos from its own Git server"
say "API server $(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}'), Git server $GITOPS_SANDBOX_GIT_URL"

step "Deploy: push both repos, apply the GitOps manifests, follow the commit with kubectl gitops trace"
for repo in sample-app-helm-chart flux-app-delivery; do
  import_repo "$repo"
  say "pushed $repo $(git -C "$work/$repo" rev-parse --short HEAD) to $GITOPS_SANDBOX_GIT_URL/$repo.git"
done
show kubectl apply --server-side --force-conflicts -f "$work/flux-app-delivery/sources" -f "$work/flux-app-delivery/clusters/local" || fail "kubectl apply exited $?"
# Both sources are fetched now rather than at their interval (a second run returns both repos to the start).
kubectl annotate --overwrite -n flux-system gitrepository/sample-app-helm-chart gitrepository/flux-app-delivery \
  "reconcile.fluxcd.io/requestedAt=$(now)" >/dev/null
say "From the GitOps repo's checkout: is its HEAD live?"
cd "$work/flux-app-delivery"
trace HEAD --reconcile --wait --timeout 4m || fail "trace of the GitOps repo's HEAD exited $? (expected 0: deployed)"
say "From the app repo's checkout: is the chart's HEAD live?"
cd "$work/sample-app-helm-chart"
trace HEAD --reconcile --wait --timeout 4m || fail "trace of the app repo's HEAD exited $? (expected 0: deployed)"
wait_pods 2 nginx:1.21
first_chart=$(chart_version)
cd "$root"

step "The Flux controllers running"
show make -s sandbox-status || fail "a sandbox component is not healthy"

step "The app's pods and service"
show kubectl get -n sample-app deployments,pods,services -o wide

step "Scenario 1: a developer changes the chart's values.yaml (nginx 1.21 -> 1.22, replicas 2 -> 3)"
cd "$work/sample-app-helm-chart"
sed -i 's/^replicaCount: 2$/replicaCount: 3/; s/^  tag: "1.21"$/  tag: "1.22"/' charts/sample-app/values.yaml
show git --no-pager diff --stat
git commit -qam "sample-app: nginx 1.22, 3 replicas"
show git push -q origin main
say "The HelmRelease uses reconcileStrategy: ChartVersion and Chart.yaml still says $(awk '/^version:/ {print $2}' charts/sample-app/Chart.yaml):"
say "Flux fetches the commit and upgrades nothing. kubectl gitops trace says so (exit 4) and prints the fix:"
set +e
trace HEAD --reconcile --wait --timeout 2m >"$work/trap.out" 2>&1
code=$?
set -e
cat "$work/trap.out"
[ "$code" -eq 4 ] || fail "trace exited $code, want 4 (the ChartVersion trap diagnosed)"
grep -q ChartVersionUnchanged "$work/trap.out" || fail "trace did not name the ChartVersion trap"
grep -q 'reconcileStrategy: Revision' "$work/trap.out" || fail "trace did not print the fix"
say "The fix trace printed: bump Chart.yaml's version (or set reconcileStrategy: Revision). Bumping it:"
sed -i 's/^version: 0\.1\.2$/version: 0.1.3/' charts/sample-app/Chart.yaml
git commit -qam "sample-app chart 0.1.3: nginx 1.22, 3 replicas"
# Release tags, as examples/flux-multi-env's environments pin them (step 7 promotes v0.1.3).
git tag -f v0.1.2 HEAD~2 >/dev/null && git tag -f v0.1.3 >/dev/null
show git push -q --force origin main v0.1.2 v0.1.3
pushed=$(now)
trace HEAD --reconcile "$follow" --timeout 4m || fail "trace of the chart bump exited $? (expected 0: deployed)"
say "git push to deployed: $(since "$pushed")"
wait_pods 3 nginx:1.22
[ "$(chart_version)" = 0.1.3 ] || fail "the running release has chart $(chart_version), want 0.1.3"
cd "$root"

step "Scenario 2: an environment override in the GitOps repo (nginx 1.22, 5 replicas, 512Mi)"
cd "$work/flux-app-delivery"
git pull -q --ff-only
show kubectl gitops override sample-app -n sample-app \
  --set-string image.tag=1.22 --set replicaCount=5 --set resources.limits.memory=512Mi --dry-run ||
  fail "override --dry-run exited $?"
[ -z "$(git status --porcelain)" ] || fail "override --dry-run changed the checkout"
before=$(git rev-parse HEAD)
say "A typo is caught before the push: the chart is rendered with the change and checked against the"
say "cluster's schema; the command exits 4 and writes, commits and pushes nothing:"
set +e
show kubectl gitops override sample-app -n sample-app --set-string resources.limits.memory=512MB-ish --push
code=$?
set -e
[ "$code" -eq 4 ] || fail "override of an invalid quantity exited $code, want 4 (validation failed)"
[ -z "$(git status --porcelain)" ] && [ "$(git rev-parse HEAD)" = "$before" ] &&
  [ "$(git ls-remote origin refs/heads/main | cut -f1)" = "$before" ] || fail "the refused override changed the checkout or the remote"
show kubectl gitops override sample-app -n sample-app \
  --set-string image.tag=1.22 --set replicaCount=5 --set resources.limits.memory=512Mi --push ||
  fail "override --push exited $?"
[ "$(git ls-remote origin refs/heads/main | cut -f1)" != "$before" ] || fail "the override did not push a new commit"
pushed=$(now)
trace HEAD --reconcile "$follow" --timeout 4m || fail "trace of the override exited $? (expected 0: deployed)"
say "git push to deployed: $(since "$pushed")"
cd "$root"

step "Verify, and promote staging -> production on examples/flux-multi-env"
wait_pods 5 nginx:1.22 512Mi
say "HelmRelease history (newest first):"
kubectl get -n sample-app helmrelease/sample-app -o \
  jsonpath='{range .status.history[*]}{"     v"}{.version}{"  "}{.status}{"  chart "}{.chartVersion}{"\n"}{end}'
versions=$(kubectl get -n sample-app helmrelease/sample-app -o jsonpath='{range .status.history[*]}{.chartVersion}{"\n"}{end}' | sort -u)
# helm-controller keeps the history up to the previous deployed release, so the story's first release
# (chart 0.1.2) has rolled off; what must be there is Scenario 1's chart.
[ "$first_chart" = 0.1.2 ] && grep -qx 0.1.3 <<<"$versions" ||
  fail "status.history holds no release of chart 0.1.3 (the story started on ${first_chart:-none}): Scenario 1 did not ship"
say "Scenario 1 shipped chart 0.1.3; the story started on $first_chart"

import_repo flux-multi-env
cd "$work/flux-multi-env"
show kubectl gitops promote --status || fail "promote --status exited $?"
before=$(git rev-parse HEAD)
show kubectl gitops promote sample-app --from staging --to production --values image.tag --push || fail "promote exited $?"
[ "$(git ls-remote origin refs/heads/main | cut -f1)" != "$before" ] || fail "the promotion did not push a new commit"
grep -q 'tag: v0.1.3' apps/production/sample-app-source.yaml || fail "production's GitRepository does not pin v0.1.3 after the promotion"
show kubectl gitops promote --status || fail "promote --status exited $?"
cd "$root"
printf '\ndemo OK\n'
