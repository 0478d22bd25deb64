import { isAbsolute, join, resolve } from 'node:path';
import {
  SwitchyardError,
  detailValue,
  quoteValue,
  type AddressOwner,
  type AddressRequest,
  type AddressResponse,
  type IpamDriver,
  type IpamRangeConfig,
  type IpFamily,
  type JsonObject,
  type Logger,
  type PoolRequest,
  type PoolResponse,
} from '@switchyard/core';
import { cidrsOverlap, formatAddress, formatCidr, parseAddressWithOptionalPrefix, type Cidr } from './address.js';
import { RangeSetAllocator } from './allocator.js';
import { parseExcludes, pickDefaultPool } from './default-pools.js';
import { DiskAllocationStore, assertNetworkName } from './disk-store.js';
import { assertOwner } from './owner.js';
import { decodePoolId, encodePoolId, type PoolDefinition } from './pool-id.js';
import { describeRangeSet, parseRangeSet, type RangeSet } from './range.js';

/** Settings of a {@link HostLocalIpam}. */
export interface HostLocalIpamOptions {
  /** Data directory for networks that do not set the ipam option `dataDir` (the manifest uses `<stateDir>/ipam`). */
  dataDir: string;
  /** Where warnings go; default silent. */
  logger?: Logger;
  /** How long to wait for a network's lock; default 60 s. */
  lockTimeoutMs?: number;
}

/** A pool this instance handed out: for overlap checks between networks and the dual-stack set index. */
interface LivePool {
  networkId: string;
  family: IpFamily;
  subnets: Cidr[];
}

const hasAnyField = (r: IpamRangeConfig | undefined): boolean => !!r && Object.values(r).some((v) => v !== undefined);

function dataDirOption(options: JsonObject | undefined, fallback: string): string {
  const value = options?.['dataDir'];
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !isAbsolute(value)) {
    throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `ipam option dataDir ${quoteValue(value)} is not an absolute directory path.`, {
      hint: 'Give an absolute path, e.g. /var/lib/cni/networks to share addresses with CNI host-local.',
      details: { option: 'dataDir', value: detailValue(value) },
    });
  }
  return resolve(value);
}

/**
 * Switchyard's host-local IPAM (CNM's IpamDriver) on CNI host-local's on-disk format. One pool is one CNI range set
 * of one family in `<dataDir>/<network name>/`: IPv4 is set 0; IPv6 is set 1 when the network also has IPv4 (as a
 * CNI config `ranges: [[v4], [v6]]`), else set 0.
 */
export class HostLocalIpam implements IpamDriver {
  readonly name = 'host-local';
  private readonly dataDir: string;
  private readonly stores = new Map<string, DiskAllocationStore>();
  private readonly live = new Map<string, LivePool>();

  constructor(private readonly options: HostLocalIpamOptions) {
    this.dataDir = resolve(options.dataDir);
  }

  private storeFor(dataDir: string, network: string): DiskAllocationStore {
    const key = join(dataDir, network);
    let store = this.stores.get(key);
    if (!store) {
      store = new DiskAllocationStore({ dataDir, network, ...(this.options.logger ? { logger: this.options.logger } : {}), ...(this.options.lockTimeoutMs === undefined ? {} : { lockTimeoutMs: this.options.lockTimeoutMs }) });
      this.stores.set(key, store);
    }
    return store;
  }

  private open(poolId: string): { allocator: RangeSetAllocator; store: DiskAllocationStore; definition: PoolDefinition } {
    const { definition, set } = decodePoolId(poolId);
    const store = this.storeFor(definition.dataDir, definition.network);
    return { store, definition, allocator: new RangeSetAllocator(set, definition.setIndex, store, `pool ${formatCidr(set.ranges[0]!.subnet)} of network ${definition.network}`) };
  }

