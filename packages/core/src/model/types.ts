import type { NetnsRef } from '../spi/kernel.js';

/** JSON-safe values, for options and driver state that the store persists. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
/** A JSON object: what driver options, driver state and IPAM options are. */
export type JsonObject = { [key: string]: Json };

/** An IP address family: 4 or 6. */
export type IpFamily = 4 | 6;

/** One address range of a network, Docker's `--subnet/--ip-range/--gateway` and CNI host-local's range in one. */
export interface IpamRangeConfig {
  /** CIDR of the subnet; omitted = pick a free default pool. */
  subnet?: string;
  /** Sub-range to allocate from, as a CIDR inside the subnet (Docker's `--ip-range`). */
  ipRange?: string;
  /** First and last address to hand out (CNI host-local's `rangeStart` / `rangeEnd`). */
  rangeStart?: string;
  /** Last address to hand out (CNI host-local's `rangeEnd`). */
  rangeEnd?: string;
  /** Gateway address; defaults to the subnet's first address. */
  gateway?: string;
  /**
   * Addresses of the subnet never given to an endpoint, by name (Docker's `--aux-address`, e.g. a router
   * or a host outside Switchyard's control): `{ "my-router": "10.88.0.5" }`.
   */
  auxAddresses?: Record<string, string>;
}

/** How a network gets its addresses: which IPAM driver, which ranges, and the driver's own options. */
export interface IpamSpec {
  /** IPAM driver name; default `host-local`. */
  driver?: string;
  /** IPv4 ranges (one range set: the endpoint gets one IPv4 address from any of them). */
  ipv4?: IpamRangeConfig[];
  /** IPv6 ranges (used when the network has `ipv6: true`). */
  ipv6?: IpamRangeConfig[];
  /** IPAM-driver-specific options (e.g. host-local's `dataDir`). */
  options?: JsonObject;
}

/** What {@link NetworkController.createNetwork} is asked to create. */
export interface NetworkSpec {
  /** The network's name: 1–63 letters, digits, `_`, `.` or `-`, starting with a letter or digit; unique. */
  name: string;
  /** Driver type: `bridge`, `veth`, `macvlan`, `ipvlan` or a plugin's type. */
  driver: string;
  /** Addressing; default: the `host-local` IPAM with a free default pool. */
  ipam?: IpamSpec;
  /** Enable IPv6 (dual stack). */
  ipv6?: boolean;
  /** Disable IPv4 (IPv6-only network); requires `ipv6`. */
  ipv4?: boolean;
  /** No external connectivity: no default route towards the gateway, no masquerade. */
  internal?: boolean;
  /**
   * Names of the network's sandboxes answered by a DNS responder on its gateway (Podman's way; Docker's
   * user-defined networks): sandboxes on it resolve each other's names and aliases, and get the gateway as
   * their name server. Default: on where the driver gives the host an address on the network (bridge,
   * veth), off elsewhere; asking for it where there is none is SWY_ERR_DNS_UNSUPPORTED. Needs a
   * DnsService (`createSwitchyard({ dns })`; the CLI gives one).
   */
  dns?: boolean;
  /** Free-form key/value labels, kept with the network. */
  labels?: Record<string, string>;
  /** Driver-specific options, validated by the driver. */
  options?: JsonObject;
}

/** An address pool the IPAM driver handed out for one family of a network. */
export interface PoolAssignment {
  /** The IPAM driver's opaque id of the pool. */
  poolId: string;
  /** Subnet CIDR. */
  subnet: string;
  /** Gateway address (no prefix), when the network has one. */
  gateway?: string;
  /** The auxiliary addresses reserved in the pool, by name (`IpamRangeConfig.auxAddresses`). */
  auxAddresses?: Record<string, string>;
}

