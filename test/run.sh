#!/usr/bin/env bash
# The whole test command (npm test; CONTRIBUTING.md's "everything" tier): type checks, the build, the Spring fixture jars, the unit and real-stack
# suites (jest), then the real-cluster suites (test/k8s/cluster/run-tests.sh: a Kubernetes v1.37.2 brought up here,
# the image built and run on it). Each jest run prints its own "jest: …" line; the last line is the total of both.
set -euo pipefail
cd "$(dirname "$0")/.."
export JEST_SUMMARY_TOTAL="${JEST_SUMMARY_TOTAL:-$(mktemp)}"
rm -f "$JEST_SUMMARY_TOTAL"
npm run lint
npm run build
bash test/e2e/spring/build.sh --with-zuul
# Helm and kubectl (its kustomize) for the chart tests (test/unit/helm), built once per machine outside the clone.
bash test/helm/install-helm.sh >/dev/null
bash test/k8s/cluster/build-kube.sh >/dev/null
code=0
npx jest --runInBand || code=$?
bash test/k8s/cluster/run-tests.sh || code=$?
node test/summary-reporter.js --total "$JEST_SUMMARY_TOTAL"
rm -f "$JEST_SUMMARY_TOTAL"
exit "$code"
