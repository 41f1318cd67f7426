#!/usr/bin/env bash
# Builds the Kubernetes components the real-cluster tests run (kube-apiserver, kube-controller-manager,
# kube-scheduler, kubelet, kubectl) from the published Go modules: k8s.io/kubernetes at KUBE_VERSION with
# every staging module replaced by its published build (kube-build/go.mod). Go from /usr/local/go/bin or PATH.
#
# The binaries are cached outside the clone, keyed by version, so only the first run on a machine builds
# (about 8 min on 2 cores; then nothing). Prints the folder holding the binaries as its last line.
#   test/k8s/cluster/build-kube.sh            # build if missing, print the folder
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=test/k8s/cluster/versions.sh
. "$here/versions.sh"

bin="$KUBE_BIN_DIR"
components=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl)
missing=()
for c in "${components[@]}"; do [ -x "$bin/$c" ] || missing+=("$c"); done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "$bin"
  exit 0
fi

export PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null 2>&1 || { echo "build-kube: go is missing: install Go ≥ 1.26 (https://go.dev/dl, or Debian's golang-1.26)" >&2; exit 1; }
mkdir -p "$bin"
started=$(date +%s)
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=v$KUBE_VERSION -X $pkg.gitMajor=${KUBE_VERSION%%.*} -X $pkg.gitMinor=$(echo "$KUBE_VERSION" | cut -d. -f2) -X $pkg.gitTreeState=clean"
ldflags="$ldflags -X k8s.io/client-go/pkg/version.gitVersion=v$KUBE_VERSION"
for c in "${missing[@]}"; do
  echo "build-kube: building $c v$KUBE_VERSION into $bin" >&2
  # Into a temporary name first: a build cut short never leaves a binary that looks complete.
  (cd "$here/kube-build" && CGO_ENABLED=0 go build -mod=mod -trimpath -ldflags "$ldflags" -o "$bin/.$c.partial" "k8s.io/kubernetes/cmd/$c")
  mv "$bin/.$c.partial" "$bin/$c"
done
echo "build-kube: built ${missing[*]} in $(( $(date +%s) - started ))s" >&2
echo "$bin"
