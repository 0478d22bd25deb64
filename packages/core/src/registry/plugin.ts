import type { DriverCapability, NetworkDriver } from '../spi/network-driver.js';
import type { IpamDriver } from '../spi/ipam-driver.js';
import type { Kernel } from '../spi/kernel.js';
import type { Firewall } from '../spi/firewall.js';
import type { StateStore } from '../spi/state-store.js';
import type { Logger } from './logger.js';

/** The plugin API version this core speaks; a plugin declaring another is refused before it runs. */
export const PLUGIN_API_VERSION = 1;

/** The ports a plugin's `create` receives; third parties need no decorators. */
export interface PluginDeps {
  /** For reads and probes; drivers return kernel changes as data instead of making them. */
  kernel: Kernel;
  firewall: Firewall;
  store: StateStore;
  logger: Logger;
  /** Directory where the plugin may keep files of its own. */
  stateDir: string;
}

export interface DriverManifest {
  readonly kind: 'driver';
  readonly apiVersion: number;
  /** The network type users name. */
  readonly type: string;
  /** The plugin's own version (semver). */
  readonly version: string;
  readonly capability: DriverCapability;
  /** One line for `switchyard doctor` and docs. */
  readonly description?: string;
  create(deps: PluginDeps): NetworkDriver | Promise<NetworkDriver>;
}

export interface IpamManifest {
  readonly kind: 'ipam';
  readonly apiVersion: number;
  /** The IPAM name networks select (`host-local`). */
  readonly name: string;
  readonly version: string;
  readonly description?: string;
  create(deps: PluginDeps): IpamDriver | Promise<IpamDriver>;
}

export type PluginManifest = DriverManifest | IpamManifest;

/** Declares a network driver; the default export of a `switchyard-driver-<type>` package. */
export function defineDriver(manifest: Omit<DriverManifest, 'kind'>): DriverManifest {
  return Object.freeze({ ...manifest, kind: 'driver' as const });
}

/** Declares an IPAM driver; the default export of a `switchyard-ipam-<name>` package. */
export function defineIpam(manifest: Omit<IpamManifest, 'kind'>): IpamManifest {
  return Object.freeze({ ...manifest, kind: 'ipam' as const });
}
