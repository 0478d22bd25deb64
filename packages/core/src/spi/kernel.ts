/**
 * The Kernel port: kernel changes expressed as data. Drivers and the sandbox plumbing build
 * `KernelOp` lists; an executor (netlink by default, iproute2 as the reference, FakeKernel in unit tests) runs them.
 * The vocabulary is in kernel terms (links, attributes, addresses, routes, namespaces), not in any
 * tool's argument syntax.
 */

/** Where an operation runs. `host` is the namespace Switchyard itself runs in. */
export type NetnsRef =
  | {
      /** The namespace Switchyard runs in (see {@link HOST_NS}). */
      readonly kind: 'host';
    }
  | {
      /** A named namespace, as `ip netns` names them (bind-mounted under `/run/netns`). */
      readonly kind: 'named';
      /** The namespace name, e.g. `swy-3f2a…`. */
      readonly name: string;
    }
  | {
      /** A namespace given by a file path (an nsfs file such as `/proc/<pid>/ns/net` or a bind mount). */
      readonly kind: 'path';
      /** Absolute path of the namespace file. */
      readonly path: string;
    };

/** The host namespace reference (frozen); use it for steps that run where Switchyard runs. */
export const HOST_NS: NetnsRef = Object.freeze({ kind: 'host' });

/** The kinds of link a {@link LinkAddOp} can create. */
export type LinkKind = 'veth' | 'bridge' | 'macvlan' | 'ipvlan' | 'vlan' | 'dummy' | 'vxlan';
/** macvlan modes, as the kernel names them (`ip link add … type macvlan mode <mode>`). */
export type MacvlanMode = 'bridge' | 'private' | 'vepa' | 'passthru';
/** ipvlan modes: `l2` switches on MAC, `l3` routes on IP, `l3s` routes on IP through netfilter (conntrack). */
export type IpvlanMode = 'l2' | 'l3' | 'l3s';
/** ipvlan port flags: `bridge` lets slaves talk to each other, `private` forbids it, `vepa` sends it out via the master. */
export type IpvlanFlag = 'bridge' | 'private' | 'vepa';

/** The attributes every {@link LinkAddOp} has, whatever its kind. */
export interface LinkAddBase {
  /** Operation discriminator. */
  readonly op: 'link.add';
  /** Name of the new link (at most 15 bytes, the kernel's IFNAMSIZ limit). */
  readonly name: string;
  /** MTU in bytes; the kernel's default for the kind when omitted. */
  readonly mtu?: number;
  /** MAC address (`aa:bb:cc:dd:ee:ff`); kernel-generated when omitted. */
  readonly mac?: string;
  /** Create the link directly inside this namespace instead of the one the batch runs in. */
  readonly netns?: NetnsRef;
  /** Link group number; lets a whole set be deleted in one call. */
  readonly group?: number;
}

/** Creates a link; the `kind` selects the link type and the attributes that come with it. */
export type LinkAddOp =
  | (LinkAddBase & {
      /** A veth pair: this end and a `peer`. */
      readonly kind: 'veth';
      /** The other end of the pair. */
      readonly peer: {
        /** Name of the peer link. */
        readonly name: string;
        /** Create the peer directly in this namespace (e.g. the sandbox's). */
        readonly netns?: NetnsRef;
        /** Peer MTU in bytes; defaults to the first end's. */
        readonly mtu?: number;
        /** Peer MAC address; kernel-generated when omitted. */
        readonly mac?: string;
      };
    })
  | (LinkAddBase & {
      /** A Linux bridge. */
      readonly kind: 'bridge';
    })
  | (LinkAddBase & {
      /** A macvlan sub-interface of `parent`. */
      readonly kind: 'macvlan';
      /** The master (parent) link's name. */
      readonly parent: string;
      /** The macvlan mode. */
      readonly mode: MacvlanMode;
    })
  | (LinkAddBase & {
      /** An ipvlan sub-interface of `parent`. */
      readonly kind: 'ipvlan';
      /** The master (parent) link's name. */
      readonly parent: string;
      /** The ipvlan mode. */
      readonly mode: IpvlanMode;
      /** The ipvlan port flag. */
      readonly flag: IpvlanFlag;
    })
  | (LinkAddBase & {
      /** An 802.1Q VLAN sub-interface of `parent`. */
      readonly kind: 'vlan';
      /** The parent link's name. */
      readonly parent: string;
      /** VLAN id, 1–4094. */
      readonly vlanId: number;
    })
  | (LinkAddBase & {
      /** A dummy link (no traffic leaves it). */
      readonly kind: 'dummy';
    })
  | (LinkAddBase & {
      /**
       * A VXLAN tunnel endpoint (`ip link add … type vxlan`): Ethernet frames in UDP to other hosts. It has no
       * parent link and no default destination: where a MAC lives is programmed in its forwarding table.
       */
      readonly kind: 'vxlan';
      /** VXLAN network identifier, 1–16777215. */
      readonly vni: number;
      /** UDP destination port, 1–65535; default {@link VXLAN_DEFAULT_PORT} (IANA's 4789, not the kernel's 8472). */
      readonly port?: number;
      /** Source address of the tunnel packets (this host's underlay address, IPv4 or IPv6); the routing decision's when omitted. */
      readonly local?: string;
      /** Learn remote MACs from received packets; default false (`nolearning`: the forwarding table is programmed). */
      readonly learning?: boolean;
      /** Answer ARP and neighbour solicitations from the neighbour table instead of sending them through the tunnel; default true. */
      readonly proxy?: boolean;
    });

