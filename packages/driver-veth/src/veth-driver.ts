import {
  defaultGateways,
  disableIpv6Step,
  SwitchyardError,
  readDriverOptions,
  stripPrefix,
  type DriverEndpoint,
  type DriverNetwork,
  type DriverSandbox,
  type EndpointPlan,
  type JoinPlan,
  type JsonObject,
  type KernelOp,
  type LeavePlan,
  type NetworkDriver,
  type NetworkPlan,
  type StaticRoute,
} from '@switchyard/core';

/** A veth network's options, once validated. */
export interface VethOptions {
  /** MTU of both ends of each pair, in bytes (68–65535); the kernel's default when absent. */
  mtu?: number;
  /** Give the sandbox a default route through the host end (false = reaches only the host, rkt's default-restricted). */
  defaultRoute: boolean;
  /** Masquerade traffic leaving the host (needs a firewall backend). */
  ipMasq: boolean;
  /** Drop traffic from a sandbox whose source address is not its own (needs a firewall backend). */
  antiSpoof: boolean;
}

/** Name of the host end of an endpoint's veth pair. */
export function hostVethName(endpointId: string): string {
  return `syp${endpointId.slice(0, 10)}`;
}

/** The veth driver's capability: local scopes; the host holds each network's gateway address on every host end, so a DNS responder can listen there. */
export const VETH_CAPABILITY = {
  /** Network and endpoint data is meaningful on this host only. */
  dataScope: 'local',
  /** Endpoints reach each other on this host only. */
  connectivityScope: 'local',
  /** The gateway is the host's: DNS is on by default for the driver's networks. */
  hostGateway: true,
} as const;

/**
 * Point-to-point networking (CNI ptp, rkt's default network): one veth pair per endpoint, no bridge.
 * The host end carries the gateway address as a /32 (/128) and a host route to the container's
 * address; the container reaches everything through the gateway, which is on-link without a prefix route.
 */
export class VethDriver implements NetworkDriver {
  readonly type = 'veth';
  /** Local scopes, and the host holds the gateway (so DNS is on by default). */
  readonly capability = VETH_CAPABILITY;

  validateNetworkOptions(options: JsonObject): JsonObject {
    const o = readDriverOptions(
      'veth',
      {
        mtu: { type: 'integer', min: 68, max: 65535 },
        defaultRoute: { type: 'boolean', default: true },
        ipMasq: { type: 'boolean', default: false },
        antiSpoof: { type: 'boolean', default: false },
      },
      options,
    );
    return o;
  }

  async createNetwork(network: DriverNetwork): Promise<NetworkPlan> {
    const o = network.options as unknown as VethOptions;
    const masquerade = o.ipMasq && o.defaultRoute && !network.internal;
    const notes = o.defaultRoute
      ? [masquerade ? 'IP masquerade: traffic leaving the host takes the host address' : 'no IP masquerade (ipMasq off): traffic beyond the host leaves with container addresses']
      : ['restricted: sandboxes reach only the host (no default route, no masquerade)'];
    if (!network.ipv4?.gateway && !network.ipv6?.gateway) {
      throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `veth network "${network.name}" needs a gateway address for the host end`, {
        hint: 'Leave the IPAM gateway at its default or name one.',
      });
    }
    // Each endpoint's host end is its own interface: they are declared per endpoint, at join.
    if (o.antiSpoof) notes.push('anti-spoofing: each endpoint may send only from its own addresses');
    return { steps: [], state: {}, notes, firewall: { interfaces: [], masquerade, ...(o.antiSpoof ? { antiSpoof: true } : {}) } };
  }

  async deleteNetwork(): Promise<NetworkPlan> {
    return { steps: [] };
  }

  endpointOfHostLink(linkName: string): string | undefined {
    return /^syp[0-9a-f]{10}$/.test(linkName) ? linkName.slice(3) : undefined;
  }

  async createEndpoint(): Promise<EndpointPlan> {
    return {};
  }

  async deleteEndpoint(): Promise<void> {}

  async join(network: DriverNetwork, endpoint: DriverEndpoint, sandbox: DriverSandbox): Promise<JoinPlan> {
    const o = network.options as unknown as VethOptions;
    const host = hostVethName(endpoint.id);
    const mtu = o.mtu ? { mtu: o.mtu } : {};
    const hostSteps: KernelOp[] = [{ op: 'link.add', kind: 'veth', name: host, ...mtu, peer: { name: endpoint.ifname, netns: sandbox.netns, ...mtu } }];
    const routes: StaticRoute[] = [];
    const fams = [
      { gw: network.ipv4?.gateway, addr: endpoint.ipv4, bits: 32 },
      { gw: network.ipv6?.gateway, addr: endpoint.ipv6, bits: 128 },
    ];
    for (const { gw, addr, bits } of fams) {
      if (!gw || !addr) continue;
      hostSteps.push({ op: 'addr.add', dev: host, cidr: `${gw}/${bits}`, ...(bits === 128 ? { nodad: true } : {}) });
    }
    // An IPv4-only endpoint's host end speaks no IPv6 either (as the sandbox end, which core turns off).
    const ipv6Off = endpoint.ipv6 ? undefined : disableIpv6Step(host);
    if (ipv6Off) hostSteps.push(ipv6Off);
    hostSteps.push({ op: 'link.set', name: host, up: true });
    for (const { gw, addr, bits } of fams) {
      if (!gw || !addr) continue;
      hostSteps.push({ op: 'route.add', dst: `${stripPrefix(addr)}/${bits}`, dev: host, scope: 'link' });
      // The gateway is reached on-link; without a default route it is the only thing reachable.
      routes.push({ dst: `${gw}/${bits}` });
    }
    const gateway = o.defaultRoute && !network.internal;
    return {
      hostSteps,
      srcName: endpoint.ifname,
      srcInSandbox: true,
      noPrefixRoute: true,
      staticRoutes: routes,
      ...defaultGateways(network, gateway),
      ...(o.mtu ? { mtu: o.mtu } : {}),
      firewallInterface: host,
    };
  }

  async leave(_network: DriverNetwork, endpoint: DriverEndpoint): Promise<LeavePlan> {
    // Deleting the sandbox end removes the pair, and with it the host end's address and route; retiring
    // takes the host end down with its peer, which removes its route to the sandbox's address at once.
    return { hostSteps: [], hostLinks: [hostVethName(endpoint.id)] };
  }
}
