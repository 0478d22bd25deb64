import { normalizeMac, parseCidr, parseIpAddress, parseRouteDst, specialRangeOf, type GlobalEndpoint } from '@switchyard/core';
import type { RoutedSubnet } from '@switchyard/driver-routed';

/**
 * What the agent keeps in the kernel for remote endpoints and hosts, as data: VXLAN forwarding-database
 * entries (remote MAC -> remote host's underlay address), neighbour entries on the VXLAN device (remote
 * IP -> MAC, which the device answers ARP/ND from: nothing is flooded), and routes to other hosts'
 * subnets of routed networks via their underlay addresses.
 */
export interface ForwardingState {
  /** Forwarding entries by {@link fdbKey}. */
  fdb: Map<string, FdbEntry>;
  /** Neighbour entries by {@link neighKey}. */
  neigh: Map<string, NeighEntry>;
  /** Routes by destination. */
  routes: Map<string, AgentRoute>;
}

/** A VXLAN forwarding-database entry: frames for `mac` go to the host at `dst`. */
export interface FdbEntry {
  /** The VXLAN device. */
  dev: string;
  /** The remote endpoint's MAC (lower case). */
  mac: string;
  /** The remote host's underlay address. */
  dst: string;
}

/** A permanent neighbour entry on a VXLAN device, which the device answers ARP/ND from. */
export interface NeighEntry {
  /** The VXLAN device. */
  dev: string;
  /** The remote endpoint's address. */
  ip: string;
  /** Its MAC. */
  mac: string;
}

/** A route to another host's subnet of a routed network. */
export interface AgentRoute {
  /** The subnet, CIDR. */
  dst: string;
  /** The other host's underlay address. */
  via: string;
}

/** How many entries of each kind a pass added (or replaced) and removed. */
export interface ForwardingCounts {
  /** Forwarding entries added or replaced. */
  fdbAdded: number;
  /** Forwarding entries removed. */
  fdbRemoved: number;
  /** Neighbour entries added or replaced. */
  neighAdded: number;
  /** Neighbour entries removed. */
  neighRemoved: number;
  /** Routes added or replaced. */
  routesAdded: number;
  /** Routes removed. */
  routesRemoved: number;
}

/** An empty state. */
export function emptyForwarding(): ForwardingState {
  return { fdb: new Map(), neigh: new Map(), routes: new Map() };
}

/** Key of an FDB entry. */
export const fdbKey = (dev: string, mac: string) => `${dev} ${mac.toLowerCase()}`;
/** Key of a neighbour entry. */
export const neighKey = (dev: string, ip: string) => `${dev} ${ip}`;

/** The changes that turn `actual` into `desired`, as `bridge -batch` and `ip -batch` lines. */
export interface ForwardingChanges {
  /** Lines for `bridge -batch -`. */
  bridge: string[];
  /** Lines for `ip -batch -` (neighbours and routes). */
  ip: string[];
  /** Counts, for the report. */
  counts: ForwardingCounts;
}

/** The route protocol number the agent marks its routes with (so it removes only its own). */
export const AGENT_ROUTE_PROTOCOL = 83;

/** Plans the difference: entries missing or different are replaced, entries not desired are deleted. */
export function planForwarding(desired: ForwardingState, actual: ForwardingState): ForwardingChanges {
  const out: ForwardingChanges = { bridge: [], ip: [], counts: { fdbAdded: 0, fdbRemoved: 0, neighAdded: 0, neighRemoved: 0, routesAdded: 0, routesRemoved: 0 } };
  for (const [key, e] of desired.fdb) {
    if (actual.fdb.get(key)?.dst === e.dst) continue;
    out.bridge.push(`fdb replace ${e.mac} dev ${e.dev} dst ${e.dst} self permanent`);
    out.counts.fdbAdded++;
  }
  for (const [key, e] of actual.fdb) {
    if (desired.fdb.has(key)) continue;
    out.bridge.push(`fdb del ${e.mac} dev ${e.dev} dst ${e.dst} self`);
    out.counts.fdbRemoved++;
  }
  for (const [key, n] of desired.neigh) {
    if (actual.neigh.get(key)?.mac === n.mac) continue;
    out.ip.push(`neigh replace ${n.ip} lladdr ${n.mac} dev ${n.dev} nud permanent`);
    out.counts.neighAdded++;
  }
  for (const [key, n] of actual.neigh) {
    if (desired.neigh.has(key)) continue;
    out.ip.push(`neigh del ${n.ip} dev ${n.dev}`);
    out.counts.neighRemoved++;
  }
  for (const [dst, r] of desired.routes) {
    if (actual.routes.get(dst)?.via === r.via) continue;
    out.ip.push(`route replace ${r.dst} via ${r.via} proto ${AGENT_ROUTE_PROTOCOL}`);
    out.counts.routesAdded++;
  }
  for (const [dst, r] of actual.routes) {
    if (desired.routes.has(dst)) continue;
    out.ip.push(`route del ${r.dst} via ${r.via} proto ${AGENT_ROUTE_PROTOCOL}`);
    out.counts.routesRemoved++;
  }
  return out;
}

