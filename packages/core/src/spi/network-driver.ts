import type { JsonObject, PortBinding } from '../model/types.js';
import type { KernelOp, NetnsRef } from './kernel.js';

/** Where a driver's networks and endpoints live: this host only, or shared across hosts. */
export interface DriverCapability {
  /** `local`: the driver's network and endpoint data is meaningful on this host only; `global`: it can be shared across hosts. */
  dataScope: 'local' | 'global';
  /** `local`: endpoints reach each other on this host only; `global`: they can reach across hosts (macvlan/ipvlan on a shared LAN). */
  connectivityScope: 'local' | 'global';
  /**
   * True when the host holds the network's gateway address (on a bridge, or on each host end of a veth
   * pair), so a service on the host can listen there for the network's sandboxes: DNS is on by default
   * for such networks ({@link NetworkSpec.dns}) and refused on the others.
   */
  hostGateway?: boolean;
  /**
   * The IPAM a network of this driver uses when its spec names none, and options merged under the spec's
   * own (multi-host drivers default to the `global` IPAM: host-local cannot keep hosts apart).
   */
  defaultIpam?: {
    /** IPAM driver name. */
    readonly driver: string;
    /** Options given to it, under the network spec's IPAM options. */
    readonly options?: JsonObject;
  };
}

/** A network as a driver sees it: IPAM has already run. */
export interface DriverNetwork {
  /** The network's id (64 hex digits). */
  id: string;
  /** The network's user-given name. */
  name: string;
  /** Options as returned by `validateNetworkOptions`. */
  options: JsonObject;
  /** What the driver kept from `createNetwork` (empty before). */
  state: JsonObject;
  /** An internal network has no route to the outside: no default gateway, no masquerade. */
  internal: boolean;
  /** Subnet and gateway per family. */
  ipv4?: {
    /** IPv4 subnet in CIDR notation, e.g. `10.88.0.0/16`. */
    subnet: string;
    /** Gateway address (no prefix length), absent when the network has none. */
    gateway?: string;
  };
  /** IPv6 subnet and gateway, for dual-stack or IPv6 networks. */
  ipv6?: {
    /** IPv6 subnet in CIDR notation, e.g. `fd00:1::/64`. */
    subnet: string;
    /** Gateway address (no prefix length), absent when the network has none. */
    gateway?: string;
  };
}

/** An endpoint (one sandbox's attachment to one network) as a driver sees it: IPAM has already run. */
export interface DriverEndpoint {
  /** The endpoint's id (64 hex digits). */
  id: string;
  /** Final interface name inside the sandbox (`eth0`, …). */
  ifname: string;
  /** MAC address the user asked for or the driver chose earlier; absent when unset. */
  mac?: string;
  /** Addresses with prefix length. */
  ipv4?: string;
  /** IPv6 address with prefix length, when the network has IPv6. */
  ipv6?: string;
  /** What the driver kept from `createEndpoint` (empty before). */
  state: JsonObject;
}

/** The sandbox an endpoint joins, as a driver sees it. */
export interface DriverSandbox {
  /** The sandbox's id (64 hex digits). */
  id: string;
  /** The sandbox's network namespace. */
  netns: NetnsRef;
}

/** A network's kernel changes plus what the driver wants persisted with it. */
export interface NetworkPlan {
  /** Operations in the host namespace. */
  steps: KernelOp[];
  /** Saved with the network and handed back on every later call. */
  state?: JsonObject;
  /** Lines users read in `network inspect`. */
  notes?: string[];
  /**
   * createNetwork only: addresses of the network's subnets the driver itself uses (a host shim). The
   * controller reserves them in IPAM (as CNM's auxiliary addresses), so no endpoint is given one.
   */
  reservedAddresses?: string[];
  /**
   * createNetwork only: `false` when the host holds no gateway address on this network although the
   * driver's {@link DriverCapability.hostGateway} says its networks usually do (a bridge created with
   * `isGateway` off). Such a network gets no DNS by default and refuses `dns: true`: a responder would
   * have no address to listen on.
   */
  hostGateway?: boolean;
  /**
   * createNetwork only: what the firewall needs. `interfaces` are the host interfaces the network's
   * traffic reaches the host through (a bridge); `masquerade` asks for egress NAT of its subnets.
   * Declared as data: core builds the firewall transaction, the driver never calls the firewall.
   */
  firewall?: {
    /** Host interfaces the network's traffic reaches the host through (e.g. the bridge). */
    interfaces: string[];
    /** Masquerade (source-NAT) traffic from the network's subnets leaving the host. */
    masquerade: boolean;
    /** Drop traffic from an endpoint whose source address is not its own. */
    antiSpoof?: boolean;
  };
}

