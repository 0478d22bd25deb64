import type { PortBinding } from '../model/types.js';

/**
 * A network as the firewall sees it. Core derives it from the network record and what the driver
 * declared (`NetworkPlan.firewall`); the firewall never asks a driver anything.
 */
export interface FirewallNetwork {
  /** The network's id. */
  id: string;
  /** The network's name (named in rule comments). */
  name: string;
  /** Host interfaces the network's traffic enters the host through (a bridge); per-endpoint ones are on the endpoints. */
  interfaces: string[];
  /** The network's subnets (CIDR), both families. */
  subnets: string[];
  /** Masquerade traffic from the subnets leaving the host through any non-Switchyard interface. */
  masquerade: boolean;
  /** No traffic in or out of the host's other interfaces; no published ports. */
  internal: boolean;
  /** Drop frames and packets from an endpoint whose source MAC or address is not its own. */
  antiSpoof: boolean;
}

/** A published port as the firewall programs it: one host port, one container port (ranges are expanded by core). */
export interface PublishedPort {
  /** Transport protocol. */
  protocol: PortBinding['protocol'];
  /** Port on the host (1–65535). */
  hostPort: number;
  /** Port inside the sandbox (1–65535). */
  containerPort: number;
  /** Only this host address (else every local address of the family). */
  hostIp?: string;
  /** Only clients from this subnet (CIDR); else any. */
  allowFrom?: string;
}

/** An endpoint as the firewall sees it. */
export interface FirewallEndpoint {
  /** The endpoint's id. */
  id: string;
  /** `<sandbox>.<network>`: named in rule comments. */
  name: string;
  /** Id of the network the endpoint belongs to (one of `FirewallState.networks`). */
  networkId: string;
  /** Host interfaces of this endpoint alone (a routed veth's host end). */
  interfaces: string[];
  /** Its bridge port (host end of its veth on a bridge), when its network guards against spoofing. */
  bridgePort?: string;
  /** The endpoint's MAC address, for anti-spoofing. */
  mac?: string;
  /** Bare addresses (no prefix). */
  ipv4?: string;
  /** Bare IPv6 address (no prefix). */
  ipv6?: string;
  /** Ports published to this endpoint; empty for none. */
  ports: PublishedPort[];
}

/** Everything the firewall should hold: what `sync` installs and what `verify` compares with. */
export interface FirewallState {
  /** Every network the firewall should know about. */
  networks: FirewallNetwork[];
  /** Endpoints with something for the firewall (ports or own interfaces); each names a network in `networks`. */
  endpoints: FirewallEndpoint[];
}

/** One operation's firewall change: removals then additions, as one atomic transaction. */
export interface FirewallChange {
  /** Endpoints to remove, each with its network. */
  removeEndpoints?: Array<{
    /** The endpoint's network. */
    network: FirewallNetwork;
    /** The endpoint. */
    endpoint: FirewallEndpoint;
  }>;
  /** Networks to remove (after their endpoints). */
  removeNetworks?: FirewallNetwork[];
  /** Networks to add. */
  addNetworks?: FirewallNetwork[];
  /** Endpoints to add, each with its network (after the networks). */
  addEndpoints?: Array<{
    /** The endpoint's network. */
    network: FirewallNetwork;
    /** The endpoint. */
    endpoint: FirewallEndpoint;
  }>;
}

/** What `verify` found: empty `problems` means the installed rules match the intended state. */
export interface FirewallCheck {
  /** One sentence per difference between the installed rules and the intended state. */
  problems: string[];
}

/** Packet filtering and NAT for networks and endpoints: masquerade, published ports, isolation. */
export interface Firewall {
  /** `nftables`, or `none` when this host has no firewall backend. */
  readonly name: string;
  /** False for `none`: core refuses masquerade and published ports up front, with a coded error. */
  readonly available: boolean;
  /** Applies one change as a single atomic transaction; removing what is absent succeeds. */
  apply(change: FirewallChange): Promise<void>;
  /** Replaces everything Switchyard installed with `state`, atomically (`firewall reload`). */
  sync(state: FirewallState): Promise<void>;
  /** Reads the installed rules back and names what is missing or different from `state`. */
  verify(state: FirewallState): Promise<FirewallCheck>;
  /** The installed rules as the backend reports them (`firewall show`). */
  show(): Promise<string>;
}
