import { vxlanSettings, type AddrOp, type BridgePortOp, type KernelOp, type LinkAddOp, type LinkSetOp, type RouteOp } from '../../spi/kernel.js';
import { parseCidr } from '../names.js';
import { familyOf, ipBytes, macBytes } from './addresses.js';
import { be16Attr, bytesAttr, nestedAttr, stringAttr, u16Attr, u32Attr, u8Attr, s32Attr, type Attr } from './attributes.js';
import * as C from './constants.js';
import { encodeIfAddr, encodeIfInfo, encodeRtMsg, type Request } from './messages.js';

/**
 * Pure translation of one (normalised) kernel operation into the rtnetlink request iproute2 sends
 * for the same `ip` command, so both executors make the kernel do exactly the same thing. Names of
 * other links and namespaces arrive already resolved to ifindexes and fds.
 */

export type NetlinkOp = Exclude<KernelOp, { op: 'sysctl.set' }>;

/** What encoding an operation needs resolved first, in the namespace the step runs in. */
export interface Resolved {
  /** ifindex of the link the op changes (link.set, bridge.port). */
  readonly index?: number;
  /** ifindex of a macvlan/ipvlan/vlan parent. */
  readonly parentIndex?: number;
  /** ifindex of the new master; 0 releases the link. */
  readonly masterIndex?: number;
  /** ifindex of an address's or route's device. */
  readonly devIndex?: number;
  /** fd of the namespace a link is created in or moved to. */
  readonly netnsFd?: number;
  /** fd of the namespace a veth peer is created in. */
  readonly peerNetnsFd?: number;
}

/** The link names an operation refers to, which the executor resolves to ifindexes before encoding. */
export function linksToResolve(op: NetlinkOp): { index?: string; parent?: string; master?: string; dev?: string } {
  switch (op.op) {
    case 'link.add':
      return 'parent' in op ? { parent: op.parent } : {};
    case 'link.set':
      return typeof op.master === 'string' ? { index: op.name, master: op.master } : { index: op.name };
    case 'bridge.port':
      return { index: op.name };
    case 'addr.add':
    case 'addr.del':
      return { dev: op.dev };
    case 'route.add':
    case 'route.del':
      return op.dev === undefined ? {} : { dev: op.dev };
    case 'link.del':
    case 'group.del':
      return {};
  }
}

function need(value: number | undefined, what: string): number {
  if (value === undefined) throw new TypeError(`encodeOp: ${what} was not resolved`);
  return value;
}

const CREATE = C.NLM_F_CREATE | C.NLM_F_EXCL;
const RTEXT_FILTER_SKIP_STATS = 1 << 3;

function linkAttrs(o: { name: string; mtu?: number; mac?: string }, netnsFd: number | undefined, group?: number): Attr[] {
  const attrs = [stringAttr(C.IFLA_IFNAME, o.name)];
  if (o.mtu !== undefined) attrs.push(u32Attr(C.IFLA_MTU, o.mtu));
  if (o.mac !== undefined) attrs.push(bytesAttr(C.IFLA_ADDRESS, macBytes(o.mac)));
  if (group !== undefined) attrs.push(u32Attr(C.IFLA_GROUP, group));
  if (netnsFd !== undefined) attrs.push(s32Attr(C.IFLA_NET_NS_FD, netnsFd));
  return attrs;
}

function kindData(op: LinkAddOp, r: Resolved): Attr[] {
  switch (op.kind) {
    case 'veth':
      // The peer is a whole ifinfomsg with its own attributes inside VETH_INFO_PEER.
      return [bytesAttr(C.VETH_INFO_PEER, encodeIfInfo({}, linkAttrs(op.peer, r.peerNetnsFd)))];
    case 'macvlan':
      return [u32Attr(C.IFLA_MACVLAN_MODE, C.MACVLAN_MODE[op.mode])];
    case 'ipvlan':
      return [u16Attr(C.IFLA_IPVLAN_MODE, C.IPVLAN_MODE[op.mode]), u16Attr(C.IFLA_IPVLAN_FLAGS, C.IPVLAN_FLAG[op.flag])];
    case 'vlan':
      return [u16Attr(C.IFLA_VLAN_ID, op.vlanId)];
    case 'vxlan':
      return vxlanData(op);
    case 'bridge':
    case 'dummy':
      return [];
  }
}

