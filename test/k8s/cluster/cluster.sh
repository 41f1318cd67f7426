#!/usr/bin/env bash
# A real single-node Kubernetes for the cluster tests, on this machine, in a network namespace of its own.
#
#   test/k8s/cluster/cluster.sh up       # build (cached) and start; idempotent; prints where things are
#   test/k8s/cluster/cluster.sh status   # what runs, node readiness; exit 1 when not up
#   test/k8s/cluster/cluster.sh down     # stop exactly what `up` started (by PID files), remove the namespace
#   test/k8s/cluster/cluster.sh exec CMD # run CMD inside the cluster's network namespace, KUBECONFIG set
#
# Everything listens inside the namespace `$NETNS` only: the node on $NODE_IP (and $NODE_IP2, the second
# address the tests' second Eureka server uses), pods on a bridge ($POD_CIDR, default route through the bridge:
# a token-less drainer learns its gateway from it), the `kubernetes` Service's ClusterIP ($SERVICE_IP) is
# an address of the node itself on which kube-apiserver listens at 443, so pods reach the API the way they do
# in any cluster though there is no kube-proxy. Components: etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, containerd (Debian's), the kubelet (cgroupfs driver). Images are never pulled: the pause image
# is built here and pods run images imported into containerd (`import-image`).
#
# Traps met (test/k8s/cluster/README.md): containerd's CRI needs restrict_oom_score_adj where root lacks
# CAP_SYS_RESOURCE; the kubelet needs failCgroupV1: false on a cgroup-v1 machine; the apiserver dials webhook
# Services at their endpoints (--enable-aggregator-routing) since ClusterIPs lead nowhere.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=test/k8s/cluster/versions.sh
. "$here/versions.sh"

NETNS="${EUREKA_DRAINER_NETNS:-edk8s}"
STATE="${EUREKA_DRAINER_CLUSTER_DIR:-/tmp/eureka-drainer-cluster}"
NODE_NAME=edk8s-node
NODE_IP=10.213.0.2
NODE_IP2=10.213.0.3
POD_CIDR=10.214.0.0/24
SERVICE_CIDR=10.215.0.0/24
SERVICE_IP=10.215.0.1
PAUSE_IMAGE=eureka-drainer.test/pause:1
# The image of the tests' JVM pods: no files of its own but the merged-/usr links; the pod mounts the node's /usr
# (the JDK and its libraries) read-only, and the fixture jars (test/k8s/cluster/support/workloads.ts).
HOST_RUNTIME_IMAGE=eureka-drainer.test/host-runtime:1
KUBECONFIG_ADMIN="$STATE/admin.kubeconfig"

log() { echo "cluster: $*" >&2; }
die() { echo "cluster: $*" >&2; exit 1; }
# nsenter, not `ip netns exec`: the latter remounts /sys in a new mount namespace, hiding the cgroup mounts.
in_ns() { nsenter --net="/run/netns/$NETNS" "$@"; }

require_tools() {
  [ "$(id -u)" = 0 ] || die "must run as root (it creates a network namespace, mounts and cgroups)"
  local missing=() tool pkg
  for pair in etcd:etcd-server containerd:containerd runc:runc ctr:containerd openssl:openssl ip:iproute2 \
              iptables:iptables gcc:gcc umoci:umoci skopeo:skopeo; do
    tool="${pair%%:*}"; pkg="${pair#*:}"
    command -v "$tool" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] && [ -x /usr/lib/cni/loopback ] || missing+=(containernetworking-plugins)
  [ "${#missing[@]}" -eq 0 ] || die "missing prerequisites; install them with: apt-get install -y ${missing[*]}"
}

pid_alive() { [ -f "$STATE/pids/$1" ] && kill -0 "$(cat "$STATE/pids/$1")" 2>/dev/null; }

# Starts a daemon inside the namespace in its own session, so that it outlives the shell (and the test) that
# started it; its PID goes into a file, and `down` stops it by that PID only.
start_daemon() {
  local name="$1"; shift
  if pid_alive "$name"; then return 0; fi
  log "starting $name (log $STATE/logs/$name.log)"
  setsid nsenter --net="/run/netns/$NETNS" "$@" >"$STATE/logs/$name.log" 2>&1 < /dev/null &
  echo $! >"$STATE/pids/$name"
}

