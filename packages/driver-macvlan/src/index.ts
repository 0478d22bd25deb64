/**
 * The `macvlan` network driver: a macvlan sub-interface of one host interface (the master) per
 * endpoint, each with a MAC address of its own, so sandboxes appear on the master's LAN as separate
 * hosts. Also exports the master-link helpers that `@switchyard/driver-ipvlan` shares. The default
 * export is the driver manifest core registers.
 *
 * @module \@switchyard/driver-macvlan
 */
import { defineDriver } from '@switchyard/core';
import { MacvlanDriver } from './macvlan-driver.js';

export { MacvlanDriver, MACVLAN_TEMP_PREFIX } from './macvlan-driver.js';
export { readMacvlanOptions, MACVLAN_MODES, SUBINTERFACE_OPTION_SPECS, type MacvlanOptions } from './options.js';
export { shimName, lastHostAddress, type HostShim, type ShimAddress } from './host-shim.js';
// The master-link helpers are shared with @switchyard/driver-ipvlan.
export * from './master-link.js';
export { requireLinkKind } from './kernel-feature.js';

/** The built-in macvlan driver. */
const macvlanDriver = defineDriver({
  apiVersion: 1,
  type: 'macvlan',
  version: '0.1.0',
  description: 'macvlan sub-interface of a host master per endpoint, each with its own MAC',
  capability: { dataScope: 'local', connectivityScope: 'global' },
  create: ({ kernel, store }) => new MacvlanDriver(kernel, store),
});
export default macvlanDriver;
