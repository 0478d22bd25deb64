/**
 * The Kernel port: kernel changes expressed as data. Drivers and the sandbox plumbing build
 * `KernelOp` lists; an executor (netlink by default, iproute2 as the reference, FakeKernel in unit tests) runs them.
 * The vocabulary is in kernel terms (links, attributes, addresses, routes, namespaces), not in any
 * tool's argument syntax.
 */

/** Where an operation runs. `host` is the namespace Switchyard itself runs in. */
export type NetnsRef = { readonly kind: 'host' } | { readonly kind: 'named'; readonly name: string } | { readonly kind: 'path'; readonly path: string };

export const HOST_NS: NetnsRef = Object.freeze({ kind: 'host' });

export type LinkKind = 'veth' | 'bridge' | 'macvlan' | 'ipvlan' | 'vlan' | 'dummy';
export type MacvlanMode = 'bridge' | 'private' | 'vepa' | 'passthru';
export type IpvlanMode = 'l2' | 'l3' | 'l3s';
export type IpvlanFlag = 'bridge' | 'private' | 'vepa';

interface LinkAddBase {
  readonly op: 'link.add';
  readonly name: string;
  readonly mtu?: number;
  readonly mac?: string;
  /** Create the link directly inside this namespace instead of the one the batch runs in. */
  readonly netns?: NetnsRef;
  /** Link group number; lets a whole set be deleted in one call. */
  readonly group?: number;
}

export type LinkAddOp =
  | (LinkAddBase & { readonly kind: 'veth'; readonly peer: { readonly name: string; readonly netns?: NetnsRef; readonly mtu?: number; readonly mac?: string } })
  | (LinkAddBase & { readonly kind: 'bridge' })
  | (LinkAddBase & { readonly kind: 'macvlan'; readonly parent: string; readonly mode: MacvlanMode })
  | (LinkAddBase & { readonly kind: 'ipvlan'; readonly parent: string; readonly mode: IpvlanMode; readonly flag: IpvlanFlag })
  | (LinkAddBase & { readonly kind: 'vlan'; readonly parent: string; readonly vlanId: number })
  | (LinkAddBase & { readonly kind: 'dummy' });

export interface LinkDelOp {
  readonly op: 'link.del';
  readonly name: string;
  /** Succeed when the link is already gone (teardown paths). */
  readonly ifExists?: boolean;
}

/** Changes attributes of an existing link. Moving (`netns`) happens before renaming (`newName`). */
export interface LinkSetOp {
  readonly op: 'link.set';
  readonly name: string;
  readonly up?: boolean;
  readonly mtu?: number;
  readonly mac?: string;
  /** Enslave to this bridge; `null` releases it. */
  readonly master?: string | null;
  readonly netns?: NetnsRef;
  readonly newName?: string;
  readonly promisc?: boolean;
}

/** Bridge-port flags on a link enslaved to a bridge. */
export interface BridgePortOp {
  readonly op: 'bridge.port';
  readonly name: string;
  readonly hairpin?: boolean;
  readonly isolated?: boolean;
  readonly learning?: boolean;
}

export interface AddrOp {
  readonly op: 'addr.add' | 'addr.del';
  readonly dev: string;
  /** Address with prefix length, e.g. `10.1.0.2/24` or `fd00::2/64`. */
  readonly cidr: string;
  /** Skip IPv6 duplicate address detection (containers' addresses are allocated, not discovered). */
  readonly nodad?: boolean;
  /** Do not add the prefix route the kernel adds by default (point-to-point setups). */
  readonly noprefixroute?: boolean;
  /** With addr.del: succeed when the address is already gone (teardown and recovery paths). */
  readonly ifExists?: boolean;
}

export interface RouteOp {
  readonly op: 'route.add' | 'route.del';
  /** `default` or a CIDR. */
  readonly dst: string;
  readonly via?: string;
  readonly dev?: string;
  readonly scope?: 'link' | 'host' | 'global';
  readonly src?: string;
  readonly metric?: number;
  readonly mtu?: number;
  readonly onlink?: boolean;
  readonly family?: 4 | 6;
  /** With route.del: succeed when the route is already gone (teardown and recovery paths). */
  readonly ifExists?: boolean;
}

export interface SysctlOp {
  readonly op: 'sysctl.set';
  /** Dotted key relative to /proc/sys, e.g. `net.ipv4.ip_forward`. */
  readonly key: string;
  readonly value: string;
}

export type KernelOp = LinkAddOp | LinkDelOp | LinkSetOp | BridgePortOp | AddrOp | RouteOp | SysctlOp;

/** One operation bound to the namespace it runs in. */
export interface KernelStep {
  readonly ns: NetnsRef;
  readonly op: KernelOp;
}

/** What a successful `apply` returns: the steps that ran, so the caller can undo them later. */
export interface AppliedPlan {
  readonly steps: readonly KernelStep[];
}

export interface LinkInfo {
  readonly name: string;
  readonly index: number;
  readonly kind?: string;
  readonly mtu: number;
  readonly mac?: string;
  readonly up: boolean;
  readonly master?: string;
  readonly group?: number;
  readonly flags: readonly string[];
}

export interface AddrInfo {
  readonly dev: string;
  readonly cidr: string;
  readonly family: 4 | 6;
  readonly scope: string;
}

export interface RouteInfo {
  readonly dst: string;
  readonly via?: string;
  readonly dev?: string;
  readonly family: 4 | 6;
  readonly scope?: string;
  readonly protocol?: string;
}

/** Kernel features Switchyard may need; `probe` answers whether this kernel has them. */
export type KernelFeature = 'veth' | 'bridge' | 'macvlan' | 'ipvlan' | 'vlan' | 'dummy' | 'nftables';

/** The port every executor implements. */
export interface Kernel {
  /**
   * Runs the steps in order, batching consecutive steps in one namespace. On failure it undoes
   * the steps that already ran, in reverse, and throws SWY_ERR_KERNEL_OP_FAILED naming the step.
   */
  apply(steps: readonly KernelStep[]): Promise<AppliedPlan>;
  /** Undoes an applied plan in reverse order; gathers failures and keeps going. */
  revert(applied: AppliedPlan): Promise<void>;
  /** Links in a namespace. */
  listLinks(ns: NetnsRef): Promise<LinkInfo[]>;
  /** Addresses in a namespace (link-local IPv6 addresses excluded). */
  listAddrs(ns: NetnsRef): Promise<AddrInfo[]>;
  /** Main-table routes in a namespace, both families. */
  listRoutes(ns: NetnsRef): Promise<RouteInfo[]>;
  /** Creates a named network namespace with `lo` up; SWY_ERR_SANDBOX_EXISTS when the name is taken. */
  createNetns(name: string): Promise<NetnsRef>;
  /** Deletes a named namespace and every link inside it; succeeds when it is already gone. */
  deleteNetns(name: string): Promise<void>;
  /** True when the namespace exists (named: bind mount present; path: readable nsfs). */
  netnsExists(ns: NetnsRef): Promise<boolean>;
  /** Whether this kernel can create the given kind of object (cached after the first probe). */
  probe(feature: KernelFeature): Promise<boolean>;
}
