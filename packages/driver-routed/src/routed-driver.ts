import {
  SwitchyardError,
  hostNotJoined,
  requireGlobalStore,
  type DriverEndpoint,
  type DriverNetwork,
  type DriverSandbox,
  type EndpointPlan,
  type GlobalStore,
  type JoinPlan,
  type JsonObject,
  type Kernel,
  type LeavePlan,
  type NetworkDriver,
  type NetworkPlan,
  type StateStore,
} from '@switchyard/core';
import { BridgeDriver } from '@switchyard/driver-bridge';

/** Collection of the global store holding each host's subnet of each routed network. */
export const ROUTED_SUBNETS = 'plugin:routed.subnets';

/** One host's subnet of a routed network, as other hosts' agents read it to route there. */
export interface RoutedSubnet {
  /** The network's name (the same on every host). */
  network: string;
  /** The host holding the subnet. */
  host: string;
  /** That host's underlay address: the next hop towards the subnet. */
  hostAddress: string;
  /** The host's subnet (its block of the network's pool), CIDR. */
  subnet: string;
  /** The subnet's gateway on the host's bridge. */
  gateway?: string;
}

/** The routed driver's capability: global scopes, the host's bridge holds its subnet's gateway, the `global` IPAM handing each host one subnet. */
export const ROUTED_CAPABILITY = {
  /** The network's subnets are shared across hosts. */
  dataScope: 'global',
  /** Endpoints reach endpoints of other hosts. */
  connectivityScope: 'global',
  /** Each host's bridge carries its subnet's gateway. */
  hostGateway: true,
  /** One /24 of the network's pool per host, as flannel. */
  defaultIpam: {
    /** The `global` IPAM of `@switchyard/ipam-global`. */
    driver: 'global',
    /** Its options. */
    options: {
      /** One block of the pool per host, the subnet of the host's bridge. */
      mode: 'host-subnet',
    },
  },
} as const;

const ALLOWED = new Set(['bridge', 'mtu']);

/**
 * flannel's host-gw as a Switchyard driver: on each host a bridge carries the gateway of the host's own
 * subnet (a block of the network's pool, claimed by the `global` IPAM), endpoints are veth pairs on it
 * (the bridge driver does that part), and the host publishes its subnet in the global store so every
 * other host's agent routes it via this host's underlay address. Pods reach pods and hosts reach pods
 * without encapsulation and without NAT: no masquerade (traffic to outside the cluster keeps the pod's
 * address; put NAT at the edge).
 */
export class RoutedDriver implements NetworkDriver {
  readonly type = 'routed';
  /** Global scopes; see {@link ROUTED_CAPABILITY}. */
  readonly capability = ROUTED_CAPABILITY;
  private readonly bridge: BridgeDriver;

  constructor(
    kernel: Kernel,
    store: StateStore,
    private readonly global: GlobalStore | undefined,
  ) {
    this.bridge = new BridgeDriver(kernel, store);
  }

  validateNetworkOptions(options: JsonObject): JsonObject {
    for (const key of Object.keys(options)) {
      if (ALLOWED.has(key)) continue;
      throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `The routed driver has no option "${key}"`, {
        hint: `Its options are ${[...ALLOWED].join(', ')}. Pod traffic is never masqueraded (no NAT between pods).`,
        details: { option: key },
      });
    }
    return this.bridge.validateNetworkOptions({ ...options, ipMasq: false });
  }

  private globalStore(): GlobalStore {
    return requireGlobalStore(this.global, 'Routed networks');
  }

  async createNetwork(network: DriverNetwork): Promise<NetworkPlan> {
    const global = this.globalStore();
    const host = await global.host();
    if (!host) throw hostNotJoined(global.hostName);
    if (!network.ipv4) {
      throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `Routed network "${network.name}" has no IPv4 subnet`, { hint: 'Routed networks are IPv4 (a subnet per host).' });
    }
    const subnet: RoutedSubnet = { network: network.name, host: host.name, hostAddress: host.address, subnet: network.ipv4.subnet, ...(network.ipv4.gateway ? { gateway: network.ipv4.gateway } : {}) };
    const plan = await this.bridge.createNetwork(network);
    await global.transaction(async (tx) => tx.putLeased(ROUTED_SUBNETS, subnetId(network.name, host.name), subnet));
    return {
      ...plan,
      // The host forwards between its bridge and the underlay.
      steps: [...plan.steps, { op: 'sysctl.set', key: 'net.ipv4.ip_forward', value: '1' }],
      state: { ...plan.state, subnet: subnet.subnet },
      notes: [`host subnet ${subnet.subnet} on bridge ${typeof plan.state?.bridge === 'string' ? plan.state.bridge : '?'}, routed from other hosts via ${host.address}; no NAT`],
    };
  }

  async deleteNetwork(network: DriverNetwork): Promise<NetworkPlan> {
    const global = this.globalStore();
    await global.transaction(async (tx) => tx.delete(ROUTED_SUBNETS, subnetId(network.name, global.hostName)));
    return this.bridge.deleteNetwork(network);
  }

  restoreNetwork(network: DriverNetwork, endpoints: DriverEndpoint[]): Promise<NetworkPlan> {
    return this.bridge.restoreNetwork(network, endpoints);
  }

  endpointOfHostLink(linkName: string): string | undefined {
    return this.bridge.endpointOfHostLink(linkName);
  }

  createEndpoint(network: DriverNetwork, endpoint: DriverEndpoint): Promise<EndpointPlan> {
    return this.bridge.createEndpoint(network, endpoint);
  }

  deleteEndpoint(): Promise<void> {
    return this.bridge.deleteEndpoint();
  }

  join(network: DriverNetwork, endpoint: DriverEndpoint, sandbox: DriverSandbox): Promise<JoinPlan> {
    return this.bridge.join(network, endpoint, sandbox);
  }

  leave(network: DriverNetwork, endpoint: DriverEndpoint): Promise<LeavePlan> {
    return this.bridge.leave(network, endpoint);
  }
}

/** The id of a host's subnet document. */
export function subnetId(network: string, host: string): string {
  return `${network}@${host}`;
}
