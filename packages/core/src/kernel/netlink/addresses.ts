import { Address6 } from 'ip-address';

/**
 * IP and MAC addresses between text and the bytes netlink carries. Text comes out exactly as
 * iproute2 prints it (glibc inet_ntop for IP, lower-case hex pairs for link addresses), so listings
 * from the netlink executor equal the iproute2 executor's.
 */

/** Bytes of an IPv4 or IPv6 address given in canonical text (as normalize-step leaves it). */
export function ipBytes(address: string): Buffer {
  if (!address.includes(':')) return Buffer.from(address.split('.').map(Number));
  const groups = new Address6(address).canonicalForm().split(':');
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

export function familyOf(address: string): 4 | 6 {
  return address.includes(':') ? 6 : 4;
}

function formatIpv4(b: Buffer): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/** IPv6 text as glibc's inet_ntop writes it: the longest run of 2+ zero groups becomes "::", IPv4-mapped/compatible tails in dotted form. */
function formatIpv6(b: Buffer): string {
  const words = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2));
  let best = { base: -1, len: 0 };
  let cur = { base: -1, len: 0 };
  words.forEach((w, i) => {
    if (w === 0) {
      cur = cur.base < 0 ? { base: i, len: 1 } : { base: cur.base, len: cur.len + 1 };
      if (cur.len > best.len) best = cur;
    } else {
      cur = { base: -1, len: 0 };
    }
  });
  if (best.len < 2) best = { base: -1, len: 0 };
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (best.base >= 0 && i >= best.base && i < best.base + best.len) {
      if (i === best.base) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    const embedsIpv4 = i === 6 && best.base === 0 && (best.len === 6 || (best.len === 5 && words[5] === 0xffff));
    if (embedsIpv4) {
      out += formatIpv4(b.subarray(12, 16));
      break;
    }
    out += (words[i] as number).toString(16);
  }
  if (best.base >= 0 && best.base + best.len === 8) out += ':';
  return out;
}

/** Text of a 4- or 16-byte address; other lengths as hex pairs (never expected from the families used). */
export function formatIp(b: Buffer): string {
  if (b.length === 4) return formatIpv4(b);
  if (b.length === 16) return formatIpv6(b);
  return formatLinkAddress(b);
}

/** A MAC address (already normalised to six lower-case hex pairs) as bytes. */
export function macBytes(mac: string): Buffer {
  return Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
}

/** A link-layer address as hex pairs joined by ':' (iproute2's form for Ethernet and loopback). */
export function formatLinkAddress(b: Buffer): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');
}