/** The UDP port a {@link LinkAddOp} of kind `vxlan` uses when it names none (IANA's VXLAN port). */
export const VXLAN_DEFAULT_PORT = 4789;

/** A vxlan link's settings with every default filled in. */
export interface VxlanSettings {
  /** VXLAN network identifier. */
  vni: number;
  /** UDP destination port. */
  port: number;
  /** Source address of the tunnel packets, when given. */
  local?: string;
  /** Whether the link learns remote MACs. */
  learning: boolean;
  /** Whether the link answers ARP/ND from its neighbour table. */
  proxy: boolean;
}

/** The one place a vxlan {@link LinkAddOp}'s defaults are applied: both executors, the model and step descriptions read this. */
export function vxlanSettings(op: LinkAddOp & { kind: 'vxlan' }): VxlanSettings {
  return { vni: op.vni, port: op.port ?? VXLAN_DEFAULT_PORT, learning: op.learning === true, proxy: op.proxy !== false, ...(op.local === undefined ? {} : { local: op.local }) };
}

/** Deletes a link (deleting one end of a veth pair deletes both). */
export interface LinkDelOp {
  /** Operation discriminator. */
  readonly op: 'link.del';
  /** Name of the link to delete. */
  readonly name: string;
  /** Succeed when the link is already gone (teardown paths). */
  readonly ifExists?: boolean;
}

/** Changes attributes of an existing link. Moving (`netns`) happens before renaming (`newName`). */
export interface LinkSetOp {
  /** Operation discriminator. */
  readonly op: 'link.set';
  /** Current name of the link. */
  readonly name: string;
  /** Bring the link up (`true`) or down (`false`); unchanged when omitted. */
  readonly up?: boolean;
  /** New MTU in bytes. */
  readonly mtu?: number;
  /** New MAC address. */
  readonly mac?: string;
  /** Enslave to this bridge; `null` releases it. */
  readonly master?: string | null;
  /** Move the link into this namespace. */
  readonly netns?: NetnsRef;
  /** Rename the link (after any move). */
  readonly newName?: string;
  /** Turn promiscuous mode on or off. */
  readonly promisc?: boolean;
  /** Put the link in this link group (0 is the default group); see {@link GroupDelOp}. */
  readonly group?: number;
  /** Succeed, changing nothing, when no link has this name (teardown and recovery paths). */
  readonly ifExists?: boolean;
}

/**
 * Deletes every link in a link group of the namespace the step runs in, in one call: the kernel
 * unregisters them as one batch, so a hundred links cost about what one does. Succeeds when the
 * group is empty. Group 0 (every link's default) is refused.
 */
export interface GroupDelOp {
  /** Operation discriminator. */
  readonly op: 'group.del';
  /** The link group, 1 to 2^32-1. */
  readonly group: number;
}

/** Bridge-port flags on a link enslaved to a bridge. */
export interface BridgePortOp {
  /** Operation discriminator. */
  readonly op: 'bridge.port';
  /** The bridge port (an enslaved link). */
  readonly name: string;
  /** Hairpin mode: let frames go back out of the port they came in on. */
  readonly hairpin?: boolean;
  /** Isolated ports cannot talk to other isolated ports of the same bridge. */
  readonly isolated?: boolean;
  /** Whether the bridge learns source MAC addresses on this port. */
  readonly learning?: boolean;
}

