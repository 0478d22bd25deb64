import { vxlanSettings, type VxlanSettings, type AddrInfo, type LinkAddOp, type LinkInfo, type LinkKind, type LinkSetOp, type NetnsRef, type RouteInfo, type RouteOp } from '../spi/kernel.js';
import { nsKey } from './describe-step.js';
import { BRIDGE_MAX_PORTS, type KernelFailureReason } from './kernel-errors.js';
import { cidrContains, parseCidr } from './names.js';
import type { LinkState } from './undo.js';

/**
 * An in-memory model of the kernel state the Kernel port touches: namespaces, links, addresses and
 * routes, with the side effects that matter (veth ends die together, a deleted bridge releases its
 * ports, a link moved or brought down loses routes, IPv6 addresses vanish on down, prefix routes
 * follow addresses on up links). It works on normalised operations; each method checks everything
 * before changing anything, so a failed operation leaves no trace. Used by FakeKernel.
 */

export class ModelFailure extends Error {
  constructor(
    readonly reason: KernelFailureReason,
    message: string,
  ) {
    super(message);
  }
}

interface PortFlags {
  hairpin: boolean;
  isolated: boolean;
  learning: boolean;
}

export interface ModelLink {
  /** Identity across namespaces (peers, masters, parents point at it). */
  readonly id: number;
  ns: string;
  index: number;
  name: string;
  readonly kind: LinkKind | 'loopback' | 'device';
  mtu: number;
  mtuSetByUser: boolean;
  mac: string;
  up: boolean;
  promisc: boolean;
  group: number;
  masterId?: number;
  peerId?: number;
  parentId?: number;
  port?: PortFlags;
  vxlan?: VxlanSettings;
}

interface ModelAddr {
  linkId: number;
  address: string;
  prefix: number;
  family: 4 | 6;
  network: string;
  noprefixroute: boolean;
}

interface ModelRoute {
  dst: string;
  family: 4 | 6;
  via?: string;
  linkId: number;
  metric: number;
  scope?: string;
  src?: string;
  mtu?: number;
  onlink?: boolean;
  /** A prefix route the kernel keeps for an address (computed, never stored). */
  kernel?: boolean;
}

interface ModelNs {
  readonly ref: NetnsRef;
  nextIndex: number;
  readonly addrs: ModelAddr[];
  readonly routes: ModelRoute[];
  readonly sysctls: Map<string, string>;
}

function fail(reason: KernelFailureReason, message: string): never {
  throw new ModelFailure(reason, message);
}

function isLoopbackAddr(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}

export class NetstackModel {
  private readonly namespaces = new Map<string, ModelNs>();
  private readonly links = new Map<number, ModelLink>();
  private nextId = 1;
  private macCounter = 0;

  constructor() {
    this.addNamespace({ kind: 'host' });
  }

  // ---- namespaces -------------------------------------------------------------------------

  hasNamespace(ref: NetnsRef): boolean {
    return this.namespaces.has(nsKey(ref));
  }

  /** A fresh namespace holding only `lo`, brought up. */
  addNamespace(ref: NetnsRef): void {
    const key = nsKey(ref);
    this.namespaces.set(key, { ref, nextIndex: 1, addrs: [], routes: [], sysctls: new Map() });
    const lo = this.newLink(key, 'lo', 'loopback', 65536, '00:00:00:00:00:00');
    this.setUp(lo, true);
  }

  deleteNamespace(ref: NetnsRef): void {
    const key = nsKey(ref);
    for (const link of [...this.links.values()].filter((l) => l.ns === key)) if (this.links.has(link.id)) this.removeLink(link);
    this.namespaces.delete(key);
  }

  private ns(key: string): ModelNs {
    return this.namespaces.get(key) ?? fail('netns-missing', `namespace ${key} does not exist`);
  }

  // ---- links ------------------------------------------------------------------------------

  linkIn(key: string, name: string): ModelLink | undefined {
    for (const l of this.links.values()) if (l.ns === key && l.name === name) return l;
    return undefined;
  }

  private needLink(key: string, name: string): ModelLink {
    return this.linkIn(key, name) ?? fail('link-missing', `Cannot find device "${name}"`);
  }

