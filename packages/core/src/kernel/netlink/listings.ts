import type { AddrInfo, LinkInfo, RouteInfo } from '../../spi/kernel.js';
import type { LinkState } from '../undo.js';
import { formatIp, formatLinkAddress } from './addresses.js';
import { decodeAttrs, readNested, readString, readU32, readU8, type AttrTable } from './attributes.js';
import * as C from './constants.js';
import { decodeIfAddr, decodeIfInfo, decodeRtMsg, IFADDRMSG_LEN, IFINFOMSG_LEN, RTMSG_LEN, type IfInfoMsg, type Message } from './messages.js';

/**
 * Turns rtnetlink dump messages into the Kernel port's listing types, field for field as
 * ip-json.ts builds them from `ip -json` (same flag words, same text for addresses, the same
 * routes and addresses left out), so both executors list the same kernel state identically.
 */

/** One RTM_NEWLINK message, decoded. */
export interface LinkMessage {
  readonly header: IfInfoMsg;
  readonly attrs: AttrTable;
  readonly name: string;
}

export function decodeLinkMessage(message: Message): LinkMessage {
  const header = decodeIfInfo(message.body);
  const attrs = decodeAttrs(message.body, IFINFOMSG_LEN);
  return { header, attrs, name: readString(attrs, C.IFLA_IFNAME) ?? `if${header.index}` };
}

// iproute2's order of flag words (print_link_flags); RUNNING is never printed.
const FLAG_WORDS: ReadonlyArray<readonly [number, string]> = [
  [C.IFF_LOOPBACK, 'LOOPBACK'],
  [C.IFF_BROADCAST, 'BROADCAST'],
  [C.IFF_POINTOPOINT, 'POINTOPOINT'],
  [C.IFF_MULTICAST, 'MULTICAST'],
  [C.IFF_NOARP, 'NOARP'],
  [C.IFF_ALLMULTI, 'ALLMULTI'],
  [C.IFF_PROMISC, 'PROMISC'],
  [C.IFF_MASTER, 'MASTER'],
  [C.IFF_SLAVE, 'SLAVE'],
  [C.IFF_DEBUG, 'DEBUG'],
  [C.IFF_DYNAMIC, 'DYNAMIC'],
  [C.IFF_AUTOMEDIA, 'AUTOMEDIA'],
  [C.IFF_PORTSEL, 'PORTSEL'],
  [C.IFF_NOTRAILERS, 'NOTRAILERS'],
  [C.IFF_UP, 'UP'],
  [C.IFF_LOWER_UP, 'LOWER_UP'],
  [C.IFF_DORMANT, 'DORMANT'],
  [C.IFF_ECHO, 'ECHO'],
];

/** The flag words `ip -json link` prints; `lowerDown` adds M-DOWN (the link it sits on, in this namespace, is down). */
export function flagWords(flags: number, lowerDown: boolean): string[] {
  const words: string[] = [];
  if (flags & C.IFF_UP && !(flags & C.IFF_RUNNING)) words.push('NO-CARRIER');
  let rest = flags & ~C.IFF_RUNNING;
  for (const [bit, word] of FLAG_WORDS) {
    if (rest & bit) {
      words.push(word);
      rest &= ~bit;
    }
  }
  if (rest) words.push((rest >>> 0).toString(16));
  if (lowerDown) words.push('M-DOWN');
  return words;
}

// ARPHRD types whose link address iproute2 prints as an IP address.
const IPV4_ADDRESSED = new Set([768, 776, 778]); // TUNNEL, SIT, IPGRE
const IPV6_ADDRESSED = new Set([769, 823]); // TUNNEL6, IP6GRE

function linkAddressText(type: number, address: Buffer): string {
  if ((address.length === 4 && IPV4_ADDRESSED.has(type)) || (address.length === 16 && IPV6_ADDRESSED.has(type))) return formatIp(address);
  return formatLinkAddress(address);
}

/** LinkInfo for every link of one dump, with masters and lower links resolved inside the dump. */
export function linkInfos(links: readonly LinkMessage[]): LinkInfo[] {
  const byIndex = new Map(links.map((l) => [l.header.index, l]));
  return links.map((l) => {
    const info: { -readonly [K in keyof LinkInfo]: LinkInfo[K] } = { name: l.name, index: l.header.index, mtu: readU32(l.attrs, C.IFLA_MTU) ?? 0, up: (l.header.flags & C.IFF_UP) !== 0, flags: [] };
    const lowerIndex = readU32(l.attrs, C.IFLA_LINK);
    const lower = lowerIndex && !l.attrs.has(C.IFLA_LINK_NETNSID) ? byIndex.get(lowerIndex) : undefined;
    info.flags = flagWords(l.header.flags, lower !== undefined && (lower.header.flags & C.IFF_UP) === 0);
    const kind = readString(readNested(l.attrs, C.IFLA_LINKINFO), C.IFLA_INFO_KIND);
    if (kind) info.kind = kind;
    const address = l.attrs.get(C.IFLA_ADDRESS);
    if (address && address.length > 0) info.mac = linkAddressText(l.header.type, address);
    const master = readU32(l.attrs, C.IFLA_MASTER);
    if (master) info.master = byIndex.get(master)?.name ?? `if${master}`;
    const group = readU32(l.attrs, C.IFLA_GROUP);
    if (group !== undefined) info.group = group;
    return info;
  });
}

