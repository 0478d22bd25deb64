import type { DriverManifest, IpamManifest, NetworkSpec } from '@switchyard/core';
import * as bridge from '@switchyard/driver-bridge';
import * as ipvlan from '@switchyard/driver-ipvlan';
import * as macvlan from '@switchyard/driver-macvlan';
import * as veth from '@switchyard/driver-veth';
import * as hostLocal from '@switchyard/ipam-host-local';

/**
 * The drivers and IPAM the `switchyard` command ships with, listed explicitly (as libnetwork's
 * drivers_linux.go does). A package whose default export is not yet a manifest is left out.
 */
export const BUILTIN_DRIVERS: readonly DriverManifest[] = [bridge, veth, macvlan, ipvlan].map(defaultExport).filter(isDriverManifest);

/** The IPAM drivers the `switchyard` command ships with: `host-local`. */
export const BUILTIN_IPAMS: readonly IpamManifest[] = [hostLocal].map(defaultExport).filter(isIpamManifest);

/** rkt's built-in networks, created on first use unless the store or net.d defines the name. */
export const PRESET_NETWORKS: Readonly<Record<string, NetworkSpec>> = veth.VETH_PRESETS;

function defaultExport(mod: object): unknown {
  return (mod as { default?: unknown }).default;
}

function isDriverManifest(m: unknown): m is DriverManifest {
  return typeof m === 'object' && m !== null && (m as { kind?: unknown }).kind === 'driver';
}

function isIpamManifest(m: unknown): m is IpamManifest {
  return typeof m === 'object' && m !== null && (m as { kind?: unknown }).kind === 'ipam';
}
