#!/usr/bin/env bash
# Runs a command inside a private network + mount namespace (the "lab"): every link, namespace,
# address, route and nftables rule it makes vanishes with it. The machine's own namespace is never touched.
set -euo pipefail
if [ "${SWITCHYARD_LAB:-}" = "1" ]; then exec "$@"; fi
exec unshare --net --mount --propagation private -- bash -c '
  set -euo pipefail
  mkdir -p /run/netns
  mount -t tmpfs -o mode=0755 lab-netns /run/netns
  ip link set lo up
  export SWITCHYARD_LAB=1
  exec "$@"
' lab "$@"
