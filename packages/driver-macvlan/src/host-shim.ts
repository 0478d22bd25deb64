import { SwitchyardError, cidrContains, parseCidr, type DriverNetwork, type KernelOp } from '@switchyard/core';

/**
 * The host shim: the kernel never passes frames between a macvlan master and its own macvlan
 * sub-interfaces, so the host cannot reach its sandboxes through the master. A bridge-mode macvlan
 * on the same master, holding an address of the network and a route to the network's subnet, gives
 * the host a sibling interface that can.
 */

/** One address of the host shim. */
export interface ShimAddress {
  /** Address family. */
  family: 4 | 6;
  /** Address without prefix. */
  address: string;
  /** The network's subnet, routed through the shim. */
  subnet: string;
}

/** The host's own macvlan on the master, through which the host reaches the network's sandboxes. */
export interface HostShim {
  /** The shim's interface name (see {@link shimName}). */
  name: string;
  /** Its addresses, one per family the network has. */
  addresses: ShimAddress[];
}

/** The shim's interface name: `mvshim` + the first 8 hex digits of the network id. */
export function shimName(networkId: string): string {
  return `mvshim${networkId.slice(0, 8)}`;
}

/** The highest address of a subnet that a host may hold (IPv4 skips the broadcast address). */
export function lastHostAddress(subnet: string): string | undefined {
  const p = parseCidr(subnet);
  const bits = p.family === 4 ? 32 : 128;
  const hostBits = bits - p.prefix;
  if (p.family === 4 ? hostBits < 2 : hostBits < 1) return undefined;
  const last = toBigInt(p.network, p.family) + (1n << BigInt(hostBits)) - (p.family === 4 ? 2n : 1n);
  return fromBigInt(last, p.family);
}

function toBigInt(address: string, family: 4 | 6): bigint {
  if (family === 4) return address.split('.').reduce((n, part) => (n << 8n) + BigInt(Number(part)), 0n);
  const [head = '', tail = ''] = address.includes('::') ? address.split('::') : [address, ''];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.reduce((n, g) => (n << 16n) + BigInt(parseInt(g, 16)), 0n);
}

function fromBigInt(n: bigint, family: 4 | 6): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 255n)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => ((n >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
  return parseCidr(`${groups.join(':')}/128`).address; // canonical (compressed) form
}

/**
 * Picks and checks the shim's addresses: the given ones, or the highest host address of each subnet;
 * with `asGateway`, each subnet's gateway address (the host routes, and masquerades, for the sandboxes).
 */
export function shimAddresses(network: DriverNetwork, wanted: { ipv4?: string | undefined; ipv6?: string | undefined }, asGateway = false): ShimAddress[] {
  const out: ShimAddress[] = [];
  for (const [family, pool, given, option] of [
    [4, network.ipv4, wanted.ipv4, 'shimAddress'],
    [6, network.ipv6, wanted.ipv6, 'shimAddress6'],
  ] as const) {
    if (!pool) {
      if (given !== undefined) {
        throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `The macvlan option ${option} was given, but network "${network.name}" has no IPv${family}`, {
          hint: `Leave ${option} out, or enable IPv${family} on the network.`,
        });
      }
      continue;
    }
    if (asGateway) {
      if (!pool.gateway) {
        throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `ipMasq makes the host the gateway of network "${network.name}", and its IPv${family} subnet ${pool.subnet} has no gateway`, {
          hint: 'Give the subnet a gateway address (ipam gateway), or leave ipMasq off.',
        });
      }
      out.push({ family, address: parseCidr(`${pool.gateway}/${family === 4 ? 32 : 128}`).address, subnet: pool.subnet });
      continue;
    }
    const address = given ?? lastHostAddress(pool.subnet);
    const reserved = [pool.gateway, parseCidr(pool.subnet).network];
    if (address === undefined || !cidrContains(pool.subnet, address) || reserved.includes(address)) {
      throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `The host shim needs an address inside ${pool.subnet} other than its network and gateway address${address ? `, and ${address} is not one` : ''}`, {
        hint: `Give ${option} a free address of ${pool.subnet}, outside the range sandboxes get theirs from.`,
        details: { subnet: pool.subnet, address },
      });
    }
    out.push({ family, address: parseCidr(`${address}/${family === 4 ? 32 : 128}`).address, subnet: pool.subnet });
  }
  return out;
}

/** The shim's creation: a bridge-mode macvlan on the master with host-only addresses. */
export function planHostShim(shim: HostShim, master: string): KernelOp[] {
  const steps: KernelOp[] = [{ op: 'link.add', kind: 'macvlan', name: shim.name, parent: master, mode: 'bridge' }];
  // Host-length addresses add no prefix route that could clash with the master's own route to the subnet.
  for (const a of shim.addresses) steps.push({ op: 'addr.add', dev: shim.name, cidr: `${a.address}/${a.family === 4 ? 32 : 128}`, ...(a.family === 6 ? { nodad: true } : {}) });
  steps.push({ op: 'link.set', name: shim.name, up: true });
  return steps;
}

/**
 * A host route to one sandbox address through the shim. Per endpoint, not per subnet: when the
 * master already has an address in the subnet, the host has a route to the whole subnet through the
 * master, and only a more specific route sends the sandboxes' traffic through the shim instead.
 */
export function shimRouteSteps(shim: HostShim, endpointAddresses: Array<string | undefined>, op: 'route.add' | 'route.del'): KernelOp[] {
  const steps: KernelOp[] = [];
  for (const a of shim.addresses) {
    const mine = endpointAddresses.find((e) => e !== undefined && (a.family === 6) === e.includes(':'));
    if (!mine) continue;
    const dst = `${mine.split('/')[0]}/${a.family === 4 ? 32 : 128}`;
    steps.push(op === 'route.add' ? { op, dst, dev: shim.name, src: a.address, scope: 'link', family: a.family } : { op, dst, dev: shim.name, family: a.family, ifExists: true });
  }
  return steps;
}
