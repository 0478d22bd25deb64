import type { AddrInfo, LinkInfo, RouteInfo } from '../spi/kernel.js';
import type { LinkState } from './undo.js';

/** Maps `ip -json` output onto the Kernel port's listing types. */

interface IpLinkJson {
  ifindex: number;
  ifname: string;
  flags?: string[];
  mtu: number;
  address?: string;
  master?: string;
  group?: string | number;
  linkinfo?: { info_kind?: string; info_slave_kind?: string; info_slave_data?: { hairpin?: boolean; isolated?: boolean; learning?: boolean } };
}

interface IpAddrJson {
  ifname: string;
  addr_info?: Array<{ family: string; local?: string; prefixlen?: number; scope?: string }>;
}

interface IpRouteJson {
  type?: string;
  dst: string;
  gateway?: string;
  dev?: string;
  table?: string;
  scope?: string;
  protocol?: string;
  pref?: string;
}

function parseArray<T>(stdout: string): T[] {
  const text = stdout.trim();
  return text === '' ? [] : (JSON.parse(text) as T[]);
}

function groupNumber(group: string | number | undefined): number | undefined {
  if (group === undefined) return undefined;
  if (group === 'default') return 0;
  const n = Number(group);
  return Number.isInteger(n) ? n : undefined;
}

export function parseLinks(stdout: string): LinkInfo[] {
  return parseArray<IpLinkJson>(stdout).map((l) => {
    const flags = l.flags ?? [];
    const info: { -readonly [K in keyof LinkInfo]: LinkInfo[K] } = { name: l.ifname, index: l.ifindex, mtu: l.mtu, up: flags.includes('UP'), flags };
    if (l.linkinfo?.info_kind) info.kind = l.linkinfo.info_kind;
    if (l.address) info.mac = l.address;
    if (l.master) info.master = l.master;
    const group = groupNumber(l.group);
    if (group !== undefined) info.group = group;
    return info;
  });
}

/** Addresses, without IPv6 link-local ones (the kernel makes those by itself). */
export function parseAddrs(stdout: string): AddrInfo[] {
  return parseArray<IpAddrJson>(stdout).flatMap((l) =>
    (l.addr_info ?? [])
      .filter((a) => (a.family === 'inet' || a.family === 'inet6') && a.local !== undefined && !(a.family === 'inet6' && a.scope === 'link'))
      .map((a) => ({ dev: l.ifname, cidr: `${a.local}/${a.prefixlen}`, family: a.family === 'inet' ? (4 as const) : (6 as const), scope: a.scope ?? 'global' })),
  );
}

const NON_UNICAST = new Set(['local', 'broadcast', 'multicast', 'anycast', 'nat']);

/**
 * Main-table unicast routes of both families, from `ip -json route show table all`; IPv6
 * link-local and multicast routes are left out, like link-local addresses.
 */
export function parseRoutes(stdout: string): RouteInfo[] {
  return parseArray<IpRouteJson>(stdout)
    .filter((r) => (r.table === undefined || r.table === 'main') && !NON_UNICAST.has(r.type ?? 'unicast'))
    .filter((r) => !/^fe80::\/64$|^ff00::\/8$/.test(r.dst))
    .map((r) => {
      // IPv6 routes always carry a preference; IPv4 ones never do.
      const family = r.dst.includes(':') || r.gateway?.includes(':') || r.pref !== undefined ? (6 as const) : (4 as const);
      const route: { -readonly [K in keyof RouteInfo]: RouteInfo[K] } = { dst: r.dst, family };
      if (r.gateway) route.via = r.gateway;
      if (r.dev) route.dev = r.dev;
      if (r.scope) route.scope = r.scope;
      if (r.protocol) route.protocol = r.protocol;
      return route;
    });
}

/** The state of one link from `ip -d -json link show dev X` (one JSON array), for exact undo. */
export function parseLinkState(json: string): LinkState | undefined {
  const l = parseArray<IpLinkJson>(json)[0];
  if (!l) return undefined;
  const flags = l.flags ?? [];
  const slave = l.linkinfo?.info_slave_kind === 'bridge' ? l.linkinfo.info_slave_data : undefined;
  return {
    up: flags.includes('UP'),
    promisc: flags.includes('PROMISC'),
    mtu: l.mtu,
    ...(l.address ? { mac: l.address } : {}),
    master: l.master ?? null,
    ...(slave ? { port: { hairpin: slave.hairpin === true, isolated: slave.isolated === true, learning: slave.learning !== false } } : {}),
  };
}
