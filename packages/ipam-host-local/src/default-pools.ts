import { SwitchyardError, type IpFamily } from '@switchyard/core';
import { cidrOf, cidrsOverlap, formatCidr, tryParseAddress, tryParseCidr, type Cidr } from './address.js';

/**
 * IPv6 default: /64s of the ULA prefix fd00:5377::/48 ("5377" is "Sw" in ASCII). A fixed prefix rather than a
 * random one (RFC 4193) so every host picks the same subnets for the same networks, like Docker's IPv4 defaults.
 */
export const DEFAULT_V6_PREFIX = 'fd00:5377::/48';

/** Docker's local default pools: 172.17.0.0/16 … 172.31.0.0/16, then 192.168.0.0/16 split into /20s (31 in all). */
export function* defaultPoolCandidates(family: IpFamily): Generator<Cidr> {
  if (family === 4) {
    for (let second = 17; second <= 31; second++) yield cidrOf(4, (172n << 24n) | (BigInt(second) << 16n), 16);
    const base = (192n << 24n) | (168n << 16n);
    for (let i = 0n; i < 16n; i++) yield cidrOf(4, base + (i << 12n), 20);
    return;
  }
  const prefix = tryParseCidr(DEFAULT_V6_PREFIX)!;
  for (let i = 0n; i < 1n << 16n; i++) yield cidrOf(6, prefix.network + (i << 64n), 64);
}

/** Parses the `exclude` list (CIDRs or bare addresses) of one family; entries that are neither are ignored. */
export function parseExcludes(exclude: string[], family: IpFamily): Cidr[] {
  const out: Cidr[] = [];
  for (const text of exclude) {
    const cidr = tryParseCidr(text);
    if (cidr) {
      if (cidr.family === family) out.push(cidr);
      continue;
    }
    const a = tryParseAddress(text);
    if (a && a.family === family) out.push(cidrOf(family, a.value, family === 4 ? 32 : 128));
  }
  return out;
}

/** The first default pool of the family that overlaps nothing in `exclude`; SWY_ERR_NO_FREE_POOL when none is left. */
export function pickDefaultPool(family: IpFamily, exclude: Cidr[]): Cidr {
  for (const candidate of defaultPoolCandidates(family)) {
    if (!exclude.some((e) => cidrsOverlap(e, candidate))) return candidate;
  }
  const what = family === 4 ? '172.17.0.0/16-172.31.0.0/16 and 192.168.0.0/16 in /20s' : `${DEFAULT_V6_PREFIX} in /64s`;
  throw new SwitchyardError('SWY_ERR_NO_FREE_POOL', `No free default IPv${family} pool: every candidate (${what}) overlaps a host route, host address or another network.`, {
    hint: `Give the network a subnet explicitly (e.g. ${family === 4 ? '10.50.0.0/24' : 'fd00:50::/64'}), or remove networks that are no longer used.`,
    details: { family, excluded: exclude.map(formatCidr) },
  });
}
