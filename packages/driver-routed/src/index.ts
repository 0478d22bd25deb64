/**
 * The `routed` network driver (flannel's host-gw): a subnet of the network's pool per host on a bridge,
 * routes between hosts programmed by each host's `switchyard agent`, no encapsulation, no NAT.
 *
 * @module \@switchyard/driver-routed
 */
import { defineDriver } from '@switchyard/core';
import { ROUTED_CAPABILITY, RoutedDriver } from './routed-driver.js';

export { ROUTED_CAPABILITY, ROUTED_SUBNETS, RoutedDriver, subnetId, type RoutedSubnet } from './routed-driver.js';

/** The built-in routed driver. */
const routedDriver = defineDriver({
  apiVersion: 1,
  type: 'routed',
  version: '0.1.0',
  description: 'a subnet per host on a bridge, routes between hosts via the underlay (host-gw), no NAT',
  capability: ROUTED_CAPABILITY,
  create: ({ kernel, store, globalStore }) => new RoutedDriver(kernel, store, globalStore),
});
export default routedDriver;
