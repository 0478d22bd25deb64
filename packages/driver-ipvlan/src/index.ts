/**
 * The `ipvlan` network driver: an ipvlan sub-interface of one host interface (the master) per
 * endpoint, all sharing the master's MAC address (L2 or L3 mode), for switches and clouds that allow
 * one MAC per port. The default export is the driver manifest core registers.
 *
 * @module \@switchyard/driver-ipvlan
 */
import { defineDriver } from '@switchyard/core';
import { IpvlanDriver } from './ipvlan-driver.js';

export { IpvlanDriver, IPVLAN_TEMP_PREFIX } from './ipvlan-driver.js';
export { readIpvlanOptions, IPVLAN_MODES, IPVLAN_FLAGS, type IpvlanOptions } from './options.js';

/** The built-in ipvlan driver. */
const ipvlanDriver = defineDriver({
  apiVersion: 1,
  type: 'ipvlan',
  version: '0.1.0',
  description: "ipvlan sub-interface of a host master per endpoint, sharing the master's MAC (L2 or L3)",
  capability: { dataScope: 'local', connectivityScope: 'global' },
  create: ({ kernel, store }) => new IpvlanDriver(kernel, store),
});
export default ipvlanDriver;
