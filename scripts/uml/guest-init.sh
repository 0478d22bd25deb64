#!/bin/bash
# PID 1 of the user-mode Linux guest that scripts/uml-run.sh boots. The guest's / is the host's /
# (hostfs), so this script writes only below $swy_uml_work, the run's own directory, which the
# kernel command line hands over as an environment variable.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
work="${swy_uml_work:?swy_uml_work is not set: boot this guest through scripts/uml-run.sh}"

halt_guest() {
  sync
  echo 0 >/proc/sys/kernel/printk 2>/dev/null # no "System halted" line after the command's output
  poweroff -f >/dev/null 2>&1
  # poweroff can be missing or refuse without systemd: the magic SysRq key powers off regardless.
  echo o >/proc/sysrq-trigger
  sleep 10
}

fail() {
  echo "uml guest: $*" >&2
  echo "$*" >"$work/guest-error"
  halt_guest
}

mount -t proc proc /proc || fail "cannot mount /proc"
mount -t sysfs sysfs /sys || fail "cannot mount /sys"
# Private tmpfs mounts: `ip netns add` must never write to the host's /run.
mount -t tmpfs -o mode=0755 swy-run /run || fail "cannot mount a tmpfs on /run"
mkdir -p /dev/shm && mount -t tmpfs -o mode=1777 swy-shm /dev/shm || fail "cannot mount a tmpfs on /dev/shm"
mkdir -p /run/netns
# The console is a tty: without this every line the command prints would end in \r\n on the host.
stty -onlcr 2>/dev/null
date +%s.%N >"$work/booted"

# The host has no /lib/modules: modprobe reads the UML modules through a directory we own.
release="$(uname -r)"
mkdir -p "$work/modroot/lib/modules"
ln -sfn "/usr/lib/uml/modules/$release" "$work/modroot/lib/modules/$release"
modprobe -d "$work/modroot" -a ipvlan 8021q dummy macvlan veth bridge || fail "modprobe could not load the network modules from /usr/lib/uml/modules/$release"
ip link set lo up || fail "cannot bring lo up"

# The caller's environment, argv and directory, exactly as uml-run.sh saved them (NUL-separated).
while IFS= read -r -d '' pair; do
  name="${pair%%=*}"
  [[ "$name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] && export "$pair"
done <"$work/env"
export SWITCHYARD_LAB=1 SWITCHYARD_UML=1 SWY_TESTS="${SWY_TESTS:-uml}"
unset swy_uml_work
mapfile -d '' -t argv <"$work/argv"
cd "$(cat "$work/cwd")" || fail "cannot enter $(cat "$work/cwd")"

date +%s.%N >"$work/started"
# Through a pipe, so the command sees no terminal (plain output, as in CI) and its stderr keeps its order with stdout.
"${argv[@]}" </dev/null 2>&1 | cat
status=${PIPESTATUS[0]}
date +%s.%N >"$work/finished"
echo "$status" >"$work/status"
halt_guest
