import {
  GLOBAL_COLLECTIONS,
  hostNotJoined,
  requireGlobalStore,
  HOST_NS,
  SwitchyardError,
  stripPrefix,
  isSwitchyardError,
  macFromId,
  parseIpAddress,
  type DriverEndpoint,
  type DriverNetwork,
  type DriverSandbox,
  type EndpointPlan,
  type GlobalEndpoint,
  type GlobalStore,
  type HostRecord,
  type JoinPlan,
  type JsonObject,
  type Kernel,
  type KernelOp,
  type LeavePlan,
  type NetworkDriver,
  type NetworkPlan,
  type StateStore,
} from '@switchyard/core';
import { BridgeDriver, readBridgeOptions } from '@switchyard/driver-bridge';
import { claimGlobalNetwork, leaveGlobalNetwork, memberId, OVERLAY_MEMBERS, type OverlayMember } from './global-network.js';
import { readOverlayOptions } from './options.js';

/** The overlay driver's capability: the network and its endpoints are the cluster's; each host's bridge holds the (same) gateway address. */
export const OVERLAY_CAPABILITY = {
  /** Networks and endpoints are shared through the global store. */
  dataScope: 'global',
  /** Endpoints reach endpoints on other hosts, through the VXLAN tunnel. */
  connectivityScope: 'global',
  /** Every host's bridge carries the gateway address (a distributed gateway): DNS is on by default. */
  hostGateway: true,
  /** Addresses come from the cluster's pool in per-host blocks: host-local cannot keep hosts apart. */
  defaultIpam: {
    /** The `global` IPAM of `@switchyard/ipam-global`. */
    driver: 'global',
  },
} as const;

/** Bytes VXLAN adds to a frame by the underlay's family: outer IP header (20 or 40), UDP (8), VXLAN (8), inner Ethernet (14). */
export const VXLAN_OVERHEAD = {
  /** Over an IPv4 underlay. */
  4: 50,
  /** Over an IPv6 underlay. */
  6: 70,
} as const;

/** MTU assumed for the underlay link when this host's underlay address is on none of its links. */
const UNKNOWN_UNDERLAY_MTU = 1500;

/** Name of the bridge of an overlay network on a host (`syo-` and 8 hex digits of the host's network id). */
export function overlayBridgeName(networkId: string): string {
  return `syo-${networkId.slice(0, 8)}`;
}

/** Name of the VXLAN link of the network with that VNI (`vx-` and the VNI in decimal: at most 11 bytes). */
export function vxlanLinkName(vni: number): string {
  return `vx-${vni}`;
}

/** What createNetwork keeps in the network's state (the bridge driver's fields, plus these). */
interface OverlayState {
  bridge: string;
  vni: number;
  port: number;
  vxlan: string;
  mtu: number;
  local: string;
}

/**
 * A VXLAN network across hosts (libnetwork's overlay, flannel's vxlan backend): on each host a bridge
 * carrying the network's gateway and a VXLAN link (learning off, ARP/ND proxy on) as one of its ports,
 * and a veth pair per endpoint, as the bridge driver makes them. The cluster's global store holds the
 * network's VNI and every endpoint's MAC, addresses and host; each host's agent programs the VXLAN
 * forwarding and neighbour tables from them (never an all-zero entry: nothing is flooded).
 */
export class OverlayDriver implements NetworkDriver {
  readonly type = 'overlay';
  /** Global scopes; the host holds the gateway address. */
  readonly capability = OVERLAY_CAPABILITY;
  private readonly bridge: BridgeDriver;

  constructor(
    private readonly kernel: Kernel,
    store: StateStore,
    private readonly globalStore: GlobalStore | undefined,
    /** Whether the instance has a firewall backend: masquerade is then on unless the network says `ipMasq: false`. */
    private readonly firewallAvailable = false,
  ) {
    this.bridge = new BridgeDriver(kernel, store);
  }

  validateNetworkOptions(options: JsonObject): JsonObject {
    this.cluster();
    return readOverlayOptions(options) as unknown as JsonObject;
  }

