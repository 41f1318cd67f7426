# The versions of the real-cluster tests, and where their binaries are cached (outside the clone, per version).
# Sourced by build-kube.sh and cluster.sh.
KUBE_VERSION=1.37.2
CLUSTER_CACHE="${EUREKA_DRAINER_CLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/eureka-drainer-ci}"
KUBE_BIN_DIR="$CLUSTER_CACHE/kube-v$KUBE_VERSION"