  private rangeSetFor(request: PoolRequest): RangeSet {
    const family = request.family;
    const label = family === 4 ? 'ipv4' : 'ipv6';
    const others = [...this.live.values()].filter((p) => p.networkId !== request.networkId && p.family === family).flatMap((p) => p.subnets);
    const exclude = parseExcludes(request.exclude ?? [], family);
    const ranges: unknown = request.ranges ?? [];
    if (!Array.isArray(ranges)) {
      throw new SwitchyardError('SWY_ERR_RANGE_INVALID', `The ranges of an IPv${family} pool request must be a list, not ${quoteValue(ranges)}.`, {
        hint: 'Pass ranges as a list of {subnet, gateway?, rangeStart?, rangeEnd?, ipRange?}, or an empty list for a default pool.',
      });
    }
    const given = (ranges as IpamRangeConfig[]).filter(hasAnyField);
    if (given.length === 0) return parseRangeSet([{ subnet: formatCidr(pickDefaultPool(family, [...exclude, ...others])) }], label);

    const set = parseRangeSet(given, label);
    if (set.family !== family) {
      throw new SwitchyardError('SWY_ERR_RANGE_INVALID', `An IPv${family} pool was requested, but its ranges are IPv${set.family} (${formatCidr(set.ranges[0]!.subnet)}).`, {
        hint: `Put IPv${set.family} subnets under ipam.ipv${set.family}, and IPv${family} ones under ipam.ipv${family}.`,
      });
    }
    // A range the gateways fill (rangeStart = rangeEnd = gateway) would fail every endpoint with "pool exhausted".
    const gateways = new Set(set.ranges.map((r) => r.gateway));
    if (!set.ranges.some((r) => r.end - r.start + 1n > BigInt([...gateways].filter((g) => g >= r.start && g <= r.end).length))) {
      throw new SwitchyardError('SWY_ERR_RANGE_INVALID', `The ${label} ranges ${describeRangeSet(set)} hold no address besides the gateway.`, {
        hint: 'Widen rangeStart-rangeEnd (or ipRange), or move the gateway out of the range.',
        details: { ranges: describeRangeSet(set) },
      });
    }
    for (const range of set.ranges) {
      const taken = exclude.find((e) => cidrsOverlap(e, range.subnet)) ?? others.find((o) => cidrsOverlap(o, range.subnet));
      if (taken) {
        throw new SwitchyardError('SWY_ERR_POOL_OVERLAP', `Subnet ${formatCidr(range.subnet)} overlaps ${formatCidr(taken)}, which a host route, host address or another network already uses.`, {
          hint: `Pick a subnet outside ${formatCidr(taken)}, or leave the subnet out to get a free default pool.`,
          details: { subnet: formatCidr(range.subnet), overlaps: formatCidr(taken) },
        });
      }
    }
    return set;
  }

  /** Reserves a pool: the given ranges (checked against `exclude`) or the first free default pool. */
  async requestPool(request: PoolRequest): Promise<PoolResponse> {
    assertNetworkName(request.networkName);
    if (request.family !== 4 && request.family !== 6) {
      throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `Address family ${quoteValue(request.family)} is neither 4 nor 6.`, { hint: 'Request a pool with family 4 or 6.' });
    }
    const dataDir = dataDirOption(request.options, this.dataDir);
    const set = this.rangeSetFor(request);
    const hasV4 = [...this.live.values()].some((p) => p.networkId === request.networkId && p.family === 4);
    const setIndex = request.family === 6 && hasV4 ? 1 : 0;
    const poolId = encodePoolId(request.networkName, dataDir, setIndex, set, request.networkId);
    // Creates the directories now, so an unusable data directory fails the network create, not its first endpoint.
    await this.storeFor(dataDir, request.networkName).locked(async () => undefined);
    this.live.set(poolId, { networkId: request.networkId, family: request.family, subnets: set.ranges.map((r) => r.subnet) });
    const first = set.ranges[0]!;
    return { poolId, subnet: formatCidr(first.subnet), gateway: formatAddress(first.family, first.gateway) };
  }

  /** Removes the pool's address files (only those in its ranges) and its last_reserved file; idempotent. */
  async releasePool(poolId: string): Promise<void> {
    const { allocator, store, definition } = this.open(poolId);
    await store.locked(async () => {
      // Only what the network reserved for itself: in a dataDir shared with CNI's host-local, the other
      // files are other owners' allocations. (Pool ids from before networkId was recorded release the range.)
      await allocator.releaseAll(definition.networkId);
      await store.tidyIndex();
    });
    this.live.delete(poolId);
  }

  async requestAddress(request: AddressRequest): Promise<AddressResponse> {
    assertOwner(request.owner);
    if (request.address !== undefined) parseAddressWithOptionalPrefix(request.address, 'requested address');
    const { allocator, store } = this.open(request.poolId);
    const allocation = await store.locked(() => allocator.allocate(request.owner, request.address, request.newOwner === true));
    return { address: allocation.cidr, gateway: allocation.gateway };
  }

  async releaseAddress(poolId: string, address: string): Promise<void> {
    parseAddressWithOptionalPrefix(address, 'address');
    const { allocator, store } = this.open(poolId);
    await store.locked(() => allocator.releaseAddress(address));
  }

  async releaseOwner(poolId: string, owner: AddressOwner): Promise<void> {
    assertOwner(owner);
    const { allocator, store } = this.open(poolId);
    await store.locked(() => allocator.releaseOwner(owner));
  }
}
