import { Address4, Address6 } from 'ip-address';
import { quoteValue } from '../errors/quote-value.js';
import { SwitchyardError } from '../errors/switchyard-error.js';
import { cidrContains, parseCidr, parseIpAddress } from '../kernel/names.js';
import type { IpamRangeConfig, NetworkSpec } from '../model/types.js';
import { familyOf, networkOf, specialRangeOf } from '../util/addresses.js';

// `run --net=host|none|all` gives these names a meaning of their own, so a network so named could never be reached.
const RESERVED_NETWORK_NAMES = new Set(['host', 'none', 'all']);

// Address blocks that cannot be a container network: loopback, link-local, multicast, "this network" and reserved.

// The fields of a range are addresses and CIDRs as text, whichever IPAM reads them.
const RANGE_FIELDS = ['subnet', 'ipRange', 'rangeStart', 'rangeEnd', 'gateway'] as const;

/**
 * Refuses a network name that `run --net` reserves, IPAM ranges that are not lists of ranges with text
 * fields, and subnets of the wrong family, with host bits set or in a special-purpose block.
 */
export function assertNetworkSpec(spec: NetworkSpec): void {
  if (RESERVED_NETWORK_NAMES.has(spec.name)) {
    throw new SwitchyardError('SWY_ERR_INVALID_NAME', `"${spec.name}" cannot name a network: \`run --net=${spec.name}\` means something else`, {
      hint: 'Pick another name; host, none and all are reserved.',
    });
  }
  for (const family of [4, 6] as const) {
    const ranges: unknown = family === 4 ? spec.ipam?.ipv4 : spec.ipam?.ipv6;
    if (ranges === undefined) continue;
    if (!Array.isArray(ranges) || !ranges.every((r) => typeof r === 'object' && r !== null && !Array.isArray(r))) {
      throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `ipam.ipv${family} must be a list of ranges, not ${quoteValue(ranges)}`, {
        hint: `Write ipam.ipv${family} as [{ subnet, gateway?, ipRange? }], e.g. [{ subnet: "${family === 4 ? '10.88.0.0/24' : 'fd00:88::/64'}" }].`,
      });
    }
    for (const range of ranges as Array<Record<string, unknown>>) {
      for (const field of RANGE_FIELDS) {
        if (range[field] !== undefined && typeof range[field] !== 'string') {
          throw new SwitchyardError('SWY_ERR_INVALID_CIDR', `ipam.ipv${family} ${field} ${quoteValue(range[field])} is not text`, {
            hint: `Write ${field} as a string, e.g. "${family === 4 ? '10.88.0.0/24' : 'fd00:88::/64'}" for a subnet or "${family === 4 ? '10.88.0.1' : 'fd00:88::1'}" for an address.`,
          });
        }
      }
      const checked = range as IpamRangeConfig;
      if (checked.subnet !== undefined) assertSubnet(checked.subnet, family);
      assertRangeAddresses(checked, family);
      assertAuxAddresses(checked, family);
    }
  }
}

/** Gateway, ipRange, rangeStart and rangeEnd: of the range's family and inside its subnet, so no IPAM is handed a malformed range. */
function assertRangeAddresses(range: IpamRangeConfig, family: 4 | 6): void {
  const given = (['gateway', 'ipRange', 'rangeStart', 'rangeEnd'] as const).filter((f) => range[f] !== undefined);
  if (given.length === 0) return;
  const subnet = range.subnet;
  if (subnet === undefined) {
    throw new SwitchyardError('SWY_ERR_RANGE_INVALID', `ipam.ipv${family} has ${given.join(', ')} but no subnet`, {
      hint: `Give the subnet they belong to, e.g. { subnet: "${family === 4 ? '10.88.0.0/24' : 'fd00:88::/64'}", ${given[0]}: … }, or leave them out.`,
    });
  }
  for (const field of given) {
    const value = range[field] as string;
    if (!liesInside(field, value, subnet, family)) {
      throw new SwitchyardError('SWY_ERR_RANGE_INVALID', `ipam.ipv${family} ${field} ${value} is not ${field === 'ipRange' ? 'a block' : 'an address'} inside subnet ${subnet}`, {
        hint: `Give ${field === 'ipRange' ? 'a CIDR' : `an IPv${family} address`} inside ${subnet}, or leave ${field} out.`,
        details: { field, value, subnet },
      });
    }
  }
}

