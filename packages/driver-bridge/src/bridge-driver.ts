import {
  defaultGateways,
  disableIpv6Step,
  HOST_NS,
  macFromId,
  SwitchyardError,
  prefixLength,
  type DriverEndpoint,
  type DriverNetwork,
  type DriverSandbox,
  type EndpointPlan,
  type JoinPlan,
  type JsonObject,
  type Kernel,
  type KernelOp,
  type LeavePlan,
  type NetworkDriver,
  type NetworkPlan,
  type NetworkRecord,
  type StateStore,
} from '@switchyard/core';
import { readBridgeOptions, type BridgeOptions } from './options.js';

/** Name of the host end of an endpoint's veth pair. */
export function hostVethName(endpointId: string): string {
  return `syb${endpointId.slice(0, 10)}`;
}

/**
 * A new bridge with a MAC address of its own, set after creation (as libnetwork does). Left to itself a
 * Linux bridge takes the lowest MAC of its ports and changes it when that port leaves: every sandbox's
 * ARP entry for the gateway then points nowhere, and traffic to the gateway (its DNS responder, the
 * default route) stops for the seconds neighbour discovery takes to notice. Derived from the network
 * id, locally administered: the same after a restore.
 */
function newBridge(name: string, networkId: string, mtu: number | undefined): KernelOp[] {
  const mac = macFromId(networkId);
  return [
    { op: 'link.add', kind: 'bridge', name, ...(mtu ? { mtu } : {}) },
    { op: 'link.set', name, mac },
  ];
}

/** The bridge driver's capability: local scopes; the host holds each network's gateway address on the bridge, so a DNS responder can listen there. */
export const BRIDGE_CAPABILITY = {
  /** Network and endpoint data is meaningful on this host only. */
  dataScope: 'local',
  /** Endpoints reach each other on this host only. */
  connectivityScope: 'local',
  /** The gateway is the host's: DNS is on by default for the driver's networks. */
  hostGateway: true,
} as const;

/**
 * A Linux bridge per network, a veth pair per endpoint: the host end is a bridge port, the peer is
 * created straight inside the sandbox under its final name (no move, no rename: one host batch).
 */
export class BridgeDriver implements NetworkDriver {
  readonly type = 'bridge';
  /** Local scopes, and the host holds the gateway (so DNS is on by default). */
  readonly capability = BRIDGE_CAPABILITY;

  constructor(
    private readonly kernel: Kernel,
    private readonly store: StateStore,
  ) {}

  validateNetworkOptions(options: JsonObject): JsonObject {
    const o = readBridgeOptions(options);
    return o as unknown as JsonObject;
  }

  async createNetwork(network: DriverNetwork): Promise<NetworkPlan> {
    const o = options(network);
    const name = bridgeName(network);
    // As libnetwork: two networks on one bridge would tear each other down.
    const holder = (await this.store.list<NetworkRecord>('networks')).find((n) => n.driver === 'bridge' && n.driverState.bridge === name);
    if (holder) {
      throw new SwitchyardError('SWY_ERR_LINK_EXISTS', `Bridge ${name} already belongs to network "${holder.name}"`, {
        hint: 'Give this network another bridge name with the "bridge" option, or connect to the existing network.',
      });
    }
    const existing = (await this.kernel.listLinks(HOST_NS)).find((l) => l.name === name);
    if (existing && existing.kind !== 'bridge') {
      throw new SwitchyardError('SWY_ERR_LINK_EXISTS', `A ${existing.kind ?? 'non-bridge'} link named ${name} already exists on the host`, {
        hint: 'Choose another bridge name with the "bridge" option.',
      });
    }
    const steps: KernelOp[] = [];
    if (!existing) steps.push(...newBridge(name, network.id, o.mtu));
    const added: string[] = [];
    if (o.isGateway) {
      const present = existing ? new Set((await this.kernel.listAddrs(HOST_NS)).filter((a) => a.dev === name).map((a) => a.cidr)) : new Set<string>();
      for (const fam of [network.ipv4, network.ipv6]) {
        if (!fam?.gateway) continue;
        const cidr = `${fam.gateway}/${prefixLength(fam.subnet)}`;
        if (present.has(cidr)) continue;
        steps.push({ op: 'addr.add', dev: name, cidr, ...(cidr.includes(':') ? { nodad: true } : {}) });
        added.push(cidr);
      }
    }
    steps.push({ op: 'link.set', name, up: true, ...(o.promiscMode ? { promisc: true } : {}) });
    const masquerade = o.ipMasq && !network.internal;
    const notes = [masquerade ? `bridge ${name}: IP masquerade; traffic leaving the host takes the host address` : `bridge ${name}: no IP masquerade (ipMasq off); traffic leaves with container addresses`];
    if (o.antiSpoof) notes.push('anti-spoofing: each endpoint may send only from its own MAC and addresses');
    return {
      steps,
      state: { bridge: name, created: !existing, addresses: added },
      notes,
      // Without isGateway the host holds no address on the bridge: no DNS responder can listen there.
      ...(o.isGateway ? {} : { hostGateway: false }),
      firewall: { interfaces: [name], masquerade, ...(o.antiSpoof ? { antiSpoof: true } : {}) },
    };
  }

