import type { NetnsRef } from '../spi/kernel.js';

/** JSON-safe values, for options and driver state that the store persists. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export type IpFamily = 4 | 6;

/** One address range of a network, Docker's `--subnet/--ip-range/--gateway` and CNI host-local's range in one. */
export interface IpamRangeConfig {
  /** CIDR of the subnet; omitted = pick a free default pool. */
  subnet?: string;
  /** Sub-range to allocate from, as a CIDR inside the subnet (Docker's `--ip-range`). */
  ipRange?: string;
  /** First and last address to hand out (CNI host-local's `rangeStart` / `rangeEnd`). */
  rangeStart?: string;
  rangeEnd?: string;
  /** Gateway address; defaults to the subnet's first address. */
  gateway?: string;
  /**
   * Addresses of the subnet never given to an endpoint, by name (Docker's `--aux-address`, e.g. a router
   * or a host outside Switchyard's control): `{ "my-router": "10.88.0.5" }`.
   */
  auxAddresses?: Record<string, string>;
}

export interface IpamSpec {
  /** IPAM driver name; default `host-local`. */
  driver?: string;
  /** IPv4 ranges (one range set: the endpoint gets one IPv4 address from any of them). */
  ipv4?: IpamRangeConfig[];
  /** IPv6 ranges (used when the network has `ipv6: true`). */
  ipv6?: IpamRangeConfig[];
  options?: JsonObject;
}

export interface NetworkSpec {
  name: string;
  /** Driver type: `bridge`, `veth`, `macvlan`, `ipvlan` or a plugin's type. */
  driver: string;
  ipam?: IpamSpec;
  /** Enable IPv6 (dual stack). */
  ipv6?: boolean;
  /** Disable IPv4 (IPv6-only network); requires `ipv6`. */
  ipv4?: boolean;
  /** No external connectivity: no default route towards the gateway, no masquerade. */
  internal?: boolean;
  labels?: Record<string, string>;
  /** Driver-specific options, validated by the driver. */
  options?: JsonObject;
}

/** An address pool the IPAM driver handed out for one family of a network. */
export interface PoolAssignment {
  poolId: string;
  /** Subnet CIDR. */
  subnet: string;
  /** Gateway address (no prefix), when the network has one. */
  gateway?: string;
  /** The auxiliary addresses reserved in the pool, by name (`IpamRangeConfig.auxAddresses`). */
  auxAddresses?: Record<string, string>;
}

export interface NetworkRecord {
  id: string;
  name: string;
  driver: string;
  ipamDriver: string;
  ipv4?: PoolAssignment;
  ipv6?: PoolAssignment;
  internal: boolean;
  labels: Record<string, string>;
  /** Driver options after the driver normalised them. */
  options: JsonObject;
  /** Whatever the driver asked to keep (e.g. whether it created the bridge). */
  driverState: JsonObject;
  /** Lines the driver wants users to read in `inspect` (e.g. "masquerade not configured"). */
  notes: string[];
  /** What the driver declared for the firewall (`NetworkPlan.firewall`); absent = nothing. */
  firewall?: { interfaces: string[]; masquerade: boolean; antiSpoof?: boolean };
  createdAt: string;
}

export type SandboxMode = 'isolated' | 'none' | 'host';

export interface SandboxSpec {
  name: string;
  /** `isolated` (default): a new named namespace, or the one given by `netnsPath`/`pid`. `none`: loopback only. `host`: the caller's namespace. */
  mode?: SandboxMode;
  /** Use an existing namespace given by path (e.g. `/proc/<pid>/ns/net` or a bind mount). */
  netnsPath?: string;
  /** Use the namespace of this process. */
  pid?: number;
  hostname?: string;
  dns?: { nameservers?: string[]; search?: string[]; options?: string[] };
  extraHosts?: Array<{ name: string; address: string }>;
  labels?: Record<string, string>;
  /** Ports the sandbox's application declares by name (rkt's image manifest ports), published with `{ name, hostPort }`. */
  ports?: NamedPort[];
}

