import { IFNAME_PATTERN, readDriverOptions, type JsonObject } from '@switchyard/core';

/** The bridge driver's options (CNI bridge's names where they exist). */
export interface BridgeOptions {
  /** Bridge link name; default `swy` + the first 8 hex digits of the network id. */
  bridge?: string;
  /** Put the gateway address on the bridge (the host is the gateway). */
  isGateway: boolean;
  /** Give endpoints a default route through the gateway. */
  isDefaultGateway: boolean;
  /** MTU of the bridge and the veth pairs, in bytes (68–65535); the kernel's default when absent. */
  mtu?: number;
  /** Let a container reach itself through the bridge (hairpin on each port). */
  hairpinMode: boolean;
  /** Put the bridge in promiscuous mode. */
  promiscMode: boolean;
  /** Containers on this network cannot talk to each other, only to the gateway (bridge port isolation). */
  isolate: boolean;
  /** Masquerade traffic leaving the network (needs a firewall backend). */
  ipMasq: boolean;
  /** Drop frames from an endpoint whose source MAC or IP is not its own (needs a firewall backend). */
  antiSpoof: boolean;
}

/** Reads and checks a bridge network's options, filling in defaults; throws SWY_ERR_INVALID_OPTION for an unknown key or a bad value. */
export function readBridgeOptions(options: JsonObject): BridgeOptions {
  const o = readDriverOptions(
    'bridge',
    {
      bridge: { type: 'string', pattern: IFNAME_PATTERN, describe: 'an interface name of 1-15 letters, digits, "_", "." or "-"' },
      isGateway: { type: 'boolean', default: true },
      isDefaultGateway: { type: 'boolean', default: true },
      mtu: { type: 'integer', min: 68, max: 65535 },
      hairpinMode: { type: 'boolean', default: false },
      promiscMode: { type: 'boolean', default: false },
      isolate: { type: 'boolean', default: false },
      ipMasq: { type: 'boolean', default: false },
      antiSpoof: { type: 'boolean', default: false },
    },
    options,
  );
  return o as unknown as BridgeOptions;
}
