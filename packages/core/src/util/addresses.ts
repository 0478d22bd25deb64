import { Address4, Address6 } from 'ip-address';
import { quoteValue } from '../errors/quote-value.js';
import { SwitchyardError } from '../errors/switchyard-error.js';
import type { IpFamily } from '../model/types.js';

/** Family of an address or CIDR, or undefined when it is neither. */
export function familyOf(value: string): IpFamily | undefined {
  // Only IPv6 has colons: asking the other family's parser first costs a thrown error every time.
  if (typeof value !== 'string') return undefined;
  if (value.includes(':')) return Address6.isValid(value) ? 6 : undefined;
  return Address4.isValid(value) ? 4 : undefined;
}

/** The address part of `a.b.c.d/nn`. */
export function stripPrefix(cidr: string): string {
  const slash = cidr.indexOf('/');
  return slash < 0 ? cidr : cidr.slice(0, slash);
}

/** The prefix length of `address/prefix`; NaN when there is no `/`. */
export function prefixLength(cidr: string): number {
  const slash = cidr.indexOf('/');
  return slash < 0 ? NaN : Number(cidr.slice(slash + 1));
}

/** Family of a plain address (no prefix, no zone id, no spaces: the kernel edge's rules), or undefined when it is not one. */
export function addressFamily(value: unknown): IpFamily | undefined {
  return typeof value === 'string' && /^[0-9a-fA-F:.]+$/.test(value) ? familyOf(value) : undefined;
}

/** Parses an address (no prefix, no zone id) of the given family or throws SWY_ERR_INVALID_CIDR. */
export function parseAddress(value: string, family?: IpFamily): string {
  const f = addressFamily(value);
  if (f === undefined || (family !== undefined && f !== family)) {
    throw new SwitchyardError('SWY_ERR_INVALID_CIDR', `${quoteValue(value)} is not a valid IPv${family ?? '4 or IPv6'} address`, {
      hint: family === 6 ? 'Write it like fd00::5.' : 'Write it like 10.1.0.5 (no prefix length).',
    });
  }
  return f === 4 ? new Address4(value).correctForm() : new Address6(value).correctForm();
}

function toRange(cidr: string): [bigint, bigint, IpFamily] | undefined {
  try {
    const family = familyOf(cidr);
    if (family === undefined) return undefined;
    const a = family === 4 ? new Address4(cidr) : new Address6(cidr);
    return [a.startAddress().bigInt(), a.endAddress().bigInt(), family];
  } catch {
    return undefined;
  }
}

/** True when two CIDRs of one family share any address. */
export function cidrsOverlap(a: string, b: string): boolean {
  const ra = toRange(a);
  const rb = toRange(b);
  if (!ra || !rb || ra[2] !== rb[2]) return false;
  return ra[0] <= rb[1] && rb[0] <= ra[1];
}

/** The subnet an interface address belongs to, e.g. `10.1.0.5/24` -> `10.1.0.0/24`. */
export function networkOf(cidr: string): string {
  if (familyOf(cidr) === 4) {
    const a = new Address4(cidr);
    return `${a.startAddress().correctForm()}/${a.subnetMask}`;
  }
  const a = new Address6(cidr);
  return `${a.startAddress().correctForm()}/${a.subnetMask}`;
}

const SPECIAL_RANGES: ReadonlyArray<{ cidr: string; what: string }> = [
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

/**
 * The special range (unspecified, loopback, link-local, multicast, reserved) a CIDR overlaps or an address
 * lies in, with its description; undefined for ordinary unicast space, where container networks and hosts live.
 */
export function specialRangeOf(cidrOrAddress: string):
  | {
      /** The special range, CIDR. */
      cidr: string;
      /** What it is, in words (e.g. `loopback (127.0.0.0/8)`). */
      what: string;
    }
  | undefined {
  const family = familyOf(cidrOrAddress);
  if (family === undefined) return undefined;
  const cidr = cidrOrAddress.includes('/') ? cidrOrAddress : `${cidrOrAddress}/${family === 4 ? 32 : 128}`;
  return SPECIAL_RANGES.find((s) => familyOf(s.cidr) === family && cidrsOverlap(s.cidr, cidr));
}
