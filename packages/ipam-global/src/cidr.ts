import { Address4, Address6 } from 'ip-address';
import { parseCidr, parseIpAddress, type IpFamily } from '@switchyard/core';

/** A CIDR block as numbers: host bits cleared, `last` its highest address. */
export interface Net {
  /** Address family. */
  family: IpFamily;
  /** The network (first) address. */
  network: bigint;
  /** Prefix length. */
  prefix: number;
  /** The last address (IPv4 broadcast). */
  last: bigint;
}

/** Bits in an address of the family. */
export const bitsOf = (family: IpFamily): number => (family === 4 ? 32 : 128);

/** The block of `prefix` bits containing `value`. */
export function netOf(family: IpFamily, value: bigint, prefix: number): Net {
  const hostBits = BigInt(bitsOf(family) - prefix);
  const network = (value >> hostBits) << hostBits;
  return { family, network, prefix, last: network + (1n << hostBits) - 1n };
}

function toBigInt(family: IpFamily, canonical: string): bigint {
  return family === 4 ? new Address4(canonical).bigInt() : new Address6(canonical).bigInt();
}

/** An address in canonical text form (RFC 5952 for IPv6). */
export function formatAddress(family: IpFamily, value: bigint): string {
  return family === 4 ? Address4.fromBigInt(value).correctForm() : Address6.fromBigInt(value).correctForm();
}

/** A block as canonical CIDR text. */
export function formatNet(net: Net): string {
  return `${formatAddress(net.family, net.network)}/${net.prefix}`;
}

/** Parses `address/prefix` (host bits cleared) or throws SWY_ERR_INVALID_CIDR naming `what`. */
export function parseNet(text: unknown, what: string): Net {
  const p = parseCidr(text, what);
  return netOf(p.family, toBigInt(p.family, p.address), p.prefix);
}

/** Parses an address, with or without a `/prefix` (ignored), or throws SWY_ERR_INVALID_CIDR naming `what`. */
export function parseAddressValue(text: unknown, what: string): { family: IpFamily; value: bigint } {
  if (typeof text === 'string' && text.includes('/')) {
    const p = parseCidr(text, what);
    return { family: p.family, value: toBigInt(p.family, p.address) };
  }
  const a = parseIpAddress(text, what);
  return { family: a.family, value: toBigInt(a.family, a.address) };
}

/** A CIDR, or a bare address as a single-address block; undefined when the text is neither. */
export function tryParseNet(text: unknown): Net | undefined {
  try {
    if (typeof text === 'string' && text.includes('/')) return parseNet(text, 'CIDR');
    const a = parseAddressValue(text, 'address');
    return netOf(a.family, a.value, bitsOf(a.family));
  } catch {
    return undefined;
  }
}

/** True when the block holds the address. */
export function netContains(net: Net, family: IpFamily, value: bigint): boolean {
  return net.family === family && value >= net.network && value <= net.last;
}

/** True when two blocks of one family share an address. */
export function netsOverlap(a: Net, b: Net): boolean {
  return a.family === b.family && a.network <= b.last && b.network <= a.last;
}

/** FNV-1a (32 bits) of a string: where a host starts looking for a free block, so hosts do not race for the same one. */
export function hostHash(text: string): bigint {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return BigInt(h);
}
