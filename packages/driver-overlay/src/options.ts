import { MAX_VNI, readDriverOptions, type JsonObject } from '@switchyard/core';

/** The overlay driver's options, as `validateNetworkOptions` returns them. */
export interface OverlayOptions {
  /**
   * VXLAN network identifier, 1–16777215. Absent: the cluster's network keeps the VNI it has, and a new one
   * gets the lowest VNI from {@link FIRST_AUTO_VNI} up that no other overlay network uses.
   */
  vni?: number;
  /** UDP port of the VXLAN packets; absent: the cluster network's, else IANA's 4789 (core's `VXLAN_DEFAULT_PORT`). */
  port?: number;
  /** MTU of the bridge, the VXLAN link and the endpoints' veth pairs; absent: the underlay link's MTU minus the VXLAN overhead. */
  mtu?: number;
  /**
   * Masquerade traffic from the network leaving the host through another interface. Absent: on when the
   * instance has a firewall backend (as `switchyard network create` does for bridge networks), else off.
   */
  ipMasq?: boolean;
}

/** The lowest VNI the driver picks by itself (lower ones are left to users who number their networks). */
export const FIRST_AUTO_VNI = 4096;

/** Reads and checks an overlay network's options; throws SWY_ERR_INVALID_OPTION for an unknown key or a bad value. */
export function readOverlayOptions(options: JsonObject): OverlayOptions {
  // vni and port stay absent unless given: a host joining a cluster network takes the network's.
  return readDriverOptions(
    'overlay',
    {
      vni: { type: 'integer', min: 1, max: MAX_VNI },
      port: { type: 'integer', min: 1, max: 65535 },
      mtu: { type: 'integer', min: 68, max: 65535 },
      ipMasq: { type: 'boolean' },
    },
    options,
  );
}