  private freeIndex(ns: ModelNs, moving?: ModelLink): number {
    const used = new Set([...this.links.values()].filter((l) => l.ns === nsKey(ns.ref) && l !== moving).map((l) => l.index));
    const wanted = moving?.index;
    if (wanted !== undefined && !used.has(wanted)) return wanted;
    while (used.has(ns.nextIndex)) ns.nextIndex += 1;
    return ns.nextIndex++;
  }

  private nextMac(): string {
    const n = ++this.macCounter;
    return `02:00:00:${((n >> 16) & 0xff).toString(16).padStart(2, '0')}:${((n >> 8) & 0xff).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`;
  }

  private newLink(key: string, name: string, kind: ModelLink['kind'], mtu: number, mac?: string): ModelLink {
    const link: ModelLink = { id: this.nextId++, ns: key, index: this.freeIndex(this.ns(key)), name, kind, mtu, mtuSetByUser: false, mac: mac ?? this.nextMac(), up: false, promisc: false, group: 0 };
    this.links.set(link.id, link);
    return link;
  }

  /** A physical-like device (no kind), e.g. a parent for macvlan in tests. */
  addDevice(key: string, name: string, opts: { mtu?: number; up?: boolean; mac?: string } = {}): void {
    this.ns(key);
    if (this.linkIn(key, name)) fail('exists', 'RTNETLINK answers: File exists');
    const link = this.newLink(key, name, 'device', opts.mtu ?? 1500, opts.mac);
    if (opts.up) this.setUp(link, true);
  }

  linkAdd(key: string, op: LinkAddOp, kindAvailable: (kind: LinkKind) => boolean): void {
    const target = op.netns ? nsKey(op.netns) : key;
    this.ns(target);
    if (this.linkIn(target, op.name)) fail('exists', 'RTNETLINK answers: File exists');
    // The kernel refuses these names: its per-device sysctl trees already use them.
    if (op.name === 'all' || op.name === 'default') fail('other', 'RTNETLINK answers: Invalid argument');
    if (!kindAvailable(op.kind)) fail('unsupported', 'Error: Unknown device type.');
    let parent: ModelLink | undefined;
    if ('parent' in op) {
      parent = this.needLink(key, op.parent);
      if (op.mtu !== undefined && op.mtu > parent.mtu) fail('other', 'RTNETLINK answers: Invalid argument');
    }
    let vxlan: VxlanSettings | undefined;
    if (op.kind === 'vxlan') {
      vxlan = vxlanSettings(op);
      // The kernel keeps one vxlan link per VNI, UDP port and address family (of `local`) in a namespace.
      const family = (c: VxlanSettings): number => (c.local?.includes(':') ? 6 : 4);
      const wanted = vxlan;
      const clash = [...this.links.values()].some((l) => l.ns === target && l.vxlan && l.vxlan.vni === wanted.vni && l.vxlan.port === wanted.port && family(l.vxlan) === family(wanted));
      if (clash) fail('exists', 'Error: A VXLAN device with the specified VNI already exists.');
    }
    let peerNs: string | undefined;
    if (op.kind === 'veth') {
      peerNs = op.peer.netns ? nsKey(op.peer.netns) : key;
      this.ns(peerNs);
      if (this.linkIn(peerNs, op.peer.name) || (peerNs === target && op.peer.name === op.name)) fail('exists', 'RTNETLINK answers: File exists');
    }
    const link = this.newLink(target, op.name, op.kind, op.mtu ?? parent?.mtu ?? 1500, op.mac);
    link.group = op.group ?? 0;
    if (parent) link.parentId = parent.id;
    if (vxlan) link.vxlan = vxlan;
    if (op.kind === 'veth' && peerNs !== undefined) {
      const peer = this.newLink(peerNs, op.peer.name, 'veth', op.peer.mtu ?? 1500, op.peer.mac);
      peer.peerId = link.id;
      link.peerId = peer.id;
    }
  }

  linkDel(key: string, name: string, ifExists: boolean): void {
    const link = this.linkIn(key, name);
    if (!link) {
      if (ifExists) return;
      fail('link-missing', `Cannot find device "${name}"`);
    }
    if (link.kind === 'loopback') fail('other', 'RTNETLINK answers: Operation not supported');
    this.removeLink(link);
  }

  /** Deletes every link of a link group in one call, as the kernel does; ENODEV for an empty group. */
  groupDel(key: string, group: number): void {
    const members = [...this.links.values()].filter((l) => l.ns === key && l.group === group);
    if (members.length === 0) fail('link-missing', 'RTNETLINK answers: No such device');
    if (members.some((l) => l.kind === 'loopback')) fail('other', 'RTNETLINK answers: Operation not supported');
    for (const link of members) this.removeLink(link);
  }

