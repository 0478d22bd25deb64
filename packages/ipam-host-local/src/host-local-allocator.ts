import { isAbsolute } from 'node:path';
import { SwitchyardError, type AddressOwner, type IpFamily, type IpamRangeConfig, type Logger } from '@switchyard/core';
import { formatAddress, parseAddressWithOptionalPrefix, tryParseAddress } from './address.js';
import { RangeSetAllocator, type Allocation } from './allocator.js';
import { CNI_DATA_DIR, DiskAllocationStore, assertNetworkName } from './disk-store.js';
import { assertOwner } from './owner.js';
import { assertSetsDisjoint, parseRangeSet, rangeHolding, type RangeSet } from './range.js';

/** The `ipam` object of a CNI host-local network config (plus Switchyard's `ipRange`). */
export interface CniHostLocalIpamConfig {
  /** The IPAM plugin's type (`host-local`); not checked here. */
  type?: string;
  /** Range sets: the owner gets one address from each. */
  ranges?: IpamRangeConfig[][];
  /** Legacy single range, used as set 0 (before `ranges`). */
  subnet?: string;
  /** Legacy: first address to hand out from `subnet`. */
  rangeStart?: string;
  /** Legacy: last address to hand out from `subnet`. */
  rangeEnd?: string;
  /** Legacy: gateway of `subnet`; default its first address. */
  gateway?: string;
  /** Default `/var/lib/cni/networks`. */
  dataDir?: string;
  [key: string]: unknown;
}

/** A CNI network configuration as host-local reads it: the network name and the `ipam` section. */
export interface CniHostLocalConfig {
  /** The CNI network name: the data directory's sub-directory. */
  name: string;
  /** The host-local IPAM section. */
  ipam: CniHostLocalIpamConfig;
  [key: string]: unknown;
}

/** Settings of a {@link HostLocalAllocator}. */
export interface HostLocalAllocatorOptions {
  /** Data directory when the config names none; default CNI's `/var/lib/cni/networks`. */
  defaultDataDir?: string;
  /** Where warnings go; default silent. */
  logger?: Logger;
  /** How long to wait for the network's lock, in milliseconds; default 60 000. */
  lockTimeoutMs?: number;
}

/** One address per range set, as a CNI result lists them. */
export interface SetAllocation extends Allocation {
  /** Index of the range set the address came from. */
  setIndex: number;
  /** Address family of the set. */
  family: IpFamily;
}

function configError(message: string, hint: string): SwitchyardError {
  return new SwitchyardError('SWY_ERR_RANGE_INVALID', message, { hint });
}

/** Range sets of a host-local config: legacy `subnet…` first (as CNI prepends it), then `ranges`. */
function rangeSetsOf(ipam: CniHostLocalIpamConfig): IpamRangeConfig[][] {
  const sets: IpamRangeConfig[][] = [];
  if (ipam.subnet !== undefined) {
    const { subnet, rangeStart, rangeEnd, gateway } = ipam;
    sets.push([{ subnet, ...(rangeStart === undefined ? {} : { rangeStart }), ...(rangeEnd === undefined ? {} : { rangeEnd }), ...(gateway === undefined ? {} : { gateway }) }]);
  }
  if (ipam.ranges !== undefined) {
    if (!Array.isArray(ipam.ranges) || !ipam.ranges.every(Array.isArray)) {
      throw configError('ipam.ranges must be an array of range sets, each an array of ranges.', 'Write ranges as [[{"subnet": "10.1.0.0/24"}], [{"subnet": "fd00:1::/64"}]].');
    }
    sets.push(...ipam.ranges);
  }
  if (sets.length === 0) throw configError('The host-local config names no IP range.', 'Add "ranges": [[{"subnet": "10.1.0.0/24"}]] (or a top-level "subnet") to ipam.');
  return sets;
}

/**
 * CNI host-local over Switchyard's allocator and disk store: the same config, the same files, one address per
 * range set and owner. The CNI entry point and the benchmark use it; HostLocalIpam shares its parts.
 */
export class HostLocalAllocator {
  /** The on-disk store of the network's allocations. */
  readonly store: DiskAllocationStore;
  private readonly allocators: RangeSetAllocator[];

