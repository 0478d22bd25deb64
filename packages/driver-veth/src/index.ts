/**
 * The `veth` network driver (CNI `ptp` semantics, rkt's default network): one veth pair per
 * endpoint and no bridge; the host end carries the gateway as a host address and routes to the
 * container's address. The default export is the driver manifest core registers.
 *
 * @module \@switchyard/driver-veth
 */
import { defineDriver } from '@switchyard/core';
import { VETH_CAPABILITY, VethDriver } from './veth-driver.js';

export { VETH_CAPABILITY, VethDriver, hostVethName, type VethOptions } from './veth-driver.js';
export { VETH_PRESETS } from './presets.js';

/** The built-in point-to-point (veth) driver. */
const vethDriver = defineDriver({
  apiVersion: 1,
  type: 'veth',
  version: '0.1.0',
  description: 'point-to-point veth pair per endpoint, host end routes (CNI ptp, rkt default)',
  capability: VETH_CAPABILITY,
  create: () => new VethDriver(),
});
export default vethDriver;
