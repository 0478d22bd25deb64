import { Address4, Address6 } from 'ip-address';
import { detailValue, quoteValue } from '../errors/quote-value.js';
import { SwitchyardError } from '../errors/switchyard-error.js';
import type { NetnsRef } from '../spi/kernel.js';

/**
 * Validation of every name and value that reaches a kernel command. iproute2's batch reader splits
 * on whitespace, honours quotes and treats '#' as a comment and '\' as a line continuation, so none
 * of those may appear in a token; a leading '-' could read as an option. Rejecting them here is what
 * makes a batch line injection-proof.
 */

/** Kernel limit: IFNAMSIZ is 16 including the terminating NUL. */
export const IFNAMSIZ = 16;

// Printable ASCII without the characters the kernel or the batch reader give a meaning to.
const SAFE_TOKEN = /^[\x21-\x7e]+$/;
const BATCH_SPECIAL = /[#"'\\]/;

function invalid(code: 'SWY_ERR_INVALID_NAME' | 'SWY_ERR_INVALID_OPTION' | 'SWY_ERR_INVALID_CIDR' | 'SWY_ERR_INVALID_MAC', message: string, hint: string, value: unknown): never {
  throw new SwitchyardError(code, message, { hint, details: { value: detailValue(value) } });
}

/** An interface name the kernel accepts and a batch line cannot misread. */
export function assertIfName(name: unknown, what = 'interface name'): string {
  const hint = 'Use 1 to 15 printable ASCII characters, not starting with "-", without spaces, "/", ":", "#", quotes or backslashes.';
  if (typeof name !== 'string' || name.length === 0) invalid('SWY_ERR_INVALID_NAME', `The ${what} must be a non-empty string`, hint, name);
  if (name.length >= IFNAMSIZ) invalid('SWY_ERR_INVALID_NAME', `The ${what} ${quoteValue(name)} is longer than 15 characters (the kernel's IFNAMSIZ limit)`, hint, name);
  if (!SAFE_TOKEN.test(name) || BATCH_SPECIAL.test(name) || /[/:]/.test(name) || name.startsWith('-') || name === '.' || name === '..') {
    invalid('SWY_ERR_INVALID_NAME', `The ${what} ${quoteValue(name)} contains characters that are not allowed`, hint, name);
  }
  if (name === 'all' || name === 'default') {
    invalid(
      'SWY_ERR_INVALID_NAME',
      `The ${what} ${quoteValue(name)} is reserved: the kernel's net.ipv4.conf.${name} settings apply to every interface`,
      'Pick another name; the kernel refuses an interface named "all" or "default".',
      name,
    );
  }
  return name;
}

/** A named network namespace (a file under /run/netns). */
export function assertNetnsName(name: unknown): string {
  const hint = 'Use letters, digits, "_", "." and "-" (up to 200 characters), starting with a letter or digit.';
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$/.test(name)) {
    invalid('SWY_ERR_INVALID_NAME', `${quoteValue(name)} is not a valid network namespace name`, hint, name);
  }
  return name;
}

/** A namespace given by path (/proc/PID/ns/net, /var/run/netns/x): absolute, one batch token. */
export function assertNetnsPath(path: unknown): string {
  const hint = 'Give an absolute path such as /proc/1234/ns/net, without spaces, "#", quotes or backslashes.';
  if (typeof path !== 'string' || !path.startsWith('/') || path.length > 4096 || !SAFE_TOKEN.test(path) || BATCH_SPECIAL.test(path)) {
    invalid('SWY_ERR_INVALID_NAME', `${quoteValue(path)} is not a usable network namespace path`, hint, path);
  }
  return path;
}