  private removeLink(link: ModelLink): void {
    if (!this.links.has(link.id)) return;
    this.links.delete(link.id);
    this.dropAddrsAndRoutes(link, 'all');
    // A link's own sysctls (net.ipv4.conf.<name>.*) go with it, as in the kernel.
    this.takeLinkSysctls(link);
    for (const other of [...this.links.values()]) {
      if (other.masterId === link.id) this.release(other);
      if (other.parentId === link.id || other.id === link.peerId) this.removeLink(other);
    }
  }

  /** Removes the link's own sysctls (net.ipv4.conf.<name>.* and the like) from its namespace and returns them. */
  private takeLinkSysctls(link: ModelLink): Array<{ tree: string; leaf: string; value: string }> {
    const taken: Array<{ tree: string; leaf: string; value: string }> = [];
    // ("all" and "default" name the namespace-wide entries, never a link's.)
    if (link.name === 'all' || link.name === 'default') return taken;
    const sysctls = this.namespaces.get(link.ns)?.sysctls;
    for (const [name, value] of [...(sysctls?.entries() ?? [])]) {
      const m = /^net\.(ipv[46]\.(?:conf|neigh))\.([^.]+)\.(.+)$/.exec(name);
      if (m && m[2] === link.name) {
        sysctls?.delete(name);
        taken.push({ tree: m[1] as string, leaf: m[3] as string, value });
      }
    }
    return taken;
  }

  private dropAddrsAndRoutes(link: ModelLink, which: 'all' | 'v6addrs'): void {
    const ns = this.namespaces.get(link.ns);
    if (!ns) return;
    for (let i = ns.addrs.length - 1; i >= 0; i--) {
      const a = ns.addrs[i] as ModelAddr;
      if (a.linkId === link.id && (which === 'all' || a.family === 6)) ns.addrs.splice(i, 1);
    }
    for (let i = ns.routes.length - 1; i >= 0; i--) if ((ns.routes[i] as ModelRoute).linkId === link.id) ns.routes.splice(i, 1);
  }

  private release(port: ModelLink): void {
    const master = port.masterId === undefined ? undefined : this.links.get(port.masterId);
    delete port.masterId;
    delete port.port;
    if (master) this.adjustBridgeMtu(master);
  }

  private adjustBridgeMtu(bridge: ModelLink): void {
    if (bridge.mtuSetByUser) return;
    const ports = [...this.links.values()].filter((l) => l.masterId === bridge.id);
    if (ports.length) bridge.mtu = Math.min(...ports.map((p) => p.mtu));
  }

  private setUp(link: ModelLink, up: boolean): void {
    if (link.up === up) return;
    link.up = up;
    if (!up) {
      this.dropAddrsAndRoutes(link, 'v6addrs'); // IPv6 addresses and every route on the link go with it
      return;
    }
    if (link.kind === 'loopback') {
      const ns = this.ns(link.ns);
      for (const cidr of ['127.0.0.1/8', '::1/128']) {
        const p = parseCidr(cidr);
        if (!ns.addrs.some((a) => a.linkId === link.id && a.address === p.address)) {
          ns.addrs.push({ linkId: link.id, address: p.address, prefix: p.prefix, family: p.family, network: p.network, noprefixroute: false });
        }
      }
    }
  }

