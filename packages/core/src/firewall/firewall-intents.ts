import { SwitchyardError } from '../errors/switchyard-error.js';
import type { EndpointRecord, NetworkRecord, SandboxRecord } from '../model/types.js';
import type { Firewall, FirewallEndpoint, FirewallNetwork, FirewallState } from '../spi/firewall.js';
import type { KernelOp } from '../spi/kernel.js';
import { stripPrefix } from '../util/addresses.js';

/** The firewall's view of a network, from its record (what the driver declared at creation). */
export function firewallNetwork(network: NetworkRecord): FirewallNetwork {
  return {
    id: network.id,
    name: network.name,
    interfaces: network.firewall?.interfaces ?? [],
    subnets: [network.ipv4?.subnet, network.ipv6?.subnet].filter((s): s is string => s !== undefined),
    masquerade: network.firewall?.masquerade === true && !network.internal,
    internal: network.internal,
    antiSpoof: network.firewall?.antiSpoof === true,
  };
}

/** The firewall's view of an endpoint, from its record: own host interface, bridge port, MAC, bare addresses and published ports. */
export function firewallEndpoint(endpoint: EndpointRecord): FirewallEndpoint {
  return {
    id: endpoint.id,
    name: endpoint.name,
    networkId: endpoint.networkId,
    interfaces: endpoint.hostInterface ? [endpoint.hostInterface] : [],
    ...(endpoint.bridgePort ? { bridgePort: endpoint.bridgePort } : {}),
    ...(endpoint.mac ? { mac: endpoint.mac } : {}),
    ...(endpoint.ipv4 ? { ipv4: stripPrefix(endpoint.ipv4) } : {}),
    ...(endpoint.ipv6 ? { ipv6: stripPrefix(endpoint.ipv6) } : {}),
    ports: endpoint.portBindings.map((b) => ({
      protocol: b.protocol,
      hostPort: b.hostPort,
      containerPort: b.containerPort,
      ...(b.hostIp ? { hostIp: b.hostIp } : {}),
      ...(b.allowFrom ? { allowFrom: b.allowFrom } : {}),
    })),
  };
}

/** An endpoint the firewall has something for. */
export function endpointNeedsFirewall(endpoint: EndpointRecord): boolean {
  return endpoint.portBindings.length > 0 || endpoint.hostInterface !== undefined || endpoint.bridgePort !== undefined;
}

/** Everything the firewall should hold, derived from the store's records: what reload and restore install. */
export function firewallState(networks: NetworkRecord[], sandboxes: SandboxRecord[]): FirewallState {
  const ids = new Set(networks.map((n) => n.id));
  return {
    networks: networks.map(firewallNetwork),
    endpoints: sandboxes.flatMap((s) => s.endpoints.filter((e) => ids.has(e.networkId) && endpointNeedsFirewall(e)).map(firewallEndpoint)),
  };
}

/** Refuses what only a firewall can do when this Switchyard has none, before anything changes. */
export function assertFirewallFor(firewall: Firewall, what: string): void {
  if (firewall.available) return;
  throw new SwitchyardError('SWY_ERR_FIREWALL_UNAVAILABLE', `${what} needs a firewall backend, and this host has none (nftables is not installed or not usable)`, {
    hint: 'Install nftables (apt-get install nftables) and check `switchyard doctor`; or go without masquerade and published ports.',
  });
}

/**
 * The sysctls a network with external connectivity needs: forwarding for its families, and
 * route_localnet on its interfaces so that localhost can reach published ports. Forwarding is
 * turned on when the first such network appears and left on (as Docker and netavark do): the
 * firewall's forward chain keeps networks isolated from each other either way.
 */
export function forwardingSteps(network: FirewallNetwork): KernelOp[] {
  if (network.internal) return [];
  const steps: KernelOp[] = [];
  if (network.subnets.some((s) => !s.includes(':'))) {
    steps.push({ op: 'sysctl.set', key: 'net.ipv4.ip_forward', value: '1' });
    for (const dev of network.interfaces) steps.push({ op: 'sysctl.set', key: `net.ipv4.conf.${dev}.route_localnet`, value: '1' });
  }
  if (network.subnets.some((s) => s.includes(':'))) steps.push({ op: 'sysctl.set', key: 'net.ipv6.conf.all.forwarding', value: '1' });
  return steps;
}

/** The host port range automatic host ports come from (IANA's dynamic ports), unless configured. */
export const DEFAULT_HOST_PORT_RANGE: readonly [number, number] = [49152, 65535];
