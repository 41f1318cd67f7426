#!/usr/bin/env bash
# The real-cluster tests, from nothing: brings the cluster up (cluster.sh; binaries built once and cached),
# builds the image we ship (npm run image) and imports it into the cluster's containerd, runs the tests inside the
# cluster's network namespace, writes test/k8s/RESULTS.md (date, commit, versions, each test's result and what it
# measured), and takes the cluster down again (unless --keep).
#   test/k8s/cluster/run-tests.sh                      # every file
#   test/k8s/cluster/run-tests.sh --keep delete-pod    # one file (a jest pattern); leave the cluster up
# Needs root, a JDK 17+ and the fixture jars (test/e2e/spring/build.sh), Node 26 on PATH.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
here="$root/test/k8s/cluster"
cd "$root"
keep=0
if [ "${1:-}" = "--keep" ]; then keep=1; shift; fi

export EUREKA_DRAINER_CLUSTER_DIR="${EUREKA_DRAINER_CLUSTER_DIR:-/tmp/eureka-drainer-cluster}"
# One run per cluster: the files use fixed namespaces and names, so two runs at once rollout-restart each other's
# Deployments and load each other's gateways (every request then times out, with no drain to blame).
exec 9>"$EUREKA_DRAINER_CLUSTER_DIR.run-lock"
flock -n 9 || { echo "run-tests: another run-tests.sh is using the cluster at $EUREKA_DRAINER_CLUSTER_DIR (lock $EUREKA_DRAINER_CLUSTER_DIR.run-lock); wait for it or stop it" >&2; exit 1; }
started=$(date +%s)
# The cluster outlives a --keep run: its daemons must not inherit the lock.
bash "$here/cluster.sh" up 9>&-
[ "$keep" = 1 ] || trap 'bash "$here/cluster.sh" down' EXIT
ready=$(date +%s)

version="$(node -p "require('./package.json').version")"
image_ref="ghcr.io/eureka-drainer/eureka-drainer:$version"
archive="$(npm run --silent image | tail -n 1)"
[ -f "$archive" ] || { echo "run-tests: npm run image did not print an archive path (got: $archive)" >&2; exit 1; }
bash "$here/cluster.sh" import "$archive" "$image_ref"

results="$(mktemp)"
jest_json="$(mktemp)"
code=0
bash "$here/cluster.sh" exec env CLUSTER_RESULTS_FILE="$results" EUREKA_DRAINER_CLUSTER_DIR="$EUREKA_DRAINER_CLUSTER_DIR" \
  npx jest -c jest.cluster.config.js --runInBand --json --outputFile="$jest_json" "$@" || code=$?
node "$here/write-results.mjs" --jest "$jest_json" --measured "$results" --image "$archive" \
  --cluster-seconds "$(( ready - started ))" --total-seconds "$(( $(date +%s) - started ))" --out "$root/test/k8s/RESULTS.md"
rm -f "$results" "$jest_json"
exit "$code"