/** A port declared by name: `-p http:8888` publishes host port 8888 to it. */
export interface NamedPort {
  /** Lowercase letters, digits and dashes, starting and ending with a letter or digit (rkt's AC name), at most 63. */
  name: string;
  port: number;
  protocol: 'tcp' | 'udp' | 'sctp';
}

/** Device and inode of a namespace file: what identifies a network namespace. */
export interface NetnsIdentity {
  dev: number;
  ino: number;
}

export interface SandboxRecord {
  id: string;
  name: string;
  mode: SandboxMode;
  netns: NetnsRef;
  /** True when Switchyard created the namespace (and so deletes it). */
  ownsNetns: boolean;
  /** For a namespace adopted by path: the device and inode it had then (a reused PID's path leads elsewhere). */
  netnsIdentity?: NetnsIdentity;
  hostname: string;
  dns: { nameservers: string[]; search: string[]; options: string[] };
  extraHosts: Array<{ name: string; address: string }>;
  labels: Record<string, string>;
  /** Its named ports (absent: none declared). */
  ports?: NamedPort[];
  /** Directory with this sandbox's `hosts` and `resolv.conf`. */
  filesDir?: string;
  /** Endpoints joined to this sandbox, one per network (kept with the sandbox: one read per connect). */
  endpoints: EndpointRecord[];
  createdAt: string;
}

export interface PortBinding {
  protocol: 'tcp' | 'udp' | 'sctp';
  containerPort: number;
  /** 0 when connecting = pick a free one from the host port range (the endpoint records the one picked). */
  hostPort: number;
  /** Only this host address (else every address of each family the endpoint has). */
  hostIp?: string;
  /** Only clients from this subnet (CIDR). */
  allowFrom?: string;
  /** The sandbox's named port this binding publishes (containerPort and protocol are the declaration's). */
  name?: string;
}

/** Publishes a sandbox's named port (rkt's `--port NAME:HOSTPORT`); resolved against its declarations at connect. */
export interface NamedPortBinding {
  name: string;
  /** 0 = a free one from the host port range. */
  hostPort: number;
  hostIp?: string;
  allowFrom?: string;
}

export interface ConnectOptions {
  /** Static IPv4 address (no prefix). */
  ipv4?: string;
  /** Static IPv6 address (no prefix). */
  ipv6?: string;
  mac?: string;
  /** Interface name inside the sandbox; default `eth<N>`. */
  ifname?: string;
  aliases?: string[];
  /** Ports to publish, by number or by the sandbox's declared name. */
  portBindings?: Array<PortBinding | NamedPortBinding>;
  /** Highest priority endpoint provides the sandbox's default route (Docker's join priority). */
  gatewayPriority?: number;
}

export interface EndpointRecord {
  id: string;
  name: string;
  networkId: string;
  networkName: string;
  sandboxId: string;
  ifname: string;
  mac?: string;
  /** Addresses with prefix length. */
  ipv4?: string;
  ipv6?: string;
  gateway4?: string;
  gateway6?: string;
  aliases: string[];
  portBindings: PortBinding[];
  gatewayPriority: number;
  /** How this endpoint would route by default, kept so another endpoint can hand over when one leaves. */
  routing: EndpointRouting;
  /** Whether this endpoint currently provides the sandbox's default route. */
  providesDefaultRoute: boolean;
  driverState: JsonObject;
  /** The endpoint's own host interface the firewall keys on (`JoinPlan.firewallInterface`). */
  hostInterface?: string;
  /** Its bridge port, kept when its network guards against spoofing (`JoinPlan.bridgePort`). */
  bridgePort?: string;
  createdAt: string;
}

export interface EndpointRouting {
  /** Families this endpoint can give a default route for (none on internal networks). */
  v4: boolean;
  v6: boolean;
  gateway4?: string;
  gateway6?: string;
  /** Default route is a connected route on the interface (ipvlan L3). */
  connected: boolean;
  /** Gateway is reached on-link without a prefix route (point-to-point). */
  onlink: boolean;
}