/** A link's changeable state for exact undo (as ip-json.ts's parseLinkState reads it); `masterName` resolves IFLA_MASTER. */
export function linkStateOf(link: LinkMessage, masterName: string | undefined): LinkState {
  const info = readNested(link.attrs, C.IFLA_LINKINFO);
  const slave = readString(info, C.IFLA_INFO_SLAVE_KIND) === 'bridge' ? readNested(info, C.IFLA_INFO_SLAVE_DATA) : undefined;
  const address = link.attrs.get(C.IFLA_ADDRESS);
  return {
    up: (link.header.flags & C.IFF_UP) !== 0,
    promisc: (link.header.flags & C.IFF_PROMISC) !== 0,
    mtu: readU32(link.attrs, C.IFLA_MTU) ?? 0,
    ...(address && address.length > 0 ? { mac: linkAddressText(link.header.type, address) } : {}),
    master: masterName ?? null,
    ...(slave ? { port: { hairpin: readU8(slave, C.IFLA_BRPORT_MODE) === 1, isolated: readU8(slave, C.IFLA_BRPORT_ISOLATED) === 1, learning: readU8(slave, C.IFLA_BRPORT_LEARNING) !== 0 } } : {}),
  };
}

const SCOPE_NAMES: Readonly<Record<number, string>> = { 0: 'global', 200: 'site', 253: 'link', 254: 'host', 255: 'nowhere' };

function scopeName(scope: number): string {
  return SCOPE_NAMES[scope] ?? String(scope);
}

/**
 * Addresses from an RTM_GETADDR dump, grouped by link in the links' order as `ip addr show` prints
 * them; IPv6 link-local ones are left out.
 */
export function addrInfos(messages: readonly Message[], links: readonly LinkMessage[]): AddrInfo[] {
  const decoded = messages.map((m) => ({ header: decodeIfAddr(m.body), attrs: decodeAttrs(m.body, IFADDRMSG_LEN) }));
  return links.flatMap((link) =>
    decoded
      .filter((a) => a.header.index === link.header.index && (a.header.family === C.AF_INET || a.header.family === C.AF_INET6))
      .flatMap((a) => {
        const local = a.attrs.get(C.IFA_LOCAL) ?? a.attrs.get(C.IFA_ADDRESS);
        const family = a.header.family === C.AF_INET ? (4 as const) : (6 as const);
        if (!local || (family === 6 && a.header.scope === C.RT_SCOPE_LINK)) return [];
        return [{ dev: link.name, cidr: `${formatIp(local)}/${a.header.prefixlen}`, family, scope: scopeName(a.header.scope) }];
      }),
  );
}

// RTN_LOCAL, BROADCAST, ANYCAST, MULTICAST, NAT: not unicast routes, left out as parseRoutes does.
const NON_UNICAST_TYPES = new Set([2, 3, 4, 5, 10]);
const PROTOCOL_NAMES: Readonly<Record<number, string>> = {
  0: 'unspec',
  1: 'redirect',
  2: 'kernel',
  3: 'boot',
  4: 'static',
  8: 'gated',
  9: 'ra',
  10: 'mrt',
  11: 'zebra',
  12: 'bird',
  13: 'dnrouted',
  14: 'xorp',
  15: 'ntk',
  16: 'dhcp',
  18: 'keepalived',
  42: 'babel',
  99: 'openr',
  186: 'bgp',
  187: 'isis',
  188: 'ospf',
  189: 'rip',
  192: 'eigrp',
};

/** Main-table unicast routes of both families from an RTM_GETROUTE dump, without IPv6 link-local and multicast routes. */
export function routeInfos(messages: readonly Message[], links: readonly LinkMessage[]): RouteInfo[] {
  const names = new Map(links.map((l) => [l.header.index, l.name]));
  const out: RouteInfo[] = [];
  for (const m of messages) {
    const h = decodeRtMsg(m.body);
    if (h.family !== C.AF_INET && h.family !== C.AF_INET6) continue;
    const attrs = decodeAttrs(m.body, RTMSG_LEN);
    if ((readU32(attrs, C.RTA_TABLE) ?? h.table) !== C.RT_TABLE_MAIN || NON_UNICAST_TYPES.has(h.type)) continue;
    const hostLen = h.family === C.AF_INET ? 32 : 128;
    const dstBytes = attrs.get(C.RTA_DST);
    const dst = dstBytes ? (h.dstLen === hostLen ? formatIp(dstBytes) : `${formatIp(dstBytes)}/${h.dstLen}`) : h.dstLen ? `0/${h.dstLen}` : 'default';
    if (dst === 'fe80::/64' || dst === 'ff00::/8') continue;
    const route: { -readonly [K in keyof RouteInfo]: RouteInfo[K] } = { dst, family: h.family === C.AF_INET ? 4 : 6 };
    const gateway = attrs.get(C.RTA_GATEWAY);
    if (gateway) route.via = formatIp(gateway);
    const oif = readU32(attrs, C.RTA_OIF);
    if (oif !== undefined) route.dev = names.get(oif) ?? `if${oif}`;
    if (h.scope !== C.RT_SCOPE_UNIVERSE) route.scope = scopeName(h.scope);
    if (h.protocol !== C.RTPROT_BOOT) route.protocol = PROTOCOL_NAMES[h.protocol] ?? String(h.protocol);
    out.push(route);
  }
  return out;
}
