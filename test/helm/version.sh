# The Helm the chart tests run, and where it is cached (outside the clone, per version). Sourced by
# install-helm.sh; test/helpers/helm.ts reads the same two names from here.
HELM_VERSION=4.3.2
HELM_BIN="${EUREKA_DRAINER_HELM:-${XDG_CACHE_HOME:-$HOME/.cache}/eureka-drainer-ci/helm-v$HELM_VERSION/helm}"
