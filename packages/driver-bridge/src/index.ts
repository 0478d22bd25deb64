/**
 * The `bridge` network driver: a Linux bridge per network carrying the gateway address, and a veth
 * pair per endpoint whose host end is a bridge port and whose peer is created directly inside the
 * sandbox under its final name. The default export is the driver manifest core registers.
 *
 * @module \@switchyard/driver-bridge
 */
import { defineDriver } from '@switchyard/core';
import { BRIDGE_CAPABILITY, BridgeDriver } from './bridge-driver.js';

export { BRIDGE_CAPABILITY, BridgeDriver, hostVethName } from './bridge-driver.js';
export { readBridgeOptions, type BridgeOptions } from './options.js';

/** The built-in bridge driver. */
const bridgeDriver = defineDriver({
  apiVersion: 1,
  type: 'bridge',
  version: '0.1.0',
  description: 'Linux bridge per network, veth pair per endpoint',
  capability: BRIDGE_CAPABILITY,
  create: ({ kernel, store }) => new BridgeDriver(kernel, store),
});
export default bridgeDriver;