  linkSet(key: string, op: LinkSetOp): void {
    const link = this.needLink(key, op.name);
    // The kernel renames only a link that is down (EBUSY), whatever else the same request changes.
    if (op.newName !== undefined && op.newName !== op.name && link.up && (op.netns === undefined || nsKey(op.netns) === key)) fail('other', 'RTNETLINK answers: Device or resource busy');
    const targetNs = op.netns ? nsKey(op.netns) : key;
    const finalName = op.newName ?? op.name;
    if (targetNs !== key) {
      this.ns(targetNs);
      if (link.kind === 'bridge' || link.kind === 'loopback') fail('other', 'Error: The interface netns is immutable.');
      if (this.linkIn(targetNs, finalName)) fail('exists', 'RTNETLINK answers: File exists');
    } else if (op.newName !== undefined && op.newName !== op.name && this.linkIn(key, op.newName)) {
      fail('exists', 'RTNETLINK answers: File exists');
    }
    const parent = link.parentId === undefined ? undefined : this.links.get(link.parentId);
    if (op.mtu !== undefined && parent && op.mtu > parent.mtu) fail('other', 'RTNETLINK answers: Invalid argument');
    let master: ModelLink | undefined;
    if (typeof op.master === 'string') {
      master = this.linkIn(targetNs, op.master) ?? fail('link-missing', `Error: argument "${op.master}" is wrong: Device does not exist`);
      if (master.kind !== 'bridge' || master.id === link.id) fail('other', 'RTNETLINK answers: Operation not supported');
      const ports = [...this.links.values()].filter((l) => l.masterId === master?.id && l.id !== link.id).length;
      if (link.masterId !== master.id && ports >= BRIDGE_MAX_PORTS) fail('bridge-full', 'RTNETLINK answers: Exchange full');
      if ([...this.links.values()].some((l) => l.parentId === link.id)) fail('other', 'RTNETLINK answers: Device or resource busy');
    }
    // Checks done: change state in the kernel's order (move, rename, attributes, master, flags).
    // A link's sysctls follow a rename; a move to another namespace starts it on that namespace's defaults (as the kernel).
    const own = targetNs !== key || finalName !== link.name ? this.takeLinkSysctls(link) : [];
    if (targetNs === key) for (const { tree, leaf, value } of own) this.ns(key).sysctls.set(`net.${tree}.${finalName}.${leaf}`, value);
    if (targetNs !== key) {
      this.release(link);
      this.dropAddrsAndRoutes(link, 'all');
      link.up = false;
      link.ns = targetNs;
      link.index = this.freeIndex(this.ns(targetNs), link); // kept when free there, as the kernel does
    }
    link.name = finalName;
    if (op.mtu !== undefined) this.setMtu(link, op.mtu, true);
    if (op.mac !== undefined) link.mac = op.mac;
    if (op.master === null) this.release(link);
    if (master) {
      link.masterId = master.id;
      link.port = { hairpin: false, isolated: false, learning: true };
      this.adjustBridgeMtu(master);
    }
    if (op.promisc !== undefined) link.promisc = op.promisc;
    if (op.group !== undefined) link.group = op.group;
    if (op.up !== undefined) this.setUp(link, op.up);
  }

  private setMtu(link: ModelLink, mtu: number, byUser: boolean): void {
    link.mtu = mtu;
    if (byUser) link.mtuSetByUser = true;
    for (const child of this.links.values()) if (child.parentId === link.id && child.mtu > mtu) child.mtu = mtu;
    const master = link.masterId === undefined ? undefined : this.links.get(link.masterId);
    if (master) this.adjustBridgeMtu(master);
  }

  bridgePort(key: string, name: string, flags: Partial<PortFlags>): void {
    const link = this.needLink(key, name);
    if (!link.port) fail('other', 'RTNETLINK answers: Operation not supported');
    for (const f of ['hairpin', 'isolated', 'learning'] as const) {
      const v = flags[f];
      if (v !== undefined) link.port[f] = v;
    }
  }

  /** A link's changeable attributes, as undo wants them recorded. */
  linkState(key: string, name: string): LinkState | undefined {
    const l = this.linkIn(key, name);
    if (!l) return undefined;
    const master = l.masterId === undefined ? undefined : this.links.get(l.masterId);
    return { up: l.up, promisc: l.promisc, mtu: l.mtu, mac: l.mac, master: master?.name ?? null, ...(l.port ? { port: { ...l.port } } : {}) };
  }

  // ---- addresses --------------------------------------------------------------------------

  addrAdd(key: string, dev: string, cidr: string, noprefixroute: boolean): void {
    const link = this.needLink(key, dev);
    const ns = this.ns(key);
    const p = parseCidr(cidr);
    const dup = ns.addrs.some((a) => a.linkId === link.id && a.address === p.address && (p.family === 6 || a.prefix === p.prefix));
    if (dup) fail('exists', p.family === 4 ? 'Error: ipv4: Address already assigned.' : 'Error: ipv6: address already assigned.');
    ns.addrs.push({ linkId: link.id, address: p.address, prefix: p.prefix, family: p.family, network: p.network, noprefixroute });
  }