/** A vxlan link's IFLA_INFO_DATA, in the order `ip link add … type vxlan id V dstport P [local A] [no]learning [proxy]` sends it. */
function vxlanData(op: LinkAddOp & { kind: 'vxlan' }): Attr[] {
  const v = vxlanSettings(op);
  const data: Attr[] = [];
  if (v.proxy) data.push(u8Attr(C.IFLA_VXLAN_PROXY, 1)); // ip adds flags as it parses them, the rest at the end
  data.push(u32Attr(C.IFLA_VXLAN_ID, v.vni));
  if (v.local !== undefined) data.push(bytesAttr(familyOf(v.local) === 4 ? C.IFLA_VXLAN_LOCAL : C.IFLA_VXLAN_LOCAL6, ipBytes(v.local)));
  // Always explicit: a new vxlan link learns unless told not to.
  data.push(u8Attr(C.IFLA_VXLAN_LEARNING, v.learning ? 1 : 0));
  data.push(be16Attr(C.IFLA_VXLAN_PORT, v.port));
  return data;
}

function linkAdd(op: LinkAddOp, r: Resolved): Request {
  const attrs = linkAttrs(op, op.netns === undefined ? undefined : need(r.netnsFd, 'netns fd'), op.group);
  if ('parent' in op) attrs.push(u32Attr(C.IFLA_LINK, need(r.parentIndex, 'parent index')));
  if (op.kind === 'veth' && op.peer.netns !== undefined) need(r.peerNetnsFd, 'peer netns fd');
  const data = kindData(op, r);
  const info = [stringAttr(C.IFLA_INFO_KIND, op.kind), ...(data.length ? [nestedAttr(C.IFLA_INFO_DATA, data)] : [])];
  attrs.push(nestedAttr(C.IFLA_LINKINFO, info));
  return { type: C.RTM_NEWLINK, flags: CREATE, body: encodeIfInfo({}, attrs) };
}

function linkSet(op: LinkSetOp, r: Resolved): Request {
  const attrs: Attr[] = [];
  // One message, as `ip link set` sends: the kernel moves the link first (taking the new name along), then applies the rest.
  if (op.netns !== undefined) attrs.push(s32Attr(C.IFLA_NET_NS_FD, need(r.netnsFd, 'netns fd')));
  if (op.newName !== undefined) attrs.push(stringAttr(C.IFLA_IFNAME, op.newName));
  if (op.mtu !== undefined) attrs.push(u32Attr(C.IFLA_MTU, op.mtu));
  if (op.mac !== undefined) attrs.push(bytesAttr(C.IFLA_ADDRESS, macBytes(op.mac)));
  if (op.master !== undefined) attrs.push(u32Attr(C.IFLA_MASTER, op.master === null ? 0 : need(r.masterIndex, 'master index')));
  if (op.group !== undefined) attrs.push(u32Attr(C.IFLA_GROUP, op.group));
  let flags = 0;
  let change = 0;
  if (op.promisc !== undefined) {
    change |= C.IFF_PROMISC;
    if (op.promisc) flags |= C.IFF_PROMISC;
  }
  if (op.up !== undefined) {
    change |= C.IFF_UP;
    if (op.up) flags |= C.IFF_UP;
  }
  return { type: C.RTM_NEWLINK, flags: 0, body: encodeIfInfo({ index: need(r.index, 'link index'), flags, change }, attrs) };
}

function bridgePort(op: BridgePortOp, r: Resolved): Request {
  const data: Attr[] = [];
  if (op.hairpin !== undefined) data.push(u8Attr(C.IFLA_BRPORT_MODE, op.hairpin ? 1 : 0));
  if (op.learning !== undefined) data.push(u8Attr(C.IFLA_BRPORT_LEARNING, op.learning ? 1 : 0));
  if (op.isolated !== undefined) data.push(u8Attr(C.IFLA_BRPORT_ISOLATED, op.isolated ? 1 : 0));
  // The bridge's own changelink for its port: the kernel finds the bridge from the link's master.
  const info = nestedAttr(C.IFLA_LINKINFO, [stringAttr(C.IFLA_INFO_SLAVE_KIND, 'bridge'), nestedAttr(C.IFLA_INFO_SLAVE_DATA, data)]);
  return { type: C.RTM_NEWLINK, flags: 0, body: encodeIfInfo({ index: need(r.index, 'link index') }, [info]) };
}

function addr(op: AddrOp, r: Resolved): Request {
  const p = parseCidr(op.cidr);
  const bytes = ipBytes(p.address);
  const add = op.op === 'addr.add';
  let flags = 0;
  if (add && op.nodad && p.family === 6) flags |= C.IFA_F_NODAD; // DAD exists for IPv6 only
  if (add && op.noprefixroute) flags |= C.IFA_F_NOPREFIXROUTE;
  // iproute2 gives 127.0.0.0/8 host scope by default, everything else global.
  const scope = add && p.family === 4 && bytes[0] === 127 ? C.RT_SCOPE_HOST : C.RT_SCOPE_UNIVERSE;
  const attrs = [bytesAttr(C.IFA_LOCAL, bytes), bytesAttr(C.IFA_ADDRESS, bytes)];
  if (flags > 0xff) attrs.push(u32Attr(C.IFA_FLAGS, flags));
  const header = { family: p.family === 4 ? C.AF_INET : C.AF_INET6, prefixlen: p.prefix, flags: flags > 0xff ? 0 : flags, scope, index: need(r.devIndex, 'device index') };
  return { type: add ? C.RTM_NEWADDR : C.RTM_DELADDR, flags: add ? CREATE : 0, body: encodeIfAddr(header, attrs) };
}

