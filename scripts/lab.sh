#!/usr/bin/env bash
# Runs a command inside a private network + mount namespace (the "lab"): every link, namespace,
# address, route and nftables rule it makes vanishes with it. The machine's own namespace is never touched.
# Inside a lab it runs the command as it is, unless SWITCHYARD_LAB_NEW=1 asks for a fresh lab nested in it.
set -euo pipefail
if [ "${SWITCHYARD_LAB:-}" = "1" ] && [ "${SWITCHYARD_LAB_NEW:-}" != "1" ]; then exec "$@"; fi
unset SWITCHYARD_LAB_NEW
exec unshare --net --mount --propagation private -- bash -c '
  set -euo pipefail
  mkdir -p /run/netns
  mount -t tmpfs -o mode=0755 lab-netns /run/netns
  ip link set lo up
  export SWITCHYARD_LAB=1
  exec "$@"
' lab "$@"