/** Checks a {@link NetnsRef} (its name or path as {@link assertNetnsName} and {@link assertNetnsPath} do) and returns it; throws SWY_ERR_INVALID_NAME or SWY_ERR_INVALID_OPTION. */
export function assertNetnsRef(ref: unknown): NetnsRef {
  const r = ref as NetnsRef | undefined;
  if (r?.kind === 'host') return r;
  if (r?.kind === 'named') {
    assertNetnsName(r.name);
    return r;
  }
  if (r?.kind === 'path') {
    assertNetnsPath(r.path);
    return r;
  }
  return invalid('SWY_ERR_INVALID_OPTION', `${quoteValue(ref)} is not a namespace reference`, 'Use {kind: "host"}, {kind: "named", name} or {kind: "path", path}.', ref);
}

/** A unicast, non-zero Ethernet address; returned in lower case. */
export function normalizeMac(mac: unknown): string {
  const hint = 'Write it as six hex pairs separated by ":", e.g. 02:42:ac:11:00:02; the first octet must be even (unicast).';
  if (typeof mac !== 'string' || !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(mac)) invalid('SWY_ERR_INVALID_MAC', `${quoteValue(mac)} is not a MAC address`, hint, mac);
  const lower = mac.toLowerCase();
  if ((parseInt(lower.slice(0, 2), 16) & 1) === 1) invalid('SWY_ERR_INVALID_MAC', `${lower} is a multicast MAC address; links need a unicast one`, hint, mac);
  if (lower === '00:00:00:00:00:00') invalid('SWY_ERR_INVALID_MAC', 'The all-zero MAC address cannot be assigned to a link', hint, mac);
  return lower;
}

/** An address with prefix length, parsed by {@link parseCidr}. */
export interface ParsedCidr {
  /** Canonical `address/prefix`. */
  readonly cidr: string;
  /** Canonical address without the prefix. */
  readonly address: string;
  /** Prefix length (0–32 for IPv4, 0–128 for IPv6). */
  readonly prefix: number;
  /** Address family. */
  readonly family: 4 | 6;
  /** Canonical network (`address` with the host bits cleared) and prefix. */
  readonly network: string;
}

function parseIp(text: string): Address4 | Address6 | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined; // no zones, no spaces, nothing ip-address might forgive
  try {
    return text.includes(':') ? new Address6(text) : new Address4(text);
  } catch {
    return undefined;
  }
}

/** An IPv4/IPv6 address without prefix; returned in canonical form. Throws SWY_ERR_INVALID_CIDR when it is not one. */
export function parseIpAddress(
  addr: unknown,
  what = 'address',
): {
  /** The address in canonical form. */
  address: string;
  /** Address family. */
  family: 4 | 6;
} {
  const ip = typeof addr === 'string' ? parseIp(addr) : undefined;
  if (!ip) invalid('SWY_ERR_INVALID_CIDR', `${quoteValue(addr)} is not a valid IP ${what}`, 'Write an IPv4 address like 10.1.0.1 or an IPv6 address like fd00::1, without a prefix length.', addr);
  return { address: ip.correctForm(), family: ip instanceof Address4 ? 4 : 6 };
}

/** An address with prefix length (`10.1.0.2/24`, `fd00::2/64`). */
export function parseCidr(cidr: unknown, what = 'address'): ParsedCidr {
  const hint = 'Write it as address/prefix, e.g. 10.1.0.2/24 or fd00::2/64.';
  if (typeof cidr !== 'string') return invalid('SWY_ERR_INVALID_CIDR', `The ${what} must be a string in CIDR form`, hint, cidr);
  const slash = cidr.indexOf('/');
  const prefixText = slash < 0 ? '' : cidr.slice(slash + 1);
  const ip = slash < 0 ? undefined : parseIp(cidr.slice(0, slash));
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!ip || !(prefix <= (ip instanceof Address4 ? 32 : 128))) invalid('SWY_ERR_INVALID_CIDR', `${quoteValue(cidr)} is not a valid ${what} in CIDR form`, hint, cidr);
  const family = ip instanceof Address4 ? 4 : 6;
  const address = ip.correctForm();
  const net = family === 4 ? new Address4(`${address}/${prefix}`) : new Address6(`${address}/${prefix}`);
  return { cidr: `${address}/${prefix}`, address, prefix, family, network: net.startAddress().correctForm() };
}