const SCOPES = { global: C.RT_SCOPE_UNIVERSE, link: C.RT_SCOPE_LINK, host: C.RT_SCOPE_HOST } as const;

function route(op: RouteOp, r: Resolved): Request {
  const add = op.op === 'route.add';
  const family = op.family ?? (op.dst === 'default' ? (op.via === undefined ? 4 : familyOf(op.via)) : familyOf(op.dst));
  const attrs: Attr[] = [];
  let dstLen = 0;
  if (op.dst !== 'default') {
    const p = parseCidr(op.dst);
    dstLen = p.prefix;
    attrs.push(bytesAttr(C.RTA_DST, ipBytes(p.address)));
  }
  if (op.via !== undefined) attrs.push(bytesAttr(C.RTA_GATEWAY, ipBytes(op.via)));
  if (op.dev !== undefined) attrs.push(u32Attr(C.RTA_OIF, need(r.devIndex, 'device index')));
  if (op.src !== undefined) attrs.push(bytesAttr(C.RTA_PREFSRC, ipBytes(op.src)));
  if (op.metric !== undefined) attrs.push(u32Attr(C.RTA_PRIORITY, op.metric));
  if (op.mtu !== undefined) attrs.push(nestedAttr(C.RTA_METRICS, [u32Attr(C.RTAX_MTU, op.mtu)]));
  // iproute2's defaults: an added route is "boot" unicast, IPv4 without a gateway link-scoped; a delete matches any protocol, type and scope.
  const scope = op.scope !== undefined ? SCOPES[op.scope] : family === 6 ? C.RT_SCOPE_UNIVERSE : !add ? C.RT_SCOPE_NOWHERE : op.via === undefined ? C.RT_SCOPE_LINK : C.RT_SCOPE_UNIVERSE;
  const header = {
    family: family === 4 ? C.AF_INET : C.AF_INET6,
    dstLen,
    table: C.RT_TABLE_MAIN,
    protocol: add ? C.RTPROT_BOOT : 0,
    scope,
    type: add ? C.RTN_UNICAST : 0,
    flags: op.onlink ? C.RTNH_F_ONLINK : 0,
  };
  return { type: add ? C.RTM_NEWROUTE : C.RTM_DELROUTE, flags: add ? CREATE : 0, body: encodeRtMsg(header, attrs) };
}

/** The rtnetlink request for one operation (flags without REQUEST/ACK, which the socket adds). */
export function encodeOp(op: NetlinkOp, r: Resolved = {}): Request {
  switch (op.op) {
    case 'link.add':
      return linkAdd(op, r);
    case 'link.del':
      // Deleting by name: no lookup needed, and ENODEV when it is not there.
      return { type: C.RTM_DELLINK, flags: 0, body: encodeIfInfo({}, [stringAttr(C.IFLA_IFNAME, op.name)]) };
    case 'group.del':
      // No index and no name: the kernel deletes the whole group in one batch (ENODEV when it is empty).
      return { type: C.RTM_DELLINK, flags: 0, body: encodeIfInfo({}, [u32Attr(C.IFLA_GROUP, op.group)]) };
    case 'link.set':
      return linkSet(op, r);
    case 'bridge.port':
      return bridgePort(op, r);
    case 'addr.add':
    case 'addr.del':
      return addr(op, r);
    case 'route.add':
    case 'route.del':
      return route(op, r);
  }
}

/** RTM_GETLINK for one link by name (IFLA_EXT_MASK skips the statistics nobody reads here). */
export function getLinkByName(name: string): Request {
  return { type: C.RTM_GETLINK, flags: 0, body: encodeIfInfo({}, [stringAttr(C.IFLA_IFNAME, name), u32Attr(C.IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS)]) };
}

/** RTM_GETLINK for one link by index. */
export function getLinkByIndex(index: number): Request {
  return { type: C.RTM_GETLINK, flags: 0, body: encodeIfInfo({ index }, [u32Attr(C.IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS)]) };
}

/** Dump requests for the three listings. */
export const DUMP_LINKS: Request = { type: C.RTM_GETLINK, flags: 0, body: encodeIfInfo({}, [u32Attr(C.IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS)]) };
export const DUMP_ADDRS: Request = { type: C.RTM_GETADDR, flags: 0, body: encodeIfAddr({}) };
export const DUMP_ROUTES: Request = { type: C.RTM_GETROUTE, flags: 0, body: encodeRtMsg({}) };
