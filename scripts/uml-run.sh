#!/usr/bin/env bash
# Runs CMD... inside user-mode Linux, for kernel features this host's kernel lacks (ipvlan, 802.1Q
# vlan, dummy). Boots Debian's linux.uml once with the host's / as its root (hostfs); CMD runs in the
# current directory with the current environment plus SWITCHYARD_LAB=1 SWITCHYARD_UML=1 (and
# SWY_TESTS=uml unless set). Exits with CMD's status, or non-zero with a message saying why UML did
# not start or CMD's status never came back. The guest has no network device: nothing it does can
# reach the host's network namespace. Knobs: SWY_UML_MEM (default 1G), SWY_UML_KERNEL.
set -euo pipefail

say() { echo "uml-run: $*" >&2; }
die() { say "$*"; exit 70; }

if [ $# -eq 0 ]; then
  echo "usage: scripts/uml-run.sh CMD [ARG...]" >&2
  exit 64
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
kernel="${SWY_UML_KERNEL:-$(command -v linux.uml || true)}"
[ -n "$kernel" ] && [ -x "$kernel" ] || die "user-mode Linux is not installed (no linux.uml); install it with: apt-get install -y --no-install-recommends user-mode-linux kmod"
command -v modprobe >/dev/null || die "modprobe is missing; install it with: apt-get install -y --no-install-recommends kmod"
release="$("$kernel" --version 2>/dev/null | head -n1 || true)"
[ -n "$release" ] && [ -d "/usr/lib/uml/modules/$release" ] || die "no UML modules for kernel '$release' in /usr/lib/uml/modules (reinstall user-mode-linux)"

work="$(mktemp -d "${TMPDIR:-/tmp}/swy-uml.XXXXXX")"
uml_pid=""
cleanup() {
  if [ -n "$uml_pid" ] && kill -0 "$uml_pid" 2>/dev/null; then kill "$uml_pid" 2>/dev/null || true; wait "$uml_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM

# Hosts with Intel AMX need the xstate shim (see scripts/uml/xstate-pad.c); it is harmless elsewhere.
preload=""
if command -v gcc >/dev/null; then
  gcc -shared -fPIC -O2 -o "$work/xstate-pad.so" "$here/uml/xstate-pad.c" -ldl 2>"$work/gcc.log" || { cat "$work/gcc.log" >&2; die "could not build scripts/uml/xstate-pad.c"; }
  preload="$work/xstate-pad.so"
else
  say "gcc not found: booting without the xstate shim (UML 6.1 panics on hosts with Intel AMX)"
fi

env -0 >"$work/env"
printf '%s\0' "$@" >"$work/argv"
pwd >"$work/cwd"

started="$(date +%s.%N)"
set +e
env ${preload:+LD_PRELOAD="$preload"} "$kernel" \
  mem="${SWY_UML_MEM:-1G}" root=/dev/root rootfstype=hostfs rootflags=/ rw \
  init="$here/uml/guest-init.sh" swy_uml_work="$work" \
  con=null con0=null,fd:1 ssl=null uml_dir="$work" umid="swy-$$" quiet loglevel=1 \
  </dev/null 2>"$work/uml.log" &
uml_pid=$!
wait "$uml_pid"
uml_status=$?
uml_pid=""
set -e
ended="$(date +%s.%N)"

explain() {
  say "$1"
  [ -s "$work/guest-error" ] && say "guest said: $(cat "$work/guest-error")"
  if [ -s "$work/uml.log" ]; then say "last lines UML printed:"; tail -n 20 "$work/uml.log" >&2; fi
  exit 70
}
[ -f "$work/booted" ] || explain "user-mode Linux did not boot (exit $uml_status)"
[ -f "$work/started" ] || explain "the guest booted but could not start the command"
[ -f "$work/status" ] || explain "the command started in the guest but its exit status never came back (the guest crashed or was killed)"

status="$(cat "$work/status")"
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
say "booted in $(seconds "$started" "$(cat "$work/booted")") s; command ran $(seconds "$(cat "$work/started")" "$(cat "$work/finished")") s (exit $status); total $(seconds "$started" "$ended") s"
exit "$status"
