#!/usr/bin/env bash
# Applies a merge request's review environment (docs/review.md) with kubectl's current context,
# as its CI job does: in CI, the GitLab agent's context, acting as the review deployer.
# Usage: bash tools/review-env.sh apply <cluster> <slug>
#   REVIEW_WAIT  how long to wait for the Deployments to become available (default 15m; 0: no wait)
# The stop job deletes a review with 'kubectl delete namespace -l ml-platform.example/review=<slug>'.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${1:-}" = apply ] && [ $# -eq 3 ] || { echo "usage: bash tools/review-env.sh apply <cluster> <slug>" >&2; exit 2; }
cluster=$2 slug=$3
dir=".review/$cluster/$slug"
apply() { kubectl apply --server-side --field-manager=review-environment --force-conflicts -R -f "$1"; }

npm run -s review -- render "$cluster" --slug "$slug"
# The namespaces first, each with the binding that lets the deployer apply the rest of it.
apply "$dir/00-cluster"
# Secrets only where missing: the review's databases were set up with the values made at its
# first deployment. kubectl prints names only; the values never leave the pipe.
if ! created=$(npm run -s review -- secrets "$cluster" --slug "$slug" | kubectl create -f - 2>&1); then
  if grep -v AlreadyExists <<<"$created" | grep -qi '^error'; then
    grep -v AlreadyExists <<<"$created" >&2
    exit 1
  fi
fi
grep -v AlreadyExists <<<"$created" || true
for layer in "$dir"/[1-9]*/; do apply "$layer"; done

wait=${REVIEW_WAIT:-15m}
if [ "$wait" != 0 ]; then
  for namespace in $(kubectl get namespaces -l "ml-platform.example/review=$slug" -o name | cut -d/ -f2); do
    kubectl -n "$namespace" wait --for=condition=Available deployment --all --timeout="$wait"
  done
fi
