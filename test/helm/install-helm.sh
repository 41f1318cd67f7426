#!/usr/bin/env bash
# Builds Helm (the chart tests' `helm lint`, `helm template`, `helm install`) from its published Go module,
# helm.sh/helm/v4 at HELM_VERSION, with Go from /usr/local/go/bin or PATH.
#
# Cached outside the clone, keyed by version, beside the Kubernetes binaries (test/k8s/cluster/build-kube.sh),
# so only the first run on a machine builds (a few minutes on 2 cores; then nothing). Prints the path of the
# helm binary as its last line.
#   test/helm/install-helm.sh            # build if missing, print the binary's path
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=test/helm/version.sh
. "$here/version.sh"

if [ -x "$HELM_BIN" ]; then
  echo "$HELM_BIN"
  exit 0
fi

export PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null 2>&1 || { echo "install-helm: go is missing: install Go ≥ 1.26 (https://go.dev/dl, or Debian's golang-1.26)" >&2; exit 1; }
dir="$(dirname "$HELM_BIN")"
mkdir -p "$dir"
started=$(date +%s)
echo "install-helm: building helm v$HELM_VERSION into $dir" >&2
# Into a folder of its own first: a build cut short never leaves a binary that looks complete.
partial="$(mktemp -d "$dir/.partial.XXXXXX")"
trap 'rm -rf "$partial"' EXIT
CGO_ENABLED=0 GOBIN="$partial" go install -trimpath -ldflags "-s -w" "helm.sh/helm/v4/cmd/helm@v$HELM_VERSION"
mv "$partial/helm" "$HELM_BIN"
echo "install-helm: built helm v$HELM_VERSION in $(( $(date +%s) - started ))s" >&2
echo "$HELM_BIN"