/** What `createEndpoint` decided about an endpoint. */
export interface EndpointPlan {
  /** MAC the driver chose (when the user gave none). */
  mac?: string;
  /** Saved with the endpoint and handed back on every later call for it. */
  state?: JsonObject;
}

/** A route added inside the sandbox on the endpoint's interface. */
export interface StaticRoute {
  /** Destination: `default` or a CIDR. */
  dst: string;
  /** Next hop; omitted = connected route on the interface. */
  via?: string;
}

/** What `join` created and what the sandbox plumbing must do with it. */
export interface JoinPlan {
  /** Operations in the host namespace (create the link, enslave it, bring the host end up). */
  hostSteps: KernelOp[];
  /** Name of the link that ends up in the sandbox, as created. */
  srcName: string;
  /** True when `hostSteps` already create `srcName` inside the sandbox namespace. */
  srcInSandbox: boolean;
  /** Default-route next hops; omit both (or set disableGateway) for no default route. */
  gateway4?: string;
  /** IPv6 default-route next hop. */
  gateway6?: string;
  /** No default route through this endpoint at all (internal networks, restricted presets). */
  disableGateway?: boolean;
  /** Default route as a connected route on the interface, with no next hop (ipvlan L3 modes). */
  connectedDefaultRoute?: boolean;
  /** Extra routes inside the sandbox. */
  staticRoutes?: StaticRoute[];
  /** Add the address without its prefix route (point-to-point networks route through the gateway instead). */
  noPrefixRoute?: boolean;
  /** MTU the sandbox interface should get. */
  mtu?: number;
  /** A host interface of this endpoint alone that the firewall keys on (a routed veth's host end). */
  firewallInterface?: string;
  /** The endpoint's bridge port (host end), for anti-spoofing on bridged traffic. */
  bridgePort?: string;
}

/** What `leave` must undo in the host namespace. */
export interface LeavePlan {
  /** Operations in the host namespace that undo `join` (the sandbox end is removed by core). */
  hostSteps: KernelOp[];
  /**
   * Names a link of this endpoint may have inside the sandbox besides its final name (a temporary
   * name before core's rename). Recovery of an interrupted connect deletes these too.
   */
  sandboxLinkNames?: string[];
  /**
   * The endpoint's links in the host namespace that go away with its sandbox end (a veth pair's host
   * end). Core retires them with it: down at once (their routes go), deleted in a later batch by one
   * group delete on the host. Leave it out when nothing on the host side needs taking down.
   */
  hostLinks?: string[];
}

/** Per-connect wishes an attaching driver should honour (`NetworkDriver.attach`). */
export interface AttachRequest {
  /** Static addresses the user asked for, without prefix length. */
  ipv4?: string;
  /** Static IPv6 address the user asked for, without prefix length. */
  ipv6?: string;
}

/**
 * What `attach` gave the endpoint: the driver's own IPAM chose the addresses, and the driver made the
 * interface (named `endpoint.ifname`, inside the sandbox, up). Core records these on the endpoint.
 */
export interface AttachResult {
  /** Addresses with prefix length (the first of each family). */
  ipv4?: string;
  /** IPv6 address with prefix length, when one was given. */
  ipv6?: string;
  /** The interface's MAC, as the driver reports it. */
  mac?: string;
  /** IPv4 default-route next hop the interface was given, if any. */
  gateway4?: string;
  /** IPv6 default-route next hop the interface was given, if any. */
  gateway6?: string;
  /** Saved with the endpoint and handed back to `detach` (merged over `createEndpoint`'s state). */
  state?: JsonObject;
}

/**
 * A network driver. Drivers decide, the kernel port does: every method returns kernel operations
 * as data and never changes the kernel itself, so all driver logic runs against FakeKernel.
 * The kernel port a driver receives in `create(deps)` is for reads and probes only.
 */