  async createNetwork(network: DriverNetwork): Promise<NetworkPlan> {
    const cluster = this.cluster();
    const o = readOverlayOptions(network.options);
    const host = await this.thisHost(cluster);
    const local = underlayAddress(host);
    const mtu = o.mtu ?? (await this.underlayMtu(local.address)) - VXLAN_OVERHEAD[local.family];
    const bridge = overlayBridgeName(network.id);
    // The bridge driver plans the bridge (its own MAC, the gateway address, up) and refuses a name held by another link.
    const base = await this.bridge.createNetwork(asBridgeNetwork(network, { bridge, mtu }, o.ipMasq ?? this.firewallAvailable, {}));
    const joined = await cluster.transaction(async (tx) => {
      const found = await claimGlobalNetwork(tx, { name: network.name, ...(o.vni === undefined ? {} : { vni: o.vni }), ...(o.port === undefined ? {} : { port: o.port }) });
      const member: OverlayMember = { network: network.name, host: host.name, hostAddress: local.address, vni: found.vni };
      await tx.putLeased(OVERLAY_MEMBERS, memberId(network.name, host.name), member);
      return found;
    });
    const state: OverlayState = { bridge, vni: joined.vni, port: joined.port, vxlan: vxlanLinkName(joined.vni), mtu, local: local.address };
    return {
      ...base,
      steps: [...base.steps, ...vxlanSteps(state)],
      state: { ...base.state, ...state },
      notes: [...(base.notes ?? []), `VXLAN link ${state.vxlan}: VNI ${state.vni}, UDP port ${state.port}, from ${state.local}; MTU ${mtu}`],
    };
  }

  async deleteNetwork(network: DriverNetwork): Promise<NetworkPlan> {
    const cluster = this.cluster();
    const state = overlayState(network);
    const base = await this.bridge.deleteNetwork(asBridgeNetwork(network, state, false, network.state));
    await cluster.transaction((tx) => leaveGlobalNetwork(tx, network.name, cluster.hostName));
    const vxlan: KernelOp[] = state.vxlan ? [{ op: 'link.del', name: state.vxlan, ifExists: true }] : [];
    return { ...base, steps: [...vxlan, ...base.steps] };
  }

  async restoreNetwork(network: DriverNetwork, endpoints: DriverEndpoint[]): Promise<NetworkPlan> {
    this.cluster();
    const state = overlayState(network);
    const base = await this.bridge.restoreNetwork(asBridgeNetwork(network, state, false, network.state), endpoints);
    if (!isComplete(state)) return base;
    const steps = [...base.steps];
    const notes = [...(base.notes ?? [])];
    const link = (await this.kernel.listLinks(HOST_NS)).find((l) => l.name === state.vxlan);
    if (!link) {
      notes.push(`VXLAN link ${state.vxlan} is missing`);
      steps.push(...vxlanSteps(state));
    } else if (link.master !== state.bridge || !link.up) {
      notes.push(`VXLAN link ${state.vxlan} is not an up port of bridge ${state.bridge}`);
      steps.push({ op: 'link.set', name: state.vxlan, master: state.bridge, up: true });
    }
    return { ...base, steps, notes };
  }

  endpointOfHostLink(linkName: string): string | undefined {
    return this.bridge.endpointOfHostLink(linkName);
  }

  async createEndpoint(network: DriverNetwork, endpoint: DriverEndpoint): Promise<EndpointPlan> {
    const cluster = this.cluster();
    const state = overlayState(network);
    // The host's underlay address is the network's VXLAN source, recorded at create: no host read per connect
    // (a host whose lease is gone fails at the leased write below with SWY_ERR_HOST_NOT_JOINED).
    const hostAddress = state.local ?? underlayAddress(await this.thisHost(cluster)).address;
    // Other hosts' agents program this MAC into their VXLAN forwarding tables: fixed now, derived from the endpoint id.
    const mac = endpoint.mac ?? macFromId(endpoint.id);
    const doc: GlobalEndpoint = {
      id: endpoint.id,
      network: network.name,
      driver: this.type,
      host: cluster.hostName,
      hostAddress,
      mac,
      ...(endpoint.ipv4 ? { ipv4: endpoint.ipv4 } : {}),
      ...(endpoint.ipv6 ? { ipv6: endpoint.ipv6 } : {}),
      ...(state.vni === undefined ? {} : { data: { vni: state.vni } }),
    };
    await cluster.transaction((tx) => tx.putLeased(GLOBAL_COLLECTIONS.endpoints, endpoint.id, doc));
    return endpoint.mac ? {} : { mac };
  }

  async deleteEndpoint(_network: DriverNetwork, endpoint: DriverEndpoint): Promise<void> {
    const cluster = this.cluster();
    // One round trip: endpoint ids are 256 random bits this host made, so the document under it is this endpoint's.
    await cluster.transaction((tx) => tx.delete(GLOBAL_COLLECTIONS.endpoints, endpoint.id));
  }