/** A route destination: `default` or a network CIDR without host bits (as the kernel demands for IPv4). */
export function parseRouteDst(dst: unknown): {
  /** `default`, or the canonical network CIDR. */
  dst: string;
  /** Address family; absent for `default`. */
  family?: 4 | 6;
} {
  if (dst === 'default') return { dst };
  const p = parseCidr(dst, 'route destination');
  if (p.network !== p.address) {
    invalid('SWY_ERR_INVALID_CIDR', `The route destination ${quoteValue(dst)} has host bits set`, `Use the network address, ${p.network}/${p.prefix}.`, dst);
  }
  return { dst: p.cidr, family: p.family };
}

/** True when `address` lies inside `cidr` (same family). */
export function cidrContains(cidr: string, address: string): boolean {
  const p = parseCidr(cidr);
  const a = parseIpAddress(address);
  if (p.family !== a.family) return false;
  return p.family === 4 ? new Address4(a.address).isInSubnet(new Address4(p.cidr)) : new Address6(a.address).isInSubnet(new Address6(p.cidr));
}

/** A dotted sysctl key below /proc/sys (`net.ipv4.ip_forward`, `net.ipv4.conf.veth1.forwarding`). */
export function assertSysctlKey(key: unknown): string {
  if (typeof key !== 'string' || key.length > 256 || !/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/.test(key) || key.startsWith('-')) {
    invalid('SWY_ERR_INVALID_OPTION', `${quoteValue(key)} is not a sysctl key`, 'Use the dotted form below /proc/sys, e.g. net.ipv4.ip_forward (letters, digits, "_" and "-" between dots).', key);
  }
  return key;
}

/** A sysctl value: printable text on one line (tabs separate multi-value settings). */
export function assertSysctlValue(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 1024 || !/^[\x20-\x7e\t]+$/.test(value)) {
    invalid('SWY_ERR_INVALID_OPTION', `${quoteValue(value)} is not a usable sysctl value`, 'Give the value as text on one line, e.g. "1".', value);
  }
  return value;
}

function assertInteger(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    invalid('SWY_ERR_INVALID_OPTION', `The ${what} ${quoteValue(value)} is not an integer from ${min} to ${max}`, `Choose a ${what} from ${min} to ${max}.`, value);
  }
  return value;
}

/** An MTU in bytes from 68 to 65535; throws SWY_ERR_INVALID_OPTION otherwise. */
export const assertMtu = (mtu: unknown): number => assertInteger(mtu, 'MTU', 68, 65535);
/** An 802.1Q VLAN id from 1 to 4094; throws SWY_ERR_INVALID_OPTION otherwise. */
export const assertVlanId = (id: unknown): number => assertInteger(id, 'VLAN id', 1, 4094);
/** A link group number (unsigned 32-bit); throws SWY_ERR_INVALID_OPTION otherwise. */
export const assertLinkGroup = (group: unknown): number => assertInteger(group, 'link group', 0, 0xffffffff);
/** A route metric (unsigned 32-bit); throws SWY_ERR_INVALID_OPTION otherwise. */
export const assertMetric = (metric: unknown): number => assertInteger(metric, 'route metric', 0, 0xffffffff);
/** The largest VXLAN network identifier (24 bits). */
export const MAX_VNI = 0xffffff;
/** A VXLAN network identifier from 1 to 16777215; throws SWY_ERR_INVALID_OPTION otherwise. */
export const assertVni = (vni: unknown): number => assertInteger(vni, 'VXLAN VNI', 1, MAX_VNI);
/** A UDP port from 1 to 65535; throws SWY_ERR_INVALID_OPTION otherwise. */
export const assertUdpPort = (port: unknown): number => assertInteger(port, 'UDP port', 1, 65535);