  addrDel(key: string, dev: string, cidr: string): void {
    const link = this.needLink(key, dev);
    const ns = this.ns(key);
    const p = parseCidr(cidr);
    const i = ns.addrs.findIndex((a) => a.linkId === link.id && a.address === p.address && a.prefix === p.prefix);
    if (i < 0) fail('entry-missing', p.family === 4 ? 'Error: ipv4: Address not found.' : 'Error: ipv6: address not found.');
    const [gone] = ns.addrs.splice(i, 1) as [ModelAddr];
    if (gone.family === 4) {
      // Deleting an IPv4 primary address deletes the secondaries of its subnet too (promote_secondaries=0).
      const sameSubnet = (a: ModelAddr): boolean => a.linkId === link.id && a.family === 4 && a.prefix === gone.prefix && a.network === gone.network;
      const wasPrimary = !ns.addrs.slice(0, i).some(sameSubnet);
      if (wasPrimary) for (let j = ns.addrs.length - 1; j >= i; j--) if (sameSubnet(ns.addrs[j] as ModelAddr)) ns.addrs.splice(j, 1);
      // With its last IPv4 address gone, a link carries no IPv4 routes at all.
      if (!ns.addrs.some((a) => a.linkId === link.id && a.family === 4)) {
        for (let j = ns.routes.length - 1; j >= 0; j--) if (ns.routes[j]?.linkId === link.id && ns.routes[j]?.family === 4) ns.routes.splice(j, 1);
      }
    }
  }

  // ---- routes -----------------------------------------------------------------------------

  /** Prefix routes the kernel keeps for addresses on up links, plus the static ones. */
  private allRoutes(key: string): ModelRoute[] {
    const ns = this.ns(key);
    const kernel: ModelRoute[] = [];
    for (const a of ns.addrs) {
      const link = this.links.get(a.linkId);
      if (!link?.up || link.kind === 'loopback' || a.noprefixroute || a.prefix === (a.family === 4 ? 32 : 128)) continue;
      const dst = `${a.network}/${a.prefix}`;
      if (kernel.some((r) => r.dst === dst && r.linkId === a.linkId)) continue;
      kernel.push({ dst, family: a.family, linkId: a.linkId, metric: a.family === 4 ? 0 : 256, ...(a.family === 4 ? { scope: 'link' } : {}), kernel: true });
    }
    return [...kernel, ...ns.routes];
  }

  private reachable(key: string, family: 4 | 6, gateway: string, dev: ModelLink | undefined): ModelLink | undefined {
    for (const r of this.allRoutes(key)) {
      if (r.family !== family || r.via !== undefined) continue;
      if (dev && r.linkId !== dev.id) continue;
      const inside = r.dst === 'default' || cidrContains(r.dst, gateway);
      if (inside) return this.links.get(r.linkId);
    }
    return undefined;
  }

  routeAdd(key: string, op: RouteOp): void {
    const ns = this.ns(key);
    const family = op.family ?? 4;
    const dev = op.dev === undefined ? undefined : this.needLink(key, op.dev);
    if (dev && !dev.up) fail('unreachable', family === 4 ? 'Error: Device for nexthop is not up.' : 'Error: Nexthop device is not up.');
    let via: ModelLink | undefined = dev;
    if (op.via !== undefined && !op.onlink) {
      via = this.reachable(key, family, op.via, dev);
      if (!via) fail('unreachable', family === 4 ? 'Error: Nexthop has invalid gateway.' : 'RTNETLINK answers: No route to host');
    }
    const metric = op.metric ?? (family === 4 ? 0 : 1024);
    const dst = op.dst === '::/0' ? 'default' : op.dst;
    if (this.allRoutes(key).some((r) => r.family === family && r.dst === dst && r.metric === metric)) fail('exists', 'RTNETLINK answers: File exists');
    const scope = family === 6 ? undefined : op.scope === 'global' ? undefined : (op.scope ?? (op.via === undefined ? 'link' : undefined));
    const route: ModelRoute = { dst, family, linkId: (via as ModelLink).id, metric };
    if (op.via !== undefined) route.via = op.via;
    if (scope !== undefined) route.scope = scope;
    if (op.src !== undefined) route.src = op.src;
    if (op.mtu !== undefined) route.mtu = op.mtu;
    if (op.onlink) route.onlink = true;
    ns.routes.push(route);
  }

