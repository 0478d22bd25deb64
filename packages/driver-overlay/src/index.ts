/**
 * The `overlay` network driver: one layer-2 network across hosts over VXLAN (libnetwork's overlay,
 * flannel's vxlan backend). On each host a bridge carries the network's gateway, with a VXLAN link as
 * one of its ports and a veth pair per endpoint; the cluster's global store holds the network's VNI and
 * its endpoints, from which each host's agent programs the VXLAN forwarding and neighbour tables.
 * The default export is the driver manifest core registers.
 *
 * @module \@switchyard/driver-overlay
 */
import { defineDriver } from '@switchyard/core';
import { OVERLAY_CAPABILITY, OverlayDriver } from './overlay-driver.js';

export { OVERLAY_CAPABILITY, OverlayDriver, VXLAN_OVERHEAD, overlayBridgeName, vxlanLinkName } from './overlay-driver.js';
export { FIRST_AUTO_VNI, readOverlayOptions, type OverlayOptions } from './options.js';
export { OVERLAY_MEMBERS, memberId, type GlobalOverlayNetwork, type OverlayMember } from './global-network.js';

/** The built-in overlay driver; it needs the instance's global store (`globalStore` option, `--etcd`). */
const overlayDriver = defineDriver({
  apiVersion: 1,
  type: 'overlay',
  version: '0.1.0',
  description: 'VXLAN overlay: one layer-2 network across hosts, a bridge and a VXLAN link per host',
  capability: OVERLAY_CAPABILITY,
  create: ({ kernel, store, globalStore, firewall }) => new OverlayDriver(kernel, store, globalStore, firewall.available),
});
export default overlayDriver;