/** A network as stored and returned by the controller. */
export interface NetworkRecord {
  /** The network's id (64 hex digits). */
  id: string;
  /** The network's name. */
  name: string;
  /** The network driver's type. */
  driver: string;
  /** The IPAM driver's name (`driver` when the network driver allocates addresses itself). */
  ipamDriver: string;
  /** The IPv4 pool, unless the network is IPv6-only. */
  ipv4?: PoolAssignment;
  /** The IPv6 pool, when IPv6 is enabled. */
  ipv6?: PoolAssignment;
  /** No external connectivity: no default route towards the gateway, no masquerade. */
  internal: boolean;
  /** Whether the DNS responder answers for this network ({@link NetworkSpec.dns}); absent in records made before DNS existed: off. */
  dns?: boolean;
  /** The network's labels. */
  labels: Record<string, string>;
  /** Driver options after the driver normalised them. */
  options: JsonObject;
  /** Whatever the driver asked to keep (e.g. whether it created the bridge). */
  driverState: JsonObject;
  /** Lines the driver wants users to read in `inspect` (e.g. "masquerade not configured"). */
  notes: string[];
  /** What the driver declared for the firewall (`NetworkPlan.firewall`); absent = nothing. */
  firewall?: {
    /** Host interfaces the network's traffic reaches the host through. */
    interfaces: string[];
    /** Masquerade traffic from the network's subnets leaving the host. */
    masquerade: boolean;
    /** Drop traffic from an endpoint whose source address is not its own. */
    antiSpoof?: boolean;
  };
  /** When the network was created (ISO 8601). */
  createdAt: string;
}

/** How a sandbox gets its network namespace (see {@link SandboxSpec.mode}). */
export type SandboxMode = 'isolated' | 'none' | 'host';

/** What {@link NetworkController.createSandbox} is asked to create. */
export interface SandboxSpec {
  /** The sandbox's name: 1–63 letters, digits, `_`, `.` or `-`, starting with a letter or digit; unique. */
  name: string;
  /** `isolated` (default): a new named namespace, or the one given by `netnsPath`/`pid`. `none`: loopback only. `host`: the caller's namespace. */
  mode?: SandboxMode;
  /** Use an existing namespace given by path (e.g. `/proc/<pid>/ns/net` or a bind mount). */
  netnsPath?: string;
  /** Use the namespace of this process. */
  pid?: number;
  /** Host name written to the sandbox's `hosts` file (RFC 1123); default its name, or its short id when the name is not a host name. */
  hostname?: string;
  /** DNS settings for the sandbox's `resolv.conf`; without name servers, the host's non-loopback ones are used. */
  dns?: {
    /** Name server addresses. */
    nameservers?: string[];
    /** Search domains. */
    search?: string[];
    /** Resolver options, e.g. `ndots:2`. */
    options?: string[];
  };
  /** Extra `hosts` entries. */
  extraHosts?: Array<{
    /** Host name. */
    name: string;
    /** Its address. */
    address: string;
  }>;
  /** Free-form key/value labels, kept with the sandbox. */
  labels?: Record<string, string>;
  /** Ports the sandbox's application declares by name (rkt's image manifest ports), published with `{ name, hostPort }`. */
  ports?: NamedPort[];
}

/** A port declared by name: `-p http:8888` publishes host port 8888 to it. */
export interface NamedPort {
  /** Lowercase letters, digits and dashes, starting and ending with a letter or digit (rkt's AC name), at most 63. */
  name: string;
  /** The port inside the sandbox (1–65535). */
  port: number;
  /** Transport protocol. */
  protocol: 'tcp' | 'udp' | 'sctp';
}

/** Device and inode of a namespace file: what identifies a network namespace. */
export interface NetnsIdentity {
  /** Device number of the namespace file. */
  dev: number;
  /** Inode number of the namespace file. */
  ino: number;
}

/** A sandbox as stored and returned by the controller, with its endpoints. */
export interface SandboxRecord {
  /** The sandbox's id (64 hex digits). */
  id: string;
  /** The sandbox's name. */
  name: string;
  /** How it got its namespace. */
  mode: SandboxMode;
  /** Its network namespace. */
  netns: NetnsRef;
  /** True when Switchyard created the namespace (and so deletes it). */
  ownsNetns: boolean;
  /** For a namespace adopted by path: the device and inode it had then (a reused PID's path leads elsewhere). */
  netnsIdentity?: NetnsIdentity;
  /**
   * True when Switchyard made the namespace with `net.ipv6.conf.default.disable_ipv6 = 1`: interfaces
   * arriving there start with IPv6 off, and a connect with an IPv6 address turns it on for its interface.
   */
  ipv6OffByDefault?: boolean;
  /** Its host name. */
  hostname: string;
  /** Its DNS settings, as given (empty lists when none). */
  dns: {
    /** Name server addresses; empty: the host's are used. */
    nameservers: string[];
    /** Search domains. */
    search: string[];
    /** Resolver options. */
    options: string[];
  };
  /** Extra `hosts` entries. */
  extraHosts: Array<{
    /** Host name. */
    name: string;
    /** Its address. */
    address: string;
  }>;
  /** The sandbox's labels. */
  labels: Record<string, string>;
  /** Its named ports (absent: none declared). */
  ports?: NamedPort[];
  /** Directory with this sandbox's `hosts` and `resolv.conf`. */
  filesDir?: string;
  /** Endpoints joined to this sandbox, one per network (kept with the sandbox: one read per connect). */
  endpoints: EndpointRecord[];
  /** When the sandbox was created (ISO 8601). */
  createdAt: string;
}