/** Adds or deletes an IP address on a link. */
export interface AddrOp {
  /** Operation discriminator: add or delete. */
  readonly op: 'addr.add' | 'addr.del';
  /** The link carrying the address. */
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

/** Adds or deletes a route in the main table. */
export interface RouteOp {
  /** Operation discriminator: add or delete. */
  readonly op: 'route.add' | 'route.del';
  /** `default` or a CIDR. */
  readonly dst: string;
  /** Gateway address; omitted for on-link (device) routes. */
  readonly via?: string;
  /** Output link. */
  readonly dev?: string;
  /** Route scope; the kernel picks one from `via` when omitted. */
  readonly scope?: 'link' | 'host' | 'global';
  /** Preferred source address for traffic using the route. */
  readonly src?: string;
  /** Route metric (priority); lower wins. */
  readonly metric?: number;
  /** Path MTU for the route, in bytes. */
  readonly mtu?: number;
  /** Treat the gateway as directly reachable even if no prefix route covers it. */
  readonly onlink?: boolean;
  /** Address family; needed for `dst: 'default'`, inferred from addresses otherwise. */
  readonly family?: 4 | 6;
  /** With route.del: succeed when the route is already gone (teardown and recovery paths). */
  readonly ifExists?: boolean;
}

/** Sets a sysctl in the namespace the step runs in (per-namespace keys such as `net.ipv4.*`). */
export interface SysctlOp {
  /** Operation discriminator. */
  readonly op: 'sysctl.set';
  /** Dotted key relative to /proc/sys, e.g. `net.ipv4.ip_forward`. */
  readonly key: string;
  /** The value to write, as text. */
  readonly value: string;
  /** Succeed, changing nothing, when this kernel has no such key (an IPv6 key on a kernel built or booted without IPv6). */
  readonly missingOk?: boolean;
}

/** Any kernel operation; `op` discriminates. */
export type KernelOp = LinkAddOp | LinkDelOp | LinkSetOp | GroupDelOp | BridgePortOp | AddrOp | RouteOp | SysctlOp;

/** One operation bound to the namespace it runs in. */
export interface KernelStep {
  /** The namespace the operation runs in. */
  readonly ns: NetnsRef;
  /** The operation. */
  readonly op: KernelOp;
}

/** What a successful `apply` returns: the steps that ran, so the caller can undo them later. */
export interface AppliedPlan {
  /** The steps that ran, in the order they ran. */
  readonly steps: readonly KernelStep[];
}

/** A link as listed by {@link Kernel.listLinks}. */
export interface LinkInfo {
  /** Link name. */
  readonly name: string;
  /** Interface index (ifindex) in its namespace. */
  readonly index: number;
  /** Link kind (`veth`, `bridge`, …); absent for plain devices such as `lo` or physical NICs. */
  readonly kind?: string;
  /** MTU in bytes. */
  readonly mtu: number;
  /** MAC address, when the link has one. */
  readonly mac?: string;
  /** Whether the link is administratively up. */
  readonly up: boolean;
  /** Name of the bridge (or other master) the link is enslaved to. */
  readonly master?: string;
  /** Link group number, when not the default group 0. */
  readonly group?: number;
  /** Interface flags as the kernel reports them (`UP`, `BROADCAST`, `LOWER_UP`, …). */
  readonly flags: readonly string[];
}

/** An address as listed by {@link Kernel.listAddrs}. */
export interface AddrInfo {
  /** The link carrying the address. */
  readonly dev: string;
  /** Address with prefix length, e.g. `10.1.0.2/24`. */
  readonly cidr: string;
  /** Address family. */
  readonly family: 4 | 6;
  /** Address scope (`global`, `link`, `host`). */
  readonly scope: string;
}

/** A main-table route as listed by {@link Kernel.listRoutes}. */
export interface RouteInfo {
  /** Destination: `default` or a CIDR. */
  readonly dst: string;
  /** Gateway address, for routes through one. */
  readonly via?: string;
  /** Output link. */
  readonly dev?: string;
  /** Address family. */
  readonly family: 4 | 6;
  /** Route scope, when not `global`. */
  readonly scope?: string;
  /** Who installed the route (`kernel`, `boot`, `static`, …). */
  readonly protocol?: string;
}

/** Kernel features Switchyard may need; `probe` answers whether this kernel has them. */
export type KernelFeature = 'veth' | 'bridge' | 'macvlan' | 'ipvlan' | 'vlan' | 'dummy' | 'vxlan' | 'nftables';

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
