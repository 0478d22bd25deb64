import type { NetworkRecord } from '../model/types.js';
import type { IpamDriver } from '../spi/ipam-driver.js';
import type { DriverNetwork, NetworkDriver } from '../spi/network-driver.js';

/** Where the controller gets drivers and IPAMs by name (the PluginRegistry). */
/** Where the controller gets drivers from (the plugin registry): by type or name, loading plugins on first use. */
export interface DriverSource {
  /** The network driver of a type; throws SWY_ERR_DRIVER_NOT_FOUND when there is none (or a plugin check error when loading its package fails). */
  driver(type: string): Promise<NetworkDriver>;
  /** The IPAM driver of a name; throws SWY_ERR_DRIVER_NOT_FOUND when there is none. */
  ipam(name: string): Promise<IpamDriver>;
}

/** The network as drivers see it. */
export function driverNetwork(network: NetworkRecord): DriverNetwork {
  return {
    id: network.id,
    name: network.name,
    options: network.options,
    state: network.driverState,
    internal: network.internal,
    ...(network.ipv4 ? { ipv4: { subnet: network.ipv4.subnet, ...(network.ipv4.gateway ? { gateway: network.ipv4.gateway } : {}) } } : {}),
    ...(network.ipv6 ? { ipv6: { subnet: network.ipv6.subnet, ...(network.ipv6.gateway ? { gateway: network.ipv6.gateway } : {}) } } : {}),
  };
}
