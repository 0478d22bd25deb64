import type { DriverCapability, NetworkDriver } from '../spi/network-driver.js';
import type { IpamDriver } from '../spi/ipam-driver.js';
import type { Kernel } from '../spi/kernel.js';
import type { Firewall } from '../spi/firewall.js';
import type { GlobalStore } from '../spi/global-store.js';
import type { StateStore } from '../spi/state-store.js';
import type { Logger } from './logger.js';

/** The plugin API version this core speaks; a plugin declaring another is refused before it runs. */
export const PLUGIN_API_VERSION = 1;

/** The ports a plugin's `create` receives; third parties need no decorators. */
export interface PluginDeps {
  /** For reads and probes; drivers return kernel changes as data instead of making them. */
  kernel: Kernel;
  /** The instance's firewall; drivers normally declare firewall needs in their plans instead of calling it. */
  firewall: Firewall;
  /** The instance's state store, for plugins that keep state of their own. */
  store: StateStore;
  /** The cluster's store of global-scope objects, when the instance has one (multi-host drivers and IPAM need it). */
  globalStore?: GlobalStore;
  /** Where the plugin should log. */
  logger: Logger;
  /** Directory where the plugin may keep files of its own. */
  stateDir: string;
}

/** What a network-driver package exports by default (build it with {@link defineDriver}): who it is and how to create the driver. */
export interface DriverManifest {
  /** Always `driver` (set by {@link defineDriver}). */
  readonly kind: 'driver';
  /** The plugin API version the driver was written against; must equal {@link PLUGIN_API_VERSION}. */
  readonly apiVersion: number;
  /** The network type users name. */
  readonly type: string;
  /** The plugin's own version (semver). */
  readonly version: string;
  /** The driver's data and connectivity scopes. */
  readonly capability: DriverCapability;
  /** One line for `switchyard doctor` and docs. */
  readonly description?: string;
  /** Creates the driver, once per Switchyard instance, with the instance's ports. */
  create(deps: PluginDeps): NetworkDriver | Promise<NetworkDriver>;
}

/** What an IPAM package exports by default (build it with {@link defineIpam}): who it is and how to create the IPAM driver. */
export interface IpamManifest {
  /** Always `ipam` (set by {@link defineIpam}). */
  readonly kind: 'ipam';
  /** The plugin API version the IPAM driver was written against; must equal {@link PLUGIN_API_VERSION}. */
  readonly apiVersion: number;
  /** The IPAM name networks select (`host-local`). */
  readonly name: string;
  /** The plugin's own version (semver). */
  readonly version: string;
  /** One line for `switchyard doctor` and docs. */
  readonly description?: string;
  /** Creates the IPAM driver, once per Switchyard instance, with the instance's ports. */
  create(deps: PluginDeps): IpamDriver | Promise<IpamDriver>;
}

/** Either kind of plugin manifest; `kind` discriminates. */
export type PluginManifest = DriverManifest | IpamManifest;

/** Declares a network driver; the default export of a `switchyard-driver-<type>` package. */
export function defineDriver(manifest: Omit<DriverManifest, 'kind'>): DriverManifest {
  return Object.freeze({ ...manifest, kind: 'driver' as const });
}

/** Declares an IPAM driver; the default export of a `switchyard-ipam-<name>` package. */
export function defineIpam(manifest: Omit<IpamManifest, 'kind'>): IpamManifest {
  return Object.freeze({ ...manifest, kind: 'ipam' as const });
}