wait_for() {
  local what="$1" seconds="$2"; shift 2
  local deadline=$(( $(date +%s) + seconds ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || die "$what did not come up within ${seconds}s (logs: $STATE/logs)"
    sleep 0.2
  done
}

setup_netns() {
  if ! ip netns list | grep -qw "$NETNS"; then
    log "network namespace $NETNS: node $NODE_IP/$NODE_IP2, pods $POD_CIDR, services $SERVICE_CIDR"
    ip netns add "$NETNS"
  fi
  in_ns ip link set lo up
  if ! in_ns ip link show node0 >/dev/null 2>&1; then
    # A veth pair with both ends inside the namespace (no dummy module here): the node's addresses, and a default
    # route that leads nowhere outside the namespace.
    in_ns ip link add node0 type veth peer name node0-peer
    in_ns ip link set node0-peer up
    in_ns ip link set node0 up
    in_ns ip addr add "$NODE_IP/24" dev node0
    in_ns ip addr add "$NODE_IP2/24" dev node0
    in_ns ip addr add "$SERVICE_IP/32" dev node0
    in_ns ip route add default dev node0
  fi
  # Pods on the bridge reach the node's addresses; nothing is forwarded anywhere else.
  in_ns sysctl -qw net.ipv4.ip_forward=1
}

pki() {
  local d="$STATE/pki"
  [ -f "$d/done" ] && return 0
  mkdir -p "$d"
  log "PKI in $d"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=eureka-drainer-test-ca" \
    -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
  cert() { # name subject [san]
    local name="$1" subj="$2" san="${3:-}"
    openssl req -newkey rsa:2048 -nodes -subj "$subj" -keyout "$d/$name.key" -out "$d/$name.csr" 2>/dev/null
    local ext="$d/$name.ext"
    { echo "basicConstraints=CA:FALSE"; echo "keyUsage=digitalSignature,keyEncipherment"
      echo "extendedKeyUsage=serverAuth,clientAuth"; [ -n "$san" ] && echo "subjectAltName=$san"; } >"$ext"
    openssl x509 -req -in "$d/$name.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 30 \
      -extfile "$ext" -out "$d/$name.crt" 2>/dev/null
  }
  cert apiserver "/CN=kube-apiserver" \
    "IP:127.0.0.1,IP:$NODE_IP,IP:$SERVICE_IP,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  cert admin "/O=system:masters/CN=kubernetes-admin"
  cert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" "IP:$NODE_IP,DNS:$NODE_NAME"
  cert controller-manager "/CN=system:kube-controller-manager"
  cert scheduler "/CN=system:kube-scheduler"
  cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
  openssl genrsa -out "$d/sa.key" 2048 2>/dev/null
  openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null
  touch "$d/done"
}

kubeconfig() { # file user
  local file="$1" user="$2" d="$STATE/pki"
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: edk8s
  cluster: { server: "https://$NODE_IP:443", certificate-authority: "$d/ca.crt" }
users:
- name: $user
  user: { client-certificate: "$d/$user.crt", client-key: "$d/$user.key" }
contexts:
- name: edk8s
  context: { cluster: edk8s, user: $user }
current-context: edk8s
EOF
}

pause_image() {
  # A static program that sleeps until SIGTERM/SIGINT: the pod sandbox's process. Built here, imported once.
  if ctr_ns images ls -q 2>/dev/null | grep -qx "$PAUSE_IMAGE"; then return 0; fi
  local w="$STATE/pause-build"
  rm -rf "$w"; mkdir -p "$w"
  gcc -static -Os -o "$w/pause" "$here/pause.c"
  import_rootfs_image "$PAUSE_IMAGE" "$w" /pause "$w/pause:/pause"
}

host_runtime_image() {
  if ctr_ns images ls -q 2>/dev/null | grep -qx "$HOST_RUNTIME_IMAGE"; then return 0; fi
  local w="$STATE/host-runtime-build"
  rm -rf "$w"; mkdir -p "$w/root/usr" "$w/root/etc" "$w/root/tmp" "$w/root/fixtures"
  ln -s usr/bin "$w/root/bin"; ln -s usr/lib "$w/root/lib"; ln -s usr/lib64 "$w/root/lib64"; ln -s usr/sbin "$w/root/sbin"
  printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$w/root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$w/root/etc/group"
  import_rootfs_image "$HOST_RUNTIME_IMAGE" "$w" /usr/bin/true "$w/root/.:/"
}

# import_rootfs_image REF WORKDIR ENTRYPOINT SRC:DEST... — an image from a few files, no base.
import_rootfs_image() {
  local ref="$1" w="$2" entrypoint="$3"; shift 3
  local layout="$w/oci"
  rm -rf "$layout" "$w/bundle"
  umoci init --layout "$layout" >/dev/null
  umoci new --image "$layout:latest" >/dev/null
  umoci unpack --image "$layout:latest" "$w/bundle" >/dev/null
  local pair
  for pair in "$@"; do
    mkdir -p "$(dirname "$w/bundle/rootfs/${pair#*:}")"
    cp -a "${pair%%:*}" "$w/bundle/rootfs/${pair#*:}"
  done
  umoci repack --image "$layout:latest" "$w/bundle" >/dev/null
  umoci config --image "$layout:latest" --config.entrypoint "$entrypoint" >/dev/null
  skopeo copy --quiet "oci:$layout:latest" "docker-archive:$w/image.tar:$ref" >/dev/null
  ctr_ns images import "$w/image.tar" >/dev/null
}

ctr_ns() { ctr --address "$STATE/containerd/containerd.sock" -n k8s.io "$@"; }

containerd_config() {
  mkdir -p "$STATE/containerd" "$STATE/cni/net.d" "$STATE/cni/ipam"
  cat >"$STATE/containerd/config.toml" <<EOF
version = 2
root = "$STATE/containerd/root"
state = "$STATE/containerd/state"
[grpc]
  address = "$STATE/containerd/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # root here lacks CAP_SYS_RESOURCE: without this runc fails ("can't get final child's PID from pipe: EOF")
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$STATE/cni/net.d"
EOF
  cat >"$STATE/cni/net.d/10-edk8s.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "edk8s",
  "plugins": [
    { "type": "bridge", "bridge": "cni0", "isGateway": true, "isDefaultGateway": true, "hairpinMode": true,
      "ipMasq": false,
      "ipam": { "type": "host-local", "dataDir": "$STATE/cni/ipam", "ranges": [[{ "subnet": "$POD_CIDR" }]] } },
    { "type": "loopback" }
  ]
}
EOF
}

kubelet_config() {
  mkdir -p "$STATE/kubelet"
  cat >"$STATE/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
containerRuntimeEndpoint: unix://$STATE/containerd/containerd.sock
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: "$STATE/pki/ca.crt" }
authorization: { mode: Webhook }
tlsCertFile: "$STATE/pki/kubelet.crt"
tlsPrivateKeyFile: "$STATE/pki/kubelet.key"
address: $NODE_IP
healthzBindAddress: 127.0.0.1
healthzPort: 10248
readOnlyPort: 0
podLogsDir: "$STATE/pod-logs"
resolvConf: ""
# A small disk must not evict the tests' pods or their images.
evictionHard: { memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%" }
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
podPidsLimit: -1
protectKernelDefaults: false
makeIPTablesUtilChains: false
syncFrequency: 10s
nodeStatusUpdateFrequency: 4s
EOF
}

up() {
  require_tools
  local bin; bin="$(bash "$here/build-kube.sh" | tail -n 1)"
  local c alive=0
  for c in etcd containerd kube-apiserver kube-controller-manager kube-scheduler kubelet; do pid_alive "$c" && alive=1; done
  if [ "$alive" = 0 ] && [ -d "$STATE" ]; then
    # Nothing of a previous cluster runs (a stopped session, a reboot): start from nothing rather than from its
    # etcd, pod IP allocations and sandboxes.
    log "no component of the cluster in $STATE runs: removing what it left and starting afresh"
    down
  fi
  mkdir -p "$STATE/logs" "$STATE/pids" "$STATE/pod-logs" "$STATE/etcd"
  setup_netns
  pki
  kubeconfig "$KUBECONFIG_ADMIN" admin
  kubeconfig "$STATE/kubelet.kubeconfig" kubelet
  kubeconfig "$STATE/controller-manager.kubeconfig" controller-manager
  kubeconfig "$STATE/scheduler.kubeconfig" scheduler
  containerd_config
  kubelet_config
  local t0; t0=$(date +%s.%N)

  start_daemon etcd etcd --name edk8s --data-dir "$STATE/etcd" \
    --listen-client-urls http://127.0.0.1:23790 --advertise-client-urls http://127.0.0.1:23790 \
    --listen-peer-urls http://127.0.0.1:23800 --initial-advertise-peer-urls http://127.0.0.1:23800 \
    --initial-cluster edk8s=http://127.0.0.1:23800
  start_daemon containerd containerd --config "$STATE/containerd/config.toml"
  start_daemon kube-apiserver "$bin/kube-apiserver" \
    --etcd-servers=http://127.0.0.1:23790 --bind-address=0.0.0.0 --secure-port=443 --advertise-address="$NODE_IP" \
    --tls-cert-file="$STATE/pki/apiserver.crt" --tls-private-key-file="$STATE/pki/apiserver.key" \
    --client-ca-file="$STATE/pki/ca.crt" \
    --kubelet-client-certificate="$STATE/pki/apiserver-kubelet-client.crt" \
    --kubelet-client-key="$STATE/pki/apiserver-kubelet-client.key" --kubelet-certificate-authority="$STATE/pki/ca.crt" \
    --kubelet-preferred-address-types=InternalIP \
    --service-account-key-file="$STATE/pki/sa.pub" --service-account-signing-key-file="$STATE/pki/sa.key" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-cluster-ip-range="$SERVICE_CIDR" --authorization-mode=Node,RBAC \
    --enable-admission-plugins=NodeRestriction --enable-aggregator-routing=true \
    --audit-policy-file="$here/audit-policy.yaml" --audit-log-path="$STATE/logs/audit.log" \
    --audit-log-maxsize=50 --audit-log-maxbackup=1
  wait_for containerd 30 ctr_ns version
  pause_image
  host_runtime_image
  wait_for kube-apiserver 90 in_ns_kubectl get --raw /readyz
  start_daemon kube-controller-manager "$bin/kube-controller-manager" \
    --kubeconfig="$STATE/controller-manager.kubeconfig" --authentication-kubeconfig="$STATE/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$STATE/controller-manager.kubeconfig" --bind-address=127.0.0.1 \
    --leader-elect=false --use-service-account-credentials=true \
    --service-account-private-key-file="$STATE/pki/sa.key" --root-ca-file="$STATE/pki/ca.crt" \
    --cluster-signing-cert-file="$STATE/pki/ca.crt" --cluster-signing-key-file="$STATE/pki/ca.key" \
    --service-cluster-ip-range="$SERVICE_CIDR"
  start_daemon kube-scheduler "$bin/kube-scheduler" --kubeconfig="$STATE/scheduler.kubeconfig" \
    --authentication-kubeconfig="$STATE/scheduler.kubeconfig" --authorization-kubeconfig="$STATE/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --leader-elect=false
  start_daemon kubelet "$bin/kubelet" --config="$STATE/kubelet/config.yaml" --kubeconfig="$STATE/kubelet.kubeconfig" \
    --root-dir="$STATE/kubelet/root" --node-ip="$NODE_IP" --hostname-override="$NODE_NAME" --v=3
  wait_for "the node" 120 in_ns_kubectl wait --for=condition=Ready "node/$NODE_NAME" --timeout=1s
  wait_for "the default service account" 60 in_ns_kubectl get serviceaccount default
  local t1; t1=$(date +%s.%N)
  log "node $NODE_NAME Ready $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s after the first component started"
  where
}

in_ns_kubectl() { in_ns env KUBECONFIG="$KUBECONFIG_ADMIN" "$KUBE_BIN_DIR/kubectl" "$@"; }

where() {
  cat <<EOF
cluster: up (Kubernetes v$KUBE_VERSION, node $NODE_NAME at $NODE_IP in network namespace $NETNS)
cluster: kubeconfig  $KUBECONFIG_ADMIN
cluster: kubectl     $KUBE_BIN_DIR/kubectl
cluster: logs        $STATE/logs (audit.log, one file per component; the kubelet at --v=3)
cluster: run inside  npm run cluster -- exec kubectl get pods -A   (or: test/k8s/cluster/cluster.sh exec CMD)
EOF
}

status() {
  local ok=0 c
  for c in etcd containerd kube-apiserver kube-controller-manager kube-scheduler kubelet; do
    if pid_alive "$c"; then echo "cluster: $c running (pid $(cat "$STATE/pids/$c"))"; else echo "cluster: $c not running"; ok=1; fi
  done
  if [ "$ok" = 0 ] && in_ns_kubectl get node "$NODE_NAME" >/dev/null 2>&1; then
    in_ns_kubectl get node "$NODE_NAME" -o wide
    where
  else
    ok=1
  fi
  return "$ok"
}

stop_pid() { # name
  local f="$STATE/pids/$1" pid
  [ -f "$f" ] || return 0
  pid="$(cat "$f")"
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping $1 (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

down() {
  [ "$(id -u)" = 0 ] || die "must run as root"
  # The pods first, while the kubelet and containerd still run, so their containers and cgroups go with them.
  if pid_alive kubelet && pid_alive kube-apiserver; then
    in_ns_kubectl delete pods --all --all-namespaces --grace-period=1 --wait=false >/dev/null 2>&1 || true
    # Wait (bounded) for the kubelet to stop them and tear their sandboxes and pod networks down.
    for _ in $(seq 1 100); do [ -z "$(ctr_ns tasks ls -q 2>/dev/null)" ] && break; sleep 0.3; done
  fi
  # The pod network namespaces of this cluster's sandboxes, as containerd recorded them: a sandbox whose teardown
  # had not finished when containerd stopped leaves its /run/netns/cni-* behind, removed below (only these).
  local pod_netns=""
  if pid_alive containerd; then
    local cid
    for cid in $(ctr_ns containers ls -q 2>/dev/null); do
      pod_netns="$pod_netns $(ctr_ns containers info "$cid" 2>/dev/null | grep -o '/netns/cni-[0-9a-f-]*' | sed 's|^/netns/||' || true)"
    done
  fi
  local c
  for c in kubelet kube-scheduler kube-controller-manager kube-apiserver etcd; do stop_pid "$c"; done
  if pid_alive containerd; then
    # Containers the kubelet left: stop their tasks and sandboxes through containerd, not by process name.
    local id
    for id in $(ctr_ns tasks ls -q 2>/dev/null); do ctr_ns tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true; done
  fi
  stop_pid containerd
  # containerd's shims are started in their own sessions; the ones of this cluster carry its state path.
  local shim
  for shim in $(pgrep -f "containerd-shim-runc-v2 .*-address $STATE/containerd/containerd.sock" || true); do kill -KILL "$shim" 2>/dev/null || true; done
  # Pod network namespaces the CNI made for this cluster's sandboxes, then the cluster's own.
  local ns
  for ns in $(echo "$pod_netns" | tr ' ' '\n' | sort -u); do
    if ip netns list | grep -qw "$ns"; then ip netns delete "$ns" 2>/dev/null || true; fi
  done
  if ip netns list | grep -qw "$NETNS"; then ip netns delete "$NETNS"; fi
  grep -qs " $STATE/" /proc/mounts && awk -v s="$STATE/" '$2 ~ "^"s {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf --one-file-system "$STATE"
  log "down"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  import)
    # cluster.sh import ARCHIVE REF: an OCI archive (npm run image) into the cluster's containerd as REF.
    [ $# -eq 3 ] || die "usage: $0 import OCI_ARCHIVE REF"
    tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
    skopeo copy --quiet "oci-archive:$2" "docker-archive:$tmp/image.tar:$3"
    ctr_ns images import "$tmp/image.tar" >/dev/null
    log "imported $3 from $2" ;;
  exec) shift; in_ns env KUBECONFIG="$KUBECONFIG_ADMIN" PATH="$KUBE_BIN_DIR:$PATH" "$@" ;;
  *) echo "usage: $0 up|down|status|exec CMD..." >&2; exit 2 ;;
esac
