#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine (as root) to build, test and demo Switchyard. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
need=()
for pkg in iproute2 util-linux nftables iptables iperf3 iputils-ping containernetworking-plugins aardvark-dns etcd-server openssl user-mode-linux kmod gcc libc6-dev zsh; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ "$(pnpm --version 2>/dev/null)" != "10.34.9" ]; then
  echo "setup: installing pnpm 10.34.9"
  npm install -g --no-fund --no-audit pnpm@10.34.9 >/dev/null
fi
# Yarn 1, for the registry round trip's "installs with yarn" case (corepack's shim cannot fetch it: disable it first).
if [ "$(yarn --version 2>/dev/null)" != "1.22.22" ]; then
  echo "setup: installing yarn 1.22.22"
  corepack disable yarn >/dev/null 2>&1 || true
  npm install -g --no-fund --no-audit yarn@1.22.22 >/dev/null
fi
pnpm install --frozen-lockfile --reporter=silent
pnpm run --silent build
echo "setup: ready"