/** Docker's auxiliary addresses: a map of names to addresses of the range's family, inside its subnet. */
function assertAuxAddresses(range: IpamRangeConfig, family: 4 | 6): void {
  const aux: unknown = range.auxAddresses;
  if (aux === undefined) return;
  const example = family === 4 ? '{ "my-router": "10.88.0.5" }' : '{ "my-router": "fd00:88::5" }';
  if (typeof aux !== 'object' || aux === null || Array.isArray(aux) || !Object.values(aux).every((v) => typeof v === 'string')) {
    throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `ipam.ipv${family} auxAddresses ${quoteValue(aux)} is not a map of names to addresses`, { hint: `Write it as ${example}.` });
  }
  for (const [name, address] of Object.entries(aux as Record<string, string>)) {
    if (range.subnet === undefined || !liesInside('auxAddress', address, range.subnet, family)) {
      throw new SwitchyardError(
        'SWY_ERR_RANGE_INVALID',
        `Auxiliary address ${quoteValue(name)}=${quoteValue(address)} is not an IPv${family} address inside ${range.subnet === undefined ? 'a given subnet' : `subnet ${range.subnet}`}`,
        {
          hint: `Give the subnet it belongs to and an address inside it, e.g. --subnet ${family === 4 ? '10.88.0.0/24 --aux-address my-router=10.88.0.5' : 'fd00:88::/64 --aux-address my-router=fd00:88::5'}.`,
          details: { name, address, ...(range.subnet ? { subnet: range.subnet } : {}) },
        },
      );
    }
  }
}

function liesInside(field: 'gateway' | 'ipRange' | 'rangeStart' | 'rangeEnd' | 'auxAddress', value: string, subnet: string, family: 4 | 6): boolean {
  if (field === 'ipRange') {
    const block = parseCidr(value, 'ipRange');
    return block.family === family && block.prefix >= parseCidr(subnet).prefix && cidrContains(subnet, block.network);
  }
  const address = parseIpAddress(value, field);
  return address.family === family && cidrContains(subnet, address.address);
}

function assertSubnet(subnet: string, listed: 4 | 6): void {
  const family = subnet.includes('/') ? familyOf(subnet) : undefined;
  if (family === undefined) {
    throw new SwitchyardError('SWY_ERR_INVALID_CIDR', `Subnet ${quoteValue(subnet)} is not a CIDR`, { hint: 'Write it like 10.88.0.0/24 or fd00:88::/64.' });
  }
  if (family !== listed) {
    throw new SwitchyardError('SWY_ERR_INVALID_CIDR', `Subnet ${subnet} is IPv${family}, but it is listed under ipam.ipv${listed}`, {
      hint: `Put IPv${family} subnets under ipam.ipv${family}.`,
      details: { subnet },
    });
  }
  const canonical = networkOf(subnet);
  const given = (family === 4 ? new Address4(subnet) : new Address6(subnet)).correctForm();
  if (given !== canonical.split('/')[0]) {
    throw new SwitchyardError('SWY_ERR_INVALID_CIDR', `Subnet ${subnet} has host bits set: it should be ${canonical}`, {
      hint: `Write the network address, ${canonical}; to pick the addresses handed out, use a range (--ip-range or rangeStart/rangeEnd).`,
      details: { subnet, canonical },
    });
  }
  const special = specialRangeOf(canonical);
  if (special) {
    throw new SwitchyardError('SWY_ERR_INVALID_CIDR', `Subnet ${canonical} lies in ${special.what}, which cannot carry a container network`, {
      hint: 'Use a private range such as 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or fd00::/8.',
      details: { subnet: canonical, special: special.cidr },
    });
  }
}
