import { readDriverOptions, type IpvlanFlag, type IpvlanMode, type JsonObject } from '@switchyard/core';
import { SUBINTERFACE_OPTION_SPECS } from '@switchyard/driver-macvlan';

/** The ipvlan driver's options (Docker's and CNI ipvlan's names). */
export interface IpvlanOptions {
  /** Host interface the sub-interfaces share; `parent.vlanid` makes an 802.1Q link. Default: the default route's interface. */
  master?: string;
  /** l2: the master switches frames; l3 / l3s: the master routes (no ARP, no gateway). */
  mode: IpvlanMode;
  /** bridge: sub-interfaces talk to each other; private: they cannot; vepa: only through the external switch. */
  flag: IpvlanFlag;
  /** At most the master's MTU; default: the master's. */
  mtu?: number;
}

/** The ipvlan modes the `mode` option accepts (default `l2`). */
export const IPVLAN_MODES: readonly IpvlanMode[] = ['l2', 'l3', 'l3s'];
/** The ipvlan flags the `flag` option accepts (default `bridge`). */
export const IPVLAN_FLAGS: readonly IpvlanFlag[] = ['bridge', 'private', 'vepa'];

/** Reads and checks an ipvlan network's options, filling in defaults; throws SWY_ERR_INVALID_OPTION for an unknown key or a bad value. */
export function readIpvlanOptions(options: JsonObject): IpvlanOptions {
  return readDriverOptions(
    'ipvlan',
    {
      ...SUBINTERFACE_OPTION_SPECS,
      mode: { type: 'string', oneOf: IPVLAN_MODES, default: 'l2' },
      flag: { type: 'string', oneOf: IPVLAN_FLAGS, default: 'bridge' },
    },
    options,
  ) as unknown as IpvlanOptions;
}