  constructor(
    /** The CNI network name. */
    readonly network: string,
    /** The data directory. */
    readonly dataDir: string,
    /** The range sets, in order: one address is allocated from each. */
    readonly sets: RangeSet[],
    options: Omit<HostLocalAllocatorOptions, 'defaultDataDir'> = {},
  ) {
    assertNetworkName(network);
    assertSetsDisjoint(sets);
    this.store = new DiskAllocationStore({ dataDir, network, ...options });
    this.allocators = sets.map((set, i) => new RangeSetAllocator(set, i, this.store, `network ${network} range set ${i}`));
  }

  /** Validates a CNI network config (`{name, ipam: {ranges | subnet…, dataDir}}`); touches no file. */
  static fromCniConfig(config: CniHostLocalConfig, options: HostLocalAllocatorOptions = {}): HostLocalAllocator {
    if (config === null || typeof config !== 'object' || config.ipam === null || typeof config.ipam !== 'object') {
      throw configError('The network config has no ipam object.', 'Give the config "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.1.0.0/24"}]]}.');
    }
    assertNetworkName(config.name);
    const dataDir = config.ipam.dataDir ?? options.defaultDataDir ?? CNI_DATA_DIR;
    // A relative directory would mean whatever directory the plugin happens to be run from.
    if (typeof dataDir !== 'string' || !isAbsolute(dataDir)) throw configError('ipam.dataDir must be an absolute directory path.', 'Write it as an absolute path, e.g. "/var/lib/cni/networks".');
    const sets = rangeSetsOf(config.ipam).map((set, i) => parseRangeSet(set, `ranges[${i}]`));
    const { defaultDataDir: _, ...rest } = options;
    return new HostLocalAllocator(config.name, dataDir, sets, rest);
  }

  /** The index of the range set one of whose ranges holds `address` (without prefix), or undefined. */
  setOf(address: string): number | undefined {
    const a = tryParseAddress(address);
    const i = a ? this.sets.findIndex((set) => rangeHolding(set, a.family, a.value)) : -1;
    return i < 0 ? undefined : i;
  }

  /** Matches each requested address to the one set holding it. */
  private requestsBySet(requested: string[]): Map<number, string> {
    const bySet = new Map<number, string>();
    for (const text of requested) {
      const a = parseAddressWithOptionalPrefix(text, 'requested address');
      const i = this.sets.findIndex((set) => rangeHolding(set, a.family, a.value));
      if (i < 0) {
        throw new SwitchyardError('SWY_ERR_ADDRESS_OUT_OF_RANGE', `Requested address ${text} is in none of network ${this.network}'s ranges.`, {
          hint: 'Ask for an address between a range start and end of one of the range sets.',
          details: { address: text },
        });
      }
      if (bySet.has(i)) {
        throw new SwitchyardError('SWY_ERR_INVALID_OPTION', `Requested addresses ${bySet.get(i)} and ${formatAddress(a.family, a.value)} both fall in range set ${i}.`, {
          hint: 'An owner gets one address per range set; request at most one address per set.',
        });
      }
      bySet.set(i, text);
    }
    return bySet;
  }

  /** One address from every set for the owner, all or nothing; the same owner asking again gets the same addresses. */
  async allocate(owner: AddressOwner, requested: string[] = []): Promise<SetAllocation[]> {
    assertOwner(owner);
    const bySet = this.requestsBySet(requested);
    return this.store.locked(async () => {
      const done: SetAllocation[] = [];
      try {
        for (const [i, allocator] of this.allocators.entries()) {
          const allocation = await allocator.allocate(owner, bySet.get(i));
          done.push({ ...allocation, setIndex: i, family: allocator.set.family });
        }
        return done;
      } catch (e) {
        for (const d of done) if (d.created) await this.store.release(d.address, owner);
        throw e;
      }
    });
  }

  /** Releases everything the owner holds in this network (CNI DEL); returns the released addresses. Idempotent. */
  async release(owner: AddressOwner): Promise<string[]> {
    assertOwner(owner);
    return this.store.locked(async () => {
      const released = [];
      for (const address of await this.store.addressesOf(owner, { thorough: true })) {
        if (await this.store.release(address, owner)) released.push(address);
      }
      return released;
    });
  }
}
