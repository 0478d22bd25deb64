import { IFNAME_PATTERN, SwitchyardError, parseCidr, readDriverOptions, type JsonObject, type MacvlanMode } from '@switchyard/core';

/** The macvlan driver's options (CNI macvlan's and Docker's names where they exist). */
export interface MacvlanOptions {
  /** Host interface the sub-interfaces share; `parent.vlanid` makes an 802.1Q link. Default: the default route's interface. */
  master?: string;
  /** macvlan mode; default `bridge` (sub-interfaces of one master reach each other directly). */
  mode: MacvlanMode;
  /** At most the master's MTU; default: the master's. */
  mtu?: number;
  /** Give the host a macvlan of its own on the master so it can reach the sandboxes. */
  hostShim: boolean;
  /** The shim's IPv4 address; default: the subnet's highest host address. */
  shimAddress?: string;
  /** The shim's IPv6 address; default: the subnet's last address. */
  shimAddress6?: string;
  /**
   * Masquerade egress through the host (CNI's field name): the host shim takes the network's gateway
   * address, so sandboxes route through the host, and traffic leaving the subnet takes the host's address.
   */
  ipMasq: boolean;
}

/** The macvlan modes the `mode` option accepts. */
export const MACVLAN_MODES: readonly MacvlanMode[] = ['bridge', 'private', 'vepa', 'passthru'];

const MASTER_SPEC = {
  /** A string option. */
  type: 'string',
  /** Must be a Linux interface name. */
  pattern: IFNAME_PATTERN,
  /** What the option accepts, for error hints. */
  describe: 'a host interface name of 1-15 letters, digits, "_", "." or "-" (parent.vlanid for 802.1Q)',
} as const;
const MTU_SPEC = {
  /** An integer option. */
  type: 'integer',
  /** Smallest MTU accepted, in bytes (the IPv4 minimum). */
  min: 68,
  /** Largest MTU accepted, in bytes. */
  max: 65535,
} as const;

/** The option table entries macvlan and ipvlan share. */
export const SUBINTERFACE_OPTION_SPECS = {
  /** `master`: the host interface (or `parent.vlanid`) the sub-interfaces hang off. */
  master: MASTER_SPEC,
  /** `mtu`: the sub-interfaces' MTU in bytes, 68–65535. */
  mtu: MTU_SPEC,
} as const;

/**
 * Reads and checks a macvlan network's options, filling in defaults. Throws SWY_ERR_INVALID_OPTION for an unknown key,
 * a bad value, `ipMasq` with `hostShim: false` or with shim addresses, shim addresses without the shim, or the shim with a
 * mode other than `bridge`.
 */
export function readMacvlanOptions(options: JsonObject): MacvlanOptions {
  const o = readDriverOptions(
    'macvlan',
    {
      ...SUBINTERFACE_OPTION_SPECS,
      mode: { type: 'string', oneOf: MACVLAN_MODES, default: 'bridge' },
      hostShim: { type: 'boolean', default: false },
      shimAddress: { type: 'string', describe: 'an IPv4 address without prefix length, e.g. 192.168.1.250' },
      shimAddress6: { type: 'string', describe: 'an IPv6 address without prefix length, e.g. fd00::fe' },
      ipMasq: { type: 'boolean', default: false },
    },
    options,
  ) as unknown as MacvlanOptions;
  if (o.ipMasq) {
    // The host becomes the sandboxes' gateway through the shim.
    if (options.hostShim === false) {
      throw new SwitchyardError('SWY_ERR_INVALID_OPTION', 'The macvlan option ipMasq needs the host shim, and hostShim is false', {
        hint: 'Masquerade routes the sandboxes through the host, over the shim: leave hostShim out (ipMasq turns it on) or ipMasq off.',
      });
    }
    if (o.shimAddress !== undefined || o.shimAddress6 !== undefined) {
      throw new SwitchyardError('SWY_ERR_INVALID_OPTION', "With ipMasq the host shim takes the network's gateway address, so shimAddress and shimAddress6 do not apply", {
        hint: "Leave them out, and choose the gateway address with the network's IPAM gateway instead.",
      });
    }
    o.hostShim = true;
  }
  for (const [key, family] of [
    ['shimAddress', 4],
    ['shimAddress6', 6],
  ] as const) {
    const value = o[key];
    if (value === undefined) continue;
    if (!o.hostShim) {
      throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `The macvlan option ${key} only applies with hostShim: true`, { hint: `Add hostShim: true, or leave ${key} out.` });
    }
    const bits = family === 4 ? 32 : 128;
    let parsed: ReturnType<typeof parseCidr> | undefined;
    try {
      parsed = parseCidr(`${value}/${bits}`);
    } catch {
      parsed = undefined;
    }
    if (!parsed || parsed.family !== family || value.includes('/')) {
      throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `The macvlan driver's option "${key}" cannot be ${JSON.stringify(value)}`, {
        hint: `It accepts an IPv${family} address without prefix length.`,
      });
    }
    o[key] = parsed.address;
  }
  if (o.hostShim && o.mode !== 'bridge') {
    throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `The macvlan host shim needs mode bridge, and this network's mode is ${o.mode}`, {
      hint: 'Only bridge-mode macvlans on one master reach each other directly; use mode bridge, or leave hostShim off.',
    });
  }
  return o;
}