  async join(network: DriverNetwork, endpoint: DriverEndpoint, sandbox: DriverSandbox): Promise<JoinPlan> {
    this.cluster();
    const state = overlayState(network);
    const plan = await this.bridge.join(asBridgeNetwork(network, state, false, network.state), endpoint, sandbox);
    return { ...plan, ...(state.mtu === undefined ? {} : { mtu: state.mtu }) };
  }

  async leave(network: DriverNetwork, endpoint: DriverEndpoint): Promise<LeavePlan> {
    this.cluster();
    return this.bridge.leave(network, endpoint);
  }

  /** The global store; SWY_ERR_GLOBAL_STORE_MISSING when this instance has none. */
  private cluster(): GlobalStore {
    return requireGlobalStore(this.globalStore, 'Overlay networks');
  }

  /** This host's record in the cluster; SWY_ERR_HOST_NOT_JOINED when no agent holds its lease. */
  private async thisHost(cluster: GlobalStore): Promise<HostRecord> {
    const host = await cluster.host();
    if (host) return host;
    throw hostNotJoined(cluster.hostName);
  }

  /** MTU of the host link that carries the underlay address. */
  private async underlayMtu(address: string): Promise<number> {
    const carrier = (await this.kernel.listAddrs(HOST_NS)).find((a) => sameAddress(stripPrefix(a.cidr), address));
    if (!carrier) return UNKNOWN_UNDERLAY_MTU;
    return (await this.kernel.listLinks(HOST_NS)).find((l) => l.name === carrier.dev)?.mtu ?? UNKNOWN_UNDERLAY_MTU;
  }
}

/** The host's underlay address in canonical form; SWY_ERR_UNDERLAY_INVALID when the agent registered something else. */
function underlayAddress(host: HostRecord): { address: string; family: 4 | 6 } {
  try {
    return parseIpAddress(host.address, 'underlay address');
  } catch (e) {
    if (!isSwitchyardError(e)) throw e;
    throw new SwitchyardError('SWY_ERR_UNDERLAY_INVALID', `Host ${host.name} is registered with underlay address ${JSON.stringify(host.address)}, which is not an IP address`, {
      hint: "Restart the host's agent with the host's underlay IP address.",
      cause: e,
    });
  }
}

function sameAddress(a: string, b: string): boolean {
  try {
    return parseIpAddress(a).address === b;
  } catch {
    return false;
  }
}

/** The VXLAN link: no learning (the agent programs where each MAC lives), ARP/ND answered from the neighbour table, a port of the bridge. */
function vxlanSteps(s: OverlayState): KernelOp[] {
  return [
    { op: 'link.add', kind: 'vxlan', name: s.vxlan, vni: s.vni, port: s.port, local: s.local, learning: false, proxy: true, mtu: s.mtu },
    { op: 'link.set', name: s.vxlan, master: s.bridge, up: true },
  ];
}

/** The state fields createNetwork recorded (a record from an interrupted create may lack some); the bridge's name is known from the id. */
function overlayState(network: DriverNetwork): Partial<OverlayState> & { bridge: string } {
  const s = network.state;
  const out: Partial<OverlayState> & { bridge: string } = { bridge: typeof s.bridge === 'string' ? s.bridge : overlayBridgeName(network.id) };
  for (const key of ['vni', 'port', 'mtu'] as const) if (typeof s[key] === 'number') out[key] = s[key];
  for (const key of ['vxlan', 'local'] as const) if (typeof s[key] === 'string') out[key] = s[key];
  return out;
}

function isComplete(s: Partial<OverlayState>): s is OverlayState {
  return s.bridge !== undefined && s.vni !== undefined && s.port !== undefined && s.vxlan !== undefined && s.mtu !== undefined && s.local !== undefined;
}

/** The network as the bridge driver sees it: its bridge options (name, MTU, masquerade) and the state it keeps. */
function asBridgeNetwork(network: DriverNetwork, at: { bridge?: string; mtu?: number }, ipMasq: boolean, state: JsonObject): DriverNetwork {
  const options = readBridgeOptions({ ...(at.bridge === undefined ? {} : { bridge: at.bridge }), ...(at.mtu === undefined ? {} : { mtu: at.mtu }), ipMasq });
  return { ...network, options: options as unknown as JsonObject, state };
}