  routeDel(key: string, op: RouteOp): void {
    const ns = this.ns(key);
    const family = op.family ?? 4;
    const dev = op.dev === undefined ? undefined : this.needLink(key, op.dev);
    const dst = op.dst === '::/0' ? 'default' : op.dst;
    const i = ns.routes.findIndex((r) => r.family === family && r.dst === dst && (op.via === undefined || r.via === op.via) && (!dev || r.linkId === dev.id) && (op.metric === undefined || r.metric === op.metric));
    if (i < 0) fail('entry-missing', 'RTNETLINK answers: No such process');
    ns.routes.splice(i, 1);
  }

  // ---- sysctls ----------------------------------------------------------------------------

  /** Sets a sysctl and returns the value it had ("0" when never set). */
  sysctlSet(key: string, name: string, value: string): string {
    const ns = this.ns(key);
    const dev = /^net\.ipv[46]\.(?:conf|neigh)\.([^.]+)\./.exec(name)?.[1];
    if (dev !== undefined && dev !== 'all' && dev !== 'default' && !this.linkIn(key, dev)) fail('other', `this kernel has no sysctl ${name}`);
    const previous = ns.sysctls.get(name) ?? '0';
    ns.sysctls.set(name, value);
    return previous;
  }

  sysctl(key: string, name: string): string | undefined {
    return this.ns(key).sysctls.get(name);
  }

  // ---- listings ---------------------------------------------------------------------------

  listLinks(key: string): LinkInfo[] {
    this.ns(key);
    return [...this.links.values()]
      .filter((l) => l.ns === key)
      .sort((a, b) => a.index - b.index)
      .map((l) => {
        const flags = l.kind === 'loopback' ? ['LOOPBACK'] : ['BROADCAST', 'MULTICAST'];
        if (l.up) flags.push('UP', 'LOWER_UP');
        const info: { -readonly [K in keyof LinkInfo]: LinkInfo[K] } = { name: l.name, index: l.index, mtu: l.mtu, mac: l.mac, up: l.up, group: l.group, flags };
        if (l.kind !== 'loopback' && l.kind !== 'device') info.kind = l.kind;
        const master = l.masterId === undefined ? undefined : this.links.get(l.masterId);
        if (master) info.master = master.name;
        return info;
      });
  }

  listAddrs(key: string): AddrInfo[] {
    const ns = this.ns(key);
    return ns.addrs.map((a) => ({
      dev: (this.links.get(a.linkId) as ModelLink).name,
      cidr: `${a.address}/${a.prefix}`,
      family: a.family,
      scope: isLoopbackAddr(a.address) ? 'host' : 'global',
    }));
  }

  listRoutes(key: string): RouteInfo[] {
    return this.allRoutes(key).map((r) => {
      const route: { -readonly [K in keyof RouteInfo]: RouteInfo[K] } = { dst: r.dst, family: r.family, dev: (this.links.get(r.linkId) as ModelLink).name };
      if (r.via !== undefined) route.via = r.via;
      if (r.scope !== undefined) route.scope = r.scope;
      if (r.kernel) route.protocol = 'kernel';
      return route;
    });
  }

  /** Everything, in a deterministic shape for equality checks. */
  snapshot(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const key of [...this.namespaces.keys()].sort()) {
      const ns = this.ns(key);
      const nameOf = (id: number | undefined): string | undefined => (id === undefined ? undefined : this.links.get(id)?.name);
      const links = [...this.links.values()]
        .filter((l) => l.ns === key)
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((l) => {
          const peer = l.peerId === undefined ? undefined : this.links.get(l.peerId);
          return JSON.parse(
            JSON.stringify({
              name: l.name,
              index: l.index,
              kind: l.kind,
              mtu: l.mtu,
              mac: l.mac,
              up: l.up,
              promisc: l.promisc,
              group: l.group,
              master: nameOf(l.masterId),
              parent: nameOf(l.parentId),
              peer: peer ? `${peer.ns}/${peer.name}` : undefined,
              port: l.port,
              vxlan: l.vxlan,
            }),
          ) as unknown;
        });
      out[key] = {
        links,
        addrs: this.listAddrs(key).sort((a, b) => `${a.dev} ${a.cidr}`.localeCompare(`${b.dev} ${b.cidr}`)),
        routes: this.listRoutes(key).sort((a, b) => `${a.family} ${a.dst} ${a.dev}`.localeCompare(`${b.family} ${b.dst} ${b.dev}`)),
        sysctls: Object.fromEntries([...ns.sysctls.entries()].sort(([a], [b]) => a.localeCompare(b))),
      };
    }
    return out;
  }
}