  async deleteNetwork(network: DriverNetwork): Promise<NetworkPlan> {
    const name = bridgeOf(network);
    if (network.state.created === true) return { steps: [{ op: 'link.del', name, ifExists: true }] };
    // A bridge we did not create stays; only the addresses we put on it go.
    const addrs = Array.isArray(network.state.addresses) ? network.state.addresses.map(String) : [];
    return { steps: addrs.map((cidr) => ({ op: 'addr.del', dev: name, cidr })) };
  }

  async restoreNetwork(network: DriverNetwork, endpoints: DriverEndpoint[]): Promise<NetworkPlan> {
    const o = options(network);
    const name = bridgeOf(network);
    const links = new Map((await this.kernel.listLinks(HOST_NS)).map((l) => [l.name, l]));
    const bridge = links.get(name);
    const steps: KernelOp[] = [];
    const notes: string[] = [];
    if (!bridge) {
      notes.push(`bridge ${name} is missing`);
      steps.push(...newBridge(name, network.id, o.mtu));
    }
    if (o.isGateway) {
      const present = bridge ? new Set((await this.kernel.listAddrs(HOST_NS)).filter((a) => a.dev === name).map((a) => a.cidr)) : new Set<string>();
      for (const fam of [network.ipv4, network.ipv6]) {
        if (!fam?.gateway) continue;
        const cidr = `${fam.gateway}/${prefixLength(fam.subnet)}`;
        if (present.has(cidr)) continue;
        if (bridge) notes.push(`gateway address ${cidr} is missing from bridge ${name}`);
        steps.push({ op: 'addr.add', dev: name, cidr, ...(cidr.includes(':') ? { nodad: true } : {}) });
      }
    }
    if (!bridge || !bridge.up) {
      if (bridge) notes.push(`bridge ${name} is down`);
      steps.push({ op: 'link.set', name, up: true, ...(o.promiscMode ? { promisc: true } : {}) });
    }
    // Host ends that outlived their bridge (it was deleted under running sandboxes) go back on it.
    for (const endpoint of endpoints) {
      const host = links.get(hostVethName(endpoint.id));
      if (!host || (bridge && host.master === name)) continue;
      notes.push(`${host.name} is not attached to bridge ${name}`);
      steps.push({ op: 'link.set', name: host.name, master: name, up: true });
      if (o.hairpinMode || o.isolate) steps.push({ op: 'bridge.port', name: host.name, ...(o.hairpinMode ? { hairpin: true } : {}), ...(o.isolate ? { isolated: true } : {}) });
    }
    return { steps, notes };
  }

  endpointOfHostLink(linkName: string): string | undefined {
    return /^syb[0-9a-f]{10}$/.test(linkName) ? linkName.slice(3) : undefined;
  }

  async createEndpoint(network: DriverNetwork, endpoint: DriverEndpoint): Promise<EndpointPlan> {
    // Anti-spoofing pins the endpoint's MAC: choose one now (stable for the endpoint) unless the user did.
    return options(network).antiSpoof && !endpoint.mac ? { mac: macFromId(endpoint.id) } : {};
  }

  async deleteEndpoint(): Promise<void> {}

  async join(network: DriverNetwork, endpoint: DriverEndpoint, sandbox: DriverSandbox): Promise<JoinPlan> {
    const o = options(network);
    const host = hostVethName(endpoint.id);
    const mtu = o.mtu ? { mtu: o.mtu } : {};
    const hostSteps: KernelOp[] = [
      { op: 'link.add', kind: 'veth', name: host, ...mtu, peer: { name: endpoint.ifname, netns: sandbox.netns, ...mtu } },
      // A bridge port needs no IPv6 of its own (the bridge carries the gateway): off before it comes up,
      // so a new port sends nothing every other port has to process.
      ...[disableIpv6Step(host)].filter((s): s is KernelOp => s !== undefined),
      { op: 'link.set', name: host, master: bridgeOf(network), up: true },
    ];
    if (o.hairpinMode || o.isolate) hostSteps.push({ op: 'bridge.port', name: host, ...(o.hairpinMode ? { hairpin: true } : {}), ...(o.isolate ? { isolated: true } : {}) });
    const gateway = o.isDefaultGateway && !network.internal;
    return {
      hostSteps,
      srcName: endpoint.ifname,
      srcInSandbox: true,
      ...defaultGateways(network, gateway),
      ...(o.antiSpoof ? { bridgePort: host } : {}),
    };
  }

  async leave(_network: DriverNetwork, endpoint: DriverEndpoint): Promise<LeavePlan> {
    // Deleting the sandbox end removes the whole veth pair; the host end is named so core can retire it with its peer.
    return { hostSteps: [], hostLinks: [hostVethName(endpoint.id)] };
  }
}

function options(network: DriverNetwork): BridgeOptions {
  return network.options as unknown as BridgeOptions;
}

function bridgeName(network: DriverNetwork): string {
  return options(network).bridge ?? `swy${network.id.slice(0, 8)}`;
}

/** The bridge createNetwork recorded in the network's state, else the one its options name. */
function bridgeOf(network: DriverNetwork): string {
  return typeof network.state.bridge === 'string' ? network.state.bridge : bridgeName(network);
}