export interface NetworkDriver {
  /** The type users name (`bridge`, `veth`, …); unique in a registry. */
  readonly type: string;
  /** The driver's scopes; checked when the driver is registered. */
  readonly capability: DriverCapability;
  /** Checks and normalises driver options; throws SWY_ERR_INVALID_OPTION (or a more specific code) naming the bad key. */
  validateNetworkOptions(options: JsonObject): Promise<JsonObject> | JsonObject;
  /** Plans the network's kernel objects; IPAM data is already allocated. Must not fail once applied. */
  createNetwork(network: DriverNetwork): Promise<NetworkPlan>;
  /**
   * Plans the removal of everything createNetwork made (and only that). A global-scope driver that records
   * the network outside the kernel while planning (in the global store) takes that back here: core also calls
   * it, without running its steps, when a create fails after createNetwork returned.
   */
  deleteNetwork(network: DriverNetwork): Promise<NetworkPlan>;
  /** Accepts or refuses an endpoint before any kernel change; may choose a MAC. */
  createEndpoint(network: DriverNetwork, endpoint: DriverEndpoint): Promise<EndpointPlan>;
  /** Forgets an endpoint; it has left its sandbox already. */
  deleteEndpoint(network: DriverNetwork, endpoint: DriverEndpoint): Promise<void>;
  /** Plans the link that will carry the endpoint into the sandbox. */
  join(network: DriverNetwork, endpoint: DriverEndpoint, sandbox: DriverSandbox): Promise<JoinPlan>;
  /** Plans the host-side removal of what join created; runs after core deleted the sandbox end, so link.del must use ifExists. */
  leave(network: DriverNetwork, endpoint: DriverEndpoint, sandbox: DriverSandbox): Promise<LeavePlan>;
  /**
   * Optional. Makes a joined endpoint reachable from outside (published ports, masquerade) through the
   * firewall port the driver received. Called after join for an endpoint that has port bindings or
   * provides its sandbox's default route; called again (after a revoke) when the default route moves
   * to or away from the endpoint, with `providesDefaultRoute` saying which (libnetwork's gateway
   * move); and again by `gc` for every such endpoint, to bring back what a reboot took along. Must be
   * idempotent, and undone completely by revokeExternalConnectivity.
   */
  programExternalConnectivity?(network: DriverNetwork, endpoint: DriverEndpoint & { portBindings: PortBinding[]; providesDefaultRoute: boolean }): Promise<void>;
  /** Optional. Undoes programExternalConnectivity; succeeds when there is nothing to undo. */
  revokeExternalConnectivity?(network: DriverNetwork, endpoint: DriverEndpoint): Promise<void>;
  /**
   * Optional, for reconciliation (`gc`, and a connect that finds the network's objects gone). Plans what
   * brings back the network's host kernel objects that are missing now (a reboot, `ip link del`), and
   * re-attaches the given endpoints' host links that survived; no steps when nothing is missing. The
   * notes say what is missing, in words.
   */
  restoreNetwork?(network: DriverNetwork, endpoints: DriverEndpoint[]): Promise<NetworkPlan>;
  /**
   * Optional, for reconciliation. When a host-namespace link name is one this driver gives its endpoints'
   * host links, the endpoint id prefix it encodes (gc removes such links whose endpoint no longer exists).
   */
  endpointOfHostLink?(linkName: string): string | undefined;
  /**
   * Optional, together with `detach`: for drivers that cannot plan (they run something that changes the
   * kernel itself and does its own IPAM, such as a CNI plugin). Core then requests no IPAM pools or
   * addresses for the driver's networks (a network spec with IPAM ranges is refused), never calls `join`
   * or `leave`, and does no sandbox plumbing for the endpoint: `attach` makes the interface inside the
   * sandbox under `endpoint.ifname` (which core has checked is free), addresses it, routes it, and reports
   * what it got. Core records that on the endpoint; routes inside the sandbox stay the driver's (the
   * endpoint takes no part in core's default-route hand-over). Called after `createEndpoint`. When it
   * throws it must have left nothing behind.
   */
  attach?(network: DriverNetwork, endpoint: DriverEndpoint, sandbox: DriverSandbox, request: AttachRequest): Promise<AttachResult>;
  /**
   * Undoes `attach`: on disconnect, sandbox removal, the rollback of a failed connect, and recovery of an
   * interrupted one (then with `endpoint.state` empty: the driver must find what to undo from the endpoint
   * id). Without `sandbox` its namespace is gone, or the interface name belongs to another endpoint now:
   * release what lives outside the sandbox and touch nothing inside it. Idempotent; succeeds when nothing
   * is attached.
   */
  detach?(network: DriverNetwork, endpoint: DriverEndpoint, sandbox: DriverSandbox | undefined): Promise<void>;
  /**
   * Optional, for `gc` of attaching drivers: releases what the driver holds for endpoints of the network
   * other than `live` (attachments a crash or a vanished sandbox left). Returns the attachments it removed,
   * named so users can tell them (gc reports each as a removed link). Not called by a dry run.
   */
  collectEndpoints?(network: DriverNetwork, live: DriverEndpoint[]): Promise<string[]>;
}

/** `ipamDriver` of a network whose driver allocates addresses itself (`attach`): no IPAM driver is asked. */
export const DRIVER_IPAM = 'driver';

/** Whether a driver attaches endpoints itself (`attach`/`detach`) instead of planning a join. */
export function attachesEndpoints(driver: NetworkDriver): driver is NetworkDriver & Required<Pick<NetworkDriver, 'attach' | 'detach'>> {
  return typeof driver.attach === 'function' && typeof driver.detach === 'function';
}
