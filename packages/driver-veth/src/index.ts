import { defineDriver } from '@switchyard/core';
import { VethDriver } from './veth-driver.js';

export { VethDriver, hostVethName, type VethOptions } from './veth-driver.js';
export { VETH_PRESETS } from './presets.js';

/** The built-in point-to-point (veth) driver. */
const vethDriver = defineDriver({
  apiVersion: 1,
  type: 'veth',
  version: '0.1.0',
  description: 'point-to-point veth pair per endpoint, host end routes (CNI ptp, rkt default)',
  capability: { dataScope: 'local', connectivityScope: 'local' },
  create: () => new VethDriver(),
});
export default vethDriver;
