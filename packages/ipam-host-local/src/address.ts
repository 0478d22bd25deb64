import { Address4, Address6 } from 'ip-address';
import { SwitchyardError, detailValue, quoteValue, type IpFamily } from '@switchyard/core';

/** One IP address as a number, so ranges can be walked with BigInt arithmetic. */
export interface IpAddress {
  family: IpFamily;
  value: bigint;
}

/** A CIDR block with host bits cleared. */
export interface Cidr {
  /** Address family. */
  family: IpFamily;
  /** First address of the block (the network address), as a number. */
  network: bigint;
  /** Prefix length (0–32 for IPv4, 0–128 for IPv6). */
  prefixLength: number;
  /** Last address of the block (the IPv4 broadcast address). */
  last: bigint;
}

export const bitsOf = (family: IpFamily): number => (family === 4 ? 32 : 128);

const CIDR_HINT = 'Write a subnet as address/prefix, e.g. 10.1.0.0/24 or fd00:1::/64.';
const ADDRESS_HINT = 'Write an address without prefix or zone, e.g. 10.1.0.5 or fd00:1::5.';
// ::ffff:0:0/96: Go (and so CNI) names these files in dotted IPv4 form, which would collide with IPv4 files.
const V4_MAPPED = { network: 0xffffn << 32n, last: (0xffffn << 32n) | 0xffffffffn };

function parseWithLibrary(text: string): Address4 | Address6 | undefined {
  try {
    if (text.includes(':')) {
      const a = new Address6(text);
      return a.zone ? undefined : a;
    }
    return new Address4(text);
  } catch {
    return undefined;
  }
}

function isV4Mapped(family: IpFamily, value: bigint): boolean {
  return family === 6 && value >= V4_MAPPED.network && value <= V4_MAPPED.last;
}

/** Parses an address without prefix; undefined when it is not one. */
export function tryParseAddress(text: string): IpAddress | undefined {
  if (typeof text !== 'string' || text.includes('/')) return undefined;
  const parsed = parseWithLibrary(text);
  if (!parsed) return undefined;
  const family: IpFamily = parsed instanceof Address4 ? 4 : 6;
  const value = parsed.bigInt();
  return isV4Mapped(family, value) ? undefined : { family, value };
}

/** Parses an address without prefix, or throws SWY_ERR_INVALID_CIDR naming `what`. */
export function parseAddress(text: string, what: string): IpAddress {
  const parsed = tryParseAddress(text);
  if (!parsed) {
    throw new SwitchyardError('SWY_ERR_INVALID_CIDR', `${what} ${quoteValue(text)} is not an IP address.`, {
      hint: ADDRESS_HINT,
      details: { field: what, value: detailValue(text) },
    });
  }
  return parsed;
}

/** Parses an address that may carry a `/prefix` (which is ignored), as releases accept both. */
export function parseAddressWithOptionalPrefix(text: string, what: string): IpAddress {
  const slash = typeof text === 'string' ? text.indexOf('/') : -1;
  if (slash >= 0 && tryParseCidr(text)) return parseAddress(text.slice(0, slash), what);
  return parseAddress(text, what);
}

/** Parses `address/prefix` and clears the host bits; undefined when it is not a CIDR. */
export function tryParseCidr(text: string): Cidr | undefined {
  if (typeof text !== 'string' || !text.includes('/')) return undefined;
  const parsed = parseWithLibrary(text);
  if (!parsed) return undefined;
  const family: IpFamily = parsed instanceof Address4 ? 4 : 6;
  const network = parsed.startAddress().bigInt();
  const last = parsed.endAddress().bigInt();
  if (isV4Mapped(family, network) || isV4Mapped(family, last)) return undefined;
  return { family, network, prefixLength: parsed.subnetMask, last };
}

/** Parses `address/prefix`, or throws SWY_ERR_INVALID_CIDR naming `what`. */
export function parseCidr(text: string, what: string): Cidr {
  const parsed = tryParseCidr(text);
  if (!parsed) {
    throw new SwitchyardError('SWY_ERR_INVALID_CIDR', `${what} ${quoteValue(text)} is not a valid CIDR.`, {
      hint: CIDR_HINT,
      details: { field: what, value: detailValue(text) },
    });
  }
  return parsed;
}

/** Formats an address the way Go's net.IP.String() does (RFC 5952), which is how CNI names its files. */
export function formatAddress(family: IpFamily, value: bigint): string {
  return family === 4 ? Address4.fromBigInt(value).correctForm() : Address6.fromBigInt(value).correctForm();
}

export function formatCidr(cidr: Cidr): string {
  return `${formatAddress(cidr.family, cidr.network)}/${cidr.prefixLength}`;
}

/** The block of `prefixLength` bits that starts at `network` (which must be aligned). */
export function cidrOf(family: IpFamily, network: bigint, prefixLength: number): Cidr {
  const hostBits = BigInt(bitsOf(family) - prefixLength);
  return { family, network, prefixLength, last: network + (1n << hostBits) - 1n };
}

export function cidrContains(cidr: Cidr, family: IpFamily, value: bigint): boolean {
  return cidr.family === family && value >= cidr.network && value <= cidr.last;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.network <= b.last && b.network <= a.last;
}
