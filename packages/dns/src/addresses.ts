import { familyOf, parseAddress, stripPrefix } from '@switchyard/core';

/** An address in the one form records are keyed by (IPv4-mapped IPv6 as IPv4, IPv6 canonical), or undefined. */
export function canonicalAddress(value: string): string | undefined {
  const plain = stripPrefix(value.startsWith('::ffff:') && value.includes('.') ? value.slice(7) : value);
  const family = familyOf(plain);
  if (family === undefined) return undefined;
  // IPv4 from a socket is canonical already; parsing it costs more than the lookup it serves.
  return family === 4 && !plain.includes(':') ? plain : parseAddress(plain, family);
}

/** The address a reverse name (`4.3.2.1.in-addr.arpa`, 32 nibbles `.ip6.arpa`) stands for, or undefined. */
export function addressOfReverseName(name: string): string | undefined {
  const lower = name.toLowerCase().replace(/\.$/, '');
  if (lower.endsWith('.in-addr.arpa')) {
    const parts = lower.slice(0, -'.in-addr.arpa'.length).split('.');
    if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255)) return undefined;
    return parts.reverse().join('.');
  }
  if (lower.endsWith('.ip6.arpa')) {
    const nibbles = lower.slice(0, -'.ip6.arpa'.length).split('.');
    if (nibbles.length !== 32 || !nibbles.every((n) => /^[0-9a-f]$/.test(n))) return undefined;
    const hex = nibbles.reverse().join('');
    const groups = hex.match(/.{4}/g) ?? [];
    return canonicalAddress(groups.join(':'));
  }
  return undefined;
}

/** A name as records compare it: lower case, without the trailing dot. */
export function normalName(name: string): string {
  return (name.endsWith('.') ? name.slice(0, -1) : name).toLowerCase();
}

/** `ip:port`, or `[ip]:port` for IPv6. */
export function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
