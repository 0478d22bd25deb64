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
