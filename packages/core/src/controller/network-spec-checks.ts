import { Address4, Address6 } from 'ip-address';
import { SwitchyardError } from '../errors/switchyard-error.js';
import type { NetworkSpec } from '../model/types.js';
import { cidrsOverlap, familyOf, networkOf } from '../util/addresses.js';

// `run --net=host|none|all` gives these names a meaning of their own, so a network so named could never be reached.
const RESERVED_NETWORK_NAMES = new Set(['host', 'none', 'all']);

// Address blocks that cannot be a container network: loopback, link-local, multicast, "this network" and reserved.
const SPECIAL_SUBNETS: ReadonlyArray<{ cidr: string; what: string }> = [
  { cidr: '0.0.0.0/8', what: '"this network" (0.0.0.0/8)' },
  { cidr: '127.0.0.0/8', what: 'loopback (127.0.0.0/8)' },
  { cidr: '169.254.0.0/16', what: 'link-local (169.254.0.0/16)' },
  { cidr: '224.0.0.0/4', what: 'multicast (224.0.0.0/4)' },
  { cidr: '240.0.0.0/4', what: 'reserved (240.0.0.0/4)' },
  { cidr: '::/128', what: 'the unspecified address (::)' },
  { cidr: '::1/128', what: 'loopback (::1)' },
  { cidr: 'fe80::/10', what: 'link-local (fe80::/10)' },
  { cidr: 'ff00::/8', what: 'multicast (ff00::/8)' },
];

/** Refuses a network name that `run --net` reserves, and subnets with host bits set or in a special-purpose block. */
export function assertNetworkSpec(spec: NetworkSpec): void {
  if (RESERVED_NETWORK_NAMES.has(spec.name)) {
    throw new SwitchyardError('SWY_ERR_INVALID_NAME', `"${spec.name}" cannot name a network: \`run --net=${spec.name}\` means something else`, {
      hint: 'Pick another name; host, none and all are reserved.',
    });
  }
  for (const range of [...(spec.ipam?.ipv4 ?? []), ...(spec.ipam?.ipv6 ?? [])]) {
    if (range.subnet !== undefined) assertSubnet(range.subnet);
  }
}

function assertSubnet(subnet: string): void {
  const family = subnet.includes('/') ? familyOf(subnet) : undefined;
  if (family === undefined) {
    throw new SwitchyardError('SWY_ERR_INVALID_CIDR', `Subnet ${JSON.stringify(subnet)} is not a CIDR`, { hint: 'Write it like 10.88.0.0/24 or fd00:88::/64.' });
  }
  const canonical = networkOf(subnet);
  const given = (family === 4 ? new Address4(subnet) : new Address6(subnet)).correctForm();
  if (given !== canonical.split('/')[0]) {
    throw new SwitchyardError('SWY_ERR_INVALID_CIDR', `Subnet ${subnet} has host bits set: it should be ${canonical}`, {
      hint: `Write the network address, ${canonical}; to pick the addresses handed out, use a range (--ip-range or rangeStart/rangeEnd).`,
      details: { subnet, canonical },
    });
  }
  const special = SPECIAL_SUBNETS.find((s) => familyOf(s.cidr) === family && cidrsOverlap(s.cidr, canonical));
  if (special) {
    throw new SwitchyardError('SWY_ERR_INVALID_CIDR', `Subnet ${canonical} lies in ${special.what}, which cannot carry a container network`, {
      hint: 'Use a private range such as 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or fd00::/8.',
      details: { subnet: canonical, special: special.cidr },
    });
  }
}