/** What the desired state is built from: the cluster's documents and this host's overlay devices. */
export interface ForwardingSources {
  /** This host's name (its own documents program nothing here). */
  me: string;
  /** This host's VXLAN device of each overlay network, by network name (from its local store). */
  vxlanOf: ReadonlyMap<string, string>;
  /** Every endpoint document of the cluster. */
  endpoints: readonly GlobalEndpoint[];
  /** Every routed-subnet document of the cluster. */
  subnets: readonly RoutedSubnet[];
}

/**
 * The entries and routes the cluster's documents ask of this host. Documents come from other hosts through
 * etcd and their fields end up in `bridge -batch`/`ip -batch` lines run as root, so each is checked for form
 * first: a unicast MAC, plain addresses of one family, a network CIDR that is not a default route. A document
 * that fails is left out and reported through `skipped(key, reason)` (nothing of it reaches the kernel).
 */
export function desiredForwarding(sources: ForwardingSources, skipped: (key: string, reason: string) => void): ForwardingState {
  const desired = emptyForwarding();
  for (const ep of sources.endpoints) {
    const dev = sources.vxlanOf.get(ep.network);
    if (ep.host === sources.me || dev === undefined || ep.driver !== 'overlay' || ep.mac === undefined) continue;
    try {
      const mac = normalizeMac(ep.mac);
      const dst = hostAddress(ep.hostAddress);
      const ips = ([ep.ipv4, ep.ipv6] as const).flatMap((cidr, i) => {
        if (cidr === undefined) return [];
        const p = parseCidr(cidr, `IPv${i === 0 ? 4 : 6} address`);
        if (p.family !== (i === 0 ? 4 : 6)) throw new Error(`its ipv${i === 0 ? 4 : 6} ${JSON.stringify(cidr)} is of the other family`);
        const special = specialRangeOf(p.address);
        if (special) throw new Error(`its address ${p.address} lies in ${special.what}`);
        return [p.address];
      });
      desired.fdb.set(fdbKey(dev, mac), { dev, mac, dst });
      for (const ip of ips) desired.neigh.set(neighKey(dev, ip), { dev, ip, mac });
    } catch (e) {
      skipped(`endpoint ${String(ep.id)}`, (e as Error).message);
    }
  }
  for (const s of sources.subnets) {
    if (s.host === sources.me) continue;
    try {
      const { dst, family } = parseRouteDst(s.subnet);
      if (family === undefined || Number(dst.split('/')[1]) === 0) throw new Error(`its subnet ${JSON.stringify(s.subnet)} would be a default route`);
      const special = specialRangeOf(dst);
      if (special) throw new Error(`its subnet ${dst} lies in ${special.what}`);
      const via = hostAddress(s.hostAddress);
      if (!via.includes(':') !== (family === 4)) throw new Error(`its host address ${via} is not of the subnet's family`);
      desired.routes.set(dst, { dst, via });
    } catch (e) {
      skipped(`routed subnet of ${String(s.host)} on ${String(s.network)}`, (e as Error).message);
    }
  }
  return desired;
}

/** A host's underlay address from a document: a plain unicast address (not unspecified, loopback, link-local or multicast). */
function hostAddress(value: unknown): string {
  const { address } = parseIpAddress(value, 'host address');
  const special = specialRangeOf(address);
  if (special) throw new Error(`its host address ${address} lies in ${special.what}`);
  return address;
}