/** A published port: traffic to the host port goes to the container port of the endpoint's address. */
export interface PortBinding {
  /** Transport protocol. */
  protocol: 'tcp' | 'udp' | 'sctp';
  /** The port inside the sandbox (1–65535). */
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
  /** The declared port's name ({@link NamedPort.name}). */
  name: string;
  /** 0 = a free one from the host port range. */
  hostPort: number;
  /** Only this host address (else every address of each family the endpoint has). */
  hostIp?: string;
  /** Only clients from this subnet (CIDR). */
  allowFrom?: string;
}

/** How {@link NetworkController.connect} attaches a sandbox to a network; every field is optional. */
export interface ConnectOptions {
  /** Static IPv4 address (no prefix). */
  ipv4?: string;
  /** Static IPv6 address (no prefix). */
  ipv6?: string;
  /** MAC address for the interface; default the driver's choice. */
  mac?: string;
  /** Interface name inside the sandbox; default `eth<N>`. */
  ifname?: string;
  /** Extra names for the sandbox's address on this network, written to its `hosts` file. */
  aliases?: string[];
  /** Ports to publish, by number or by the sandbox's declared name. */
  portBindings?: Array<PortBinding | NamedPortBinding>;
  /** Highest priority endpoint provides the sandbox's default route (Docker's join priority). */
  gatewayPriority?: number;
}

/** An endpoint (one sandbox's attachment to one network) as stored with its sandbox. */
export interface EndpointRecord {
  /** The endpoint's id (64 hex digits). */
  id: string;
  /** `<sandbox>.<network>`. */
  name: string;
  /** Id of its network. */
  networkId: string;
  /** Name of its network. */
  networkName: string;
  /** Id of its sandbox. */
  sandboxId: string;
  /** Interface name inside the sandbox. */
  ifname: string;
  /** The interface's MAC address, when known. */
  mac?: string;
  /** Addresses with prefix length. */
  ipv4?: string;
  /** IPv6 address with prefix length. */
  ipv6?: string;
  /** IPv4 gateway (no prefix), when the network has one. */
  gateway4?: string;
  /** IPv6 gateway (no prefix), when the network has one. */
  gateway6?: string;
  /** Extra names for its address, in the sandbox's `hosts` file and, on a network with DNS, its neighbours' answers. */
  aliases: string[];
  /** The network's DNS responder addresses (its gateways), when the network has DNS: the sandbox's name servers while it is connected. */
  dnsServers?: string[];
  /** Published ports, with the host ports actually picked. */
  portBindings: PortBinding[];
  /** Its priority for providing the sandbox's default route (higher wins). */
  gatewayPriority: number;
  /** How this endpoint would route by default, kept so another endpoint can hand over when one leaves. */
  routing: EndpointRouting;
  /** Whether this endpoint currently provides the sandbox's default route. */
  providesDefaultRoute: boolean;
  /** Whatever the driver asked to keep for the endpoint. */
  driverState: JsonObject;
  /** The endpoint's own host interface the firewall keys on (`JoinPlan.firewallInterface`). */
  hostInterface?: string;
  /** Its bridge port, kept when its network guards against spoofing (`JoinPlan.bridgePort`). */
  bridgePort?: string;
  /** When the endpoint was created (ISO 8601). */
  createdAt: string;
}

/** How an endpoint would provide the sandbox's default route. */
export interface EndpointRouting {
  /** Families this endpoint can give a default route for (none on internal networks). */
  v4: boolean;
  /** Whether it can give the IPv6 default route. */
  v6: boolean;
  /** IPv4 next hop of that route. */
  gateway4?: string;
  /** IPv6 next hop of that route. */
  gateway6?: string;
  /** Default route is a connected route on the interface (ipvlan L3). */
  connected: boolean;
  /** Gateway is reached on-link without a prefix route (point-to-point). */
  onlink: boolean;
}
