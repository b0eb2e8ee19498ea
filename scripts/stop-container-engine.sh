#!/usr/bin/env bash
# Stops what setup-container-engine.sh started (by PID) after removing Warren's containers.
# The image store and the engine are machine-wide, so nothing else is touched.
STATE=${WARREN_ENGINE_STATE_DIR:-/run/warren}
podman ps -aq --filter "label=warren.install" | xargs -r podman rm -f -t 0 >/dev/null 2>&1 || true
if [ -f "$STATE/podman-service.pid" ]; then
  pid=$(cat "$STATE/podman-service.pid"); kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$STATE/podman-service.pid"
fi
