#!/usr/bin/env bash
# Make a Docker-compatible container API available for Warren, idempotently.
#  - A Docker Engine (or any engine) already answering on $DOCKER_HOST or /var/run/docker.sock is used as is.
#  - Otherwise rootful Podman with runc is installed from Debian's packages and its Docker-compatible
#    socket is started at $WARREN_ENGINE_SOCKET (default /run/warren/podman.sock).
# Prints the socket URL on its last line (unix:///…). The agent image itself is built by the host
# (src/host/containers/image.ts) from local files, so nothing is pulled from a registry.
set -euo pipefail
SOCK=${WARREN_ENGINE_SOCKET:-/run/warren/podman.sock}
STATE=${WARREN_ENGINE_STATE_DIR:-/run/warren}

ping_socket() { # $1 = socket path; exit 0 when the engine answers /_ping
  [ -S "$1" ] || return 1
  node -e "require('http').get({socketPath:process.argv[1],path:'/_ping'},r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))" "$1"
}

if [ -n "${DOCKER_HOST:-}" ] && [[ "$DOCKER_HOST" == unix://* ]] && ping_socket "${DOCKER_HOST#unix://}"; then
  echo "$DOCKER_HOST"; exit 0
fi
if ping_socket /var/run/docker.sock; then echo "unix:///var/run/docker.sock"; exit 0; fi
if ping_socket "$SOCK"; then echo "unix://$SOCK"; exit 0; fi

# 1. packages. runc, not crun: crun 1.8 refuses this kernel's hybrid cgroup v1/v2 layout.
if ! command -v podman >/dev/null || ! command -v runc >/dev/null; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup-container-engine: podman is missing and installing it needs root (apt-get install podman runc)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  mkdir -p "$STATE"
  echo "setup-container-engine: installing podman and runc from Debian's packages (log: $STATE/apt.log)" >&2
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends podman runc; } >"$STATE/apt.log" 2>&1; then
    tail -20 "$STATE/apt.log" >&2
    exit 1
  fi
fi

# 2. config, written once and marked as ours so an operator's own file is never overwritten.
CONF=/etc/containers/containers.conf
if [ ! -f "$CONF" ] || grep -q '^# written by warren' "$CONF"; then
  # No CAP_SYS_RESOURCE on some VMs: rlimits above the hard limits make the OCI runtime fail.
  NOFILE=$(ulimit -Hn); [ "$NOFILE" = unlimited ] && NOFILE=1048576
  mkdir -p /etc/containers /etc/containers/no-cni-plugins
  cat > "$CONF" <<CONFEOF
# written by warren (scripts/setup-container-engine.sh)
[containers]
default_ulimits = ["nofile=${NOFILE}:${NOFILE}", "nproc=4096:4096"]
netns = "none"
log_driver = "k8s-file"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"

[network]
# Fail closed: the Docker API ignores netns above and would attach a bridge. With no CNI plugins,
# only NetworkMode "none" can start; anything else is an error.
cni_plugin_dirs = ["/etc/containers/no-cni-plugins"]
CONFEOF
fi

# 3. the Docker-compatible API socket. --time=0: never exit when idle.
mkdir -p "$STATE" "$(dirname "$SOCK")"
rm -f "$SOCK"
# conmon writes an `oom` marker into the service's working directory when a container is OOM-killed.
cd "$STATE"
nohup podman system service --time=0 "unix://$SOCK" >"$STATE/podman-service.log" 2>&1 &
echo $! >"$STATE/podman-service.pid"
for _ in $(seq 100); do ping_socket "$SOCK" && break; sleep 0.1; done
if ! ping_socket "$SOCK"; then
  echo "setup-container-engine: podman service did not answer on $SOCK; see $STATE/podman-service.log" >&2
  exit 1
fi
echo "unix://$SOCK"
