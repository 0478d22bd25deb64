import { SwitchyardError } from '../errors/switchyard-error.js';
import type { EndpointRecord, NetworkRecord, PortBinding, SandboxRecord } from '../model/types.js';
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

interface Holder {
  sandbox: string;
  endpoint: string;
  binding: PortBinding;
}

function familyOf(binding: PortBinding): 4 | 6 | undefined {
  const ip = binding.hostIp ?? binding.allowFrom;
  if (ip === undefined) return undefined;
  return ip.includes(':') ? 6 : 4;
}

/** Two bindings claim the same host port: same protocol and port, and host addresses that overlap (no address = all of them). */
function overlaps(a: PortBinding, b: PortBinding): boolean {
  if (a.protocol !== b.protocol || a.hostPort !== b.hostPort) return false;
  const fa = familyOf(a);
  const fb = familyOf(b);
  if (fa !== undefined && fb !== undefined && fa !== fb) return false;
  return isWildcard(a.hostIp) || isWildcard(b.hostIp) || a.hostIp === b.hostIp;
}

/** No host IP, 0.0.0.0 or ::: every address (of the family, for the last two). */
function isWildcard(hostIp: string | undefined): boolean {
  return hostIp === undefined || hostIp === '0.0.0.0' || hostIp === '::';
}

/**
 * Gives each binding with host port 0 a free port from `range`, and refuses a binding whose host port
 * another endpoint (or an earlier binding of this one) already holds, naming the holder. Runs under the
 * store's `ports` lock, so two connects never pick or claim the same port.
 */
export function reserveHostPorts(bindings: PortBinding[], sandboxes: SandboxRecord[], range: readonly [number, number], self: string): PortBinding[] {
  const held: Holder[] = sandboxes.flatMap((s) => s.endpoints.flatMap((e) => e.portBindings.map((binding) => ({ sandbox: s.name, endpoint: e.name, binding }))));
  const out: PortBinding[] = [];
  for (const wanted of bindings) {
    let binding = wanted;
    if (wanted.hostPort === 0) {
      let port = range[0];
      while (port <= range[1] && held.some((h) => overlaps(h.binding, { ...wanted, hostPort: port }))) port++;
      if (port > range[1]) {
        throw new SwitchyardError('SWY_ERR_PORT_RANGE_EXHAUSTED', `No free ${wanted.protocol} host port is left in ${range[0]}-${range[1]} for container port ${wanted.containerPort}`, {
          hint: 'Give the host port explicitly, unpublish ports you no longer need, or widen the host port range.',
        });
      }
      binding = { ...wanted, hostPort: port };
    }
    const holder = held.find((h) => overlaps(h.binding, binding));
    if (holder) {
      const where = `${binding.hostIp ?? 'all addresses'}:${binding.hostPort}/${binding.protocol}`;
      const who = holder.sandbox === self && holder.endpoint === '' ? 'an earlier binding of this same request' : `sandbox "${holder.sandbox}" (endpoint ${holder.endpoint})`;
      throw new SwitchyardError('SWY_ERR_PORT_CONFLICT', `Host port ${where} is already published by ${who}`, {
        hint: 'Pick another host port, leave the host port out to get a free one, or unpublish it first (disconnect that endpoint).',
        details: { holder: holder.sandbox },
      });
    }
    held.push({ sandbox: self, endpoint: '', binding });
    out.push(binding);
  }
  return out;
}
