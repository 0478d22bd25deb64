import { Address4, Address6 } from 'ip-address';
import { SwitchyardError } from '../errors/switchyard-error.js';
import { defineIpam, type IpamManifest } from '../registry/plugin.js';
import type { AddressOwner, AddressRequest, AddressResponse, IpamDriver, PoolRequest, PoolResponse } from '../spi/ipam-driver.js';
import { cidrContains } from '../kernel/names.js';
import { cidrsOverlap, networkOf, stripPrefix } from '../util/addresses.js';

interface Pool {
  subnet: string;
  prefix: number;
  family: 4 | 6;
  base: bigint;
  size: bigint;
  gateway: string | undefined;
  taken: Map<string, string>; // address -> owner key
}

/**
 * An in-memory IPAM for unit tests and the conformance suite: sequential allocation from the
 * requested subnet (or 10.213.N.0/24 / fd00:213:N::/64 when none is given).
 */
export class MemoryIpam implements IpamDriver {
  constructor(readonly name = 'host-local') {}
  private readonly pools = new Map<string, Pool>();

  async requestPool(req: PoolRequest): Promise<PoolResponse> {
    // Canonical, as host-local returns it (fd00::/64, not FD00:0::/64).
    const subnet = networkOf(req.ranges[0]?.subnet || this.freeDefaultPool(req));
    const a = req.family === 4 ? new Address4(subnet) : new Address6(subnet);
    const base = a.startAddress().bigInt();
    const size = a.endAddress().bigInt() - base + 1n;
    const overlapping = req.exclude.find((c) => cidrsOverlap(c, subnet));
    if (overlapping) throw new SwitchyardError('SWY_ERR_POOL_OVERLAP', `${subnet} overlaps ${overlapping}`, { hint: 'Pick another subnet.' });
    // The first address, when the subnet has one after its network address (a /32 or /128 has none).
    const gateway = req.ranges[0]?.gateway ?? (size > 1n ? this.toText(req.family, base + 1n) : undefined);
    const poolId = `mem:${req.networkName}:${req.family}`;
    this.pools.set(poolId, { subnet, prefix: a.subnetMask, family: req.family, base, size, gateway, taken: new Map() });
    return { poolId, subnet, ...(gateway === undefined ? {} : { gateway }) };
  }

  async releasePool(poolId: string): Promise<void> {
    this.pools.delete(poolId);
  }

  async requestAddress(req: AddressRequest): Promise<AddressResponse> {
    const pool = this.pool(req.poolId);
    const key = `${req.owner.id}/${req.owner.ifname}`;
    for (const [addr, owner] of pool.taken) if (owner === key) return { address: `${addr}/${pool.prefix}`, gateway: pool.gateway };
    if (req.address) {
      // As host-local: an address outside the pool's subnet is refused, not handed out with the pool's prefix.
      if (!cidrContains(pool.subnet, req.address)) {
        throw new SwitchyardError('SWY_ERR_ADDRESS_OUT_OF_RANGE', `${req.address} is not in ${pool.subnet}`, { hint: `Ask for an address inside ${pool.subnet}.` });
      }
      if (pool.taken.has(req.address) || req.address === pool.gateway) {
        throw new SwitchyardError('SWY_ERR_ADDRESS_IN_USE', `${req.address} is already in use`, { hint: 'Pick another address.' });
      }
      pool.taken.set(req.address, key);
      return { address: `${req.address}/${pool.prefix}`, gateway: pool.gateway };
    }
    const last = pool.family === 4 ? pool.size - 1n : pool.size;
    for (let i = 2n; i < last; i++) {
      const addr = this.toText(pool.family, pool.base + i);
      if (!pool.taken.has(addr)) {
        pool.taken.set(addr, key);
        return { address: `${addr}/${pool.prefix}`, gateway: pool.gateway };
      }
    }
    throw new SwitchyardError('SWY_ERR_POOL_EXHAUSTED', `No free address left in ${pool.subnet}`, { hint: 'Use a larger subnet.' });
  }

  async releaseAddress(poolId: string, address: string): Promise<void> {
    this.pools.get(poolId)?.taken.delete(stripPrefix(address));
  }

  async releaseOwner(poolId: string, owner: AddressOwner): Promise<void> {
    const pool = this.pools.get(poolId);
    if (!pool) return;
    for (const [addr, key] of pool.taken) if (key === `${owner.id}/${owner.ifname}`) pool.taken.delete(addr);
  }

  /** Addresses currently handed out, for leak assertions. */
  allocated(): string[] {
    return [...this.pools.values()].flatMap((p) => [...p.taken.keys()]);
  }

  /** How many pools are currently reserved (leak checks in tests). */
  poolCount(): number {
    return this.pools.size;
  }

  /** The first of 10.213.N.0/24 (fd00:213:N::/64) that overlaps neither `exclude` nor a pool handed out. */
  private freeDefaultPool(req: PoolRequest): string {
    const taken = [...req.exclude, ...[...this.pools.values()].map((p) => p.subnet)];
    for (let n = 0; n < 256; n++) {
      const candidate = req.family === 4 ? `10.213.${n}.0/24` : `fd00:213:${n.toString(16)}::/64`;
      if (!taken.some((c) => cidrsOverlap(c, candidate))) return candidate;
    }
    throw new SwitchyardError('SWY_ERR_NO_FREE_POOL', `No free default IPv${req.family} pool left`, { hint: 'Give the network a subnet, or remove networks that are no longer used.' });
  }

  private pool(poolId: string): Pool {
    const pool = this.pools.get(poolId);
    if (!pool) throw new SwitchyardError('SWY_ERR_POOL_NOT_FOUND', `No pool ${poolId}`, { hint: 'Create the network first.' });
    return pool;
  }

  private toText(family: 4 | 6, n: bigint): string {
    return family === 4 ? Address4.fromBigInt(n).correctForm() : Address6.fromBigInt(n).correctForm();
  }
}

/** A manifest that registers one shared MemoryIpam instance under its name (`host-local` by default). */
export function memoryIpamManifest(ipam = new MemoryIpam()): IpamManifest {
  return defineIpam({ apiVersion: 1, name: ipam.name, version: '0.0.0', create: () => ipam });
}
