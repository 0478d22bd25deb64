import { SwitchyardError, type AddressOwner } from '@switchyard/core';
import { formatAddress, formatCidr, parseAddressWithOptionalPrefix, tryParseAddress } from './address.js';
import { describeRangeSet, isGateway, rangeHolding, type AddressRange, type RangeSet } from './range.js';

/** Who holds an address as a record says; `ifname` is absent in files written by CNI before it stored one. */
export interface StoredOwner {
  /** The container (endpoint) id. */
  id: string;
  /** The interface name; absent in files written before CNI stored it. */
  ifname?: string;
}

/** Where allocations live (CNI's `backend.Store`): one record per address. Addresses are canonical strings. */
export interface AllocationStore {
  /** Runs `fn` holding the store's exclusive lock; every other method is called inside it. */
  locked<T>(fn: () => Promise<T>): Promise<T>;
  /** Records `address` for `owner` unless it is taken (false); on success it becomes set `setIndex`'s last reserved address. */
  reserve(address: string, owner: AddressOwner, setIndex: number): Promise<boolean>;
  /** The address the set reserved last (where round-robin resumes), if recorded. */
  lastReserved(setIndex: number): Promise<string | undefined>;
  /** Forgets the set's last reserved address. */
  forgetLastReserved(setIndex: number): Promise<void>;
  /** Addresses the owner holds, in any set (records naming only its id count too); `thorough` trades speed for certainty. */
  addressesOf(owner: AddressOwner, options?: { thorough?: boolean }): Promise<string[]>;
  /** Who holds the address, or undefined when it is free. */
  ownerOf(address: string): Promise<StoredOwner | undefined>;
  /** Removes the record (only if `owner` holds it, when given); true when something was removed. */
  release(address: string, owner?: AddressOwner): Promise<boolean>;
  /** Every address held. */
  addresses(): Promise<string[]>;
}

/** One address handed out. */
export interface Allocation {
  /** Address without prefix. */
  address: string;
  /** Address with the subnet's prefix length. */
  cidr: string;
  /** The range's subnet, CIDR. */
  subnet: string;
  /** The range's gateway address (no prefix). */
  gateway: string;
  /** False when the owner already held it and nothing changed. */
  created: boolean;
}

/** Whether a record belongs to the owner (CNI compares the trimmed id, and the ifname when the record has one). */
export function ownerMatches(stored: StoredOwner, owner: AddressOwner): boolean {
  return stored.id === owner.id.trim() && (stored.ifname === undefined || stored.ifname === owner.ifname);
}

export function describeOwner(owner: StoredOwner): string {
  return owner.ifname === undefined ? owner.id : `${owner.id}/${owner.ifname}`;
}

/** Every address once, CNI's order: from last reserved + 1 (or the first range's start), across ranges, wrapping once. */
function* roundRobin(ranges: AddressRange[], last: bigint | undefined): Generator<[AddressRange, bigint]> {
  const step = (idx: number, cur: bigint): [number, bigint] => {
    if (cur < ranges[idx]!.end) return [idx, cur + 1n];
    const nextIdx = (idx + 1) % ranges.length;
    return [nextIdx, ranges[nextIdx]!.start];
  };
  const at = last === undefined ? -1 : ranges.findIndex((r) => last >= r.start && last <= r.end);
  let [idx, cur] = at < 0 ? [0, ranges[0]!.start] : step(at, last!);
  const [firstIdx, first] = [idx, cur];
  do {
    yield [ranges[idx]!, cur];
    [idx, cur] = step(idx, cur);
  } while (idx !== firstIdx || cur !== first);
}

/**
 * Hands out addresses of one range set over an AllocationStore: pure policy, no I/O of its own.
 * Callers hold the store's lock (`store.locked`) around each call, so a multi-set allocation can be one step.
 */
export class RangeSetAllocator {
  constructor(
    /** The range set this allocator hands addresses out of. */
    readonly set: RangeSet,
    /** Its index among the network's sets (names `last_reserved_ip.<setIndex>`). */
    readonly setIndex: number,
    private readonly store: AllocationStore,
    /** Names the set in errors, e.g. the network name. */
    private readonly label = 'range set',
  ) {}

  private allocation(range: AddressRange, value: bigint, created: boolean): Allocation {
    const address = formatAddress(range.family, value);
    return { address, cidr: `${address}/${range.subnet.prefixLength}`, subnet: formatCidr(range.subnet), gateway: formatAddress(range.family, range.gateway), created };
  }

  /** The owner's addresses inside this set. */
  async heldBy(
    owner: AddressOwner,
    thorough = false,
  ): Promise<
    Array<{
      /** The range holding the address. */
      range: AddressRange;
      /** The address as a number. */
      value: bigint;
      /** The address in canonical text form. */
      address: string;
    }>
  > {
    const held = [];
    for (const address of await this.store.addressesOf(owner, { thorough })) {
      const a = tryParseAddress(address);
      const range = a && rangeHolding(this.set, a.family, a.value);
      if (a && range) held.push({ range, value: a.value, address });
    }
    return held;
  }

  /**
   * Reserves the next free address (or `requested`) for the owner; the same owner asking again gets the
   * same address. `newOwner`: the caller promises the owner holds nothing here, so no lookup is made.
   */
  async allocate(owner: AddressOwner, requested?: string, newOwner = false): Promise<Allocation> {
    const held = newOwner ? [] : await this.heldBy(owner);
    if (requested !== undefined) return this.allocateRequested(owner, requested, held);
    const mine = held[0];
    if (mine) return this.allocation(mine.range, mine.value, false);

    const lastText = await this.store.lastReserved(this.setIndex);
    const last = lastText === undefined ? undefined : tryParseAddress(lastText);
    const resumeAt = last?.family === this.set.family ? last.value : undefined;
    for (const [range, value] of roundRobin(this.set.ranges, resumeAt)) {
      if (isGateway(this.set, value)) continue;
      if (await this.store.reserve(formatAddress(range.family, value), owner, this.setIndex)) return this.allocation(range, value, true);
    }
    throw new SwitchyardError('SWY_ERR_POOL_EXHAUSTED', `No free address left in ${this.label}: ${describeRangeSet(this.set)} is fully allocated.`, {
      hint: 'Remove endpoints that are no longer used, or give the network a larger subnet or another range.',
      details: { ranges: describeRangeSet(this.set), setIndex: this.setIndex },
    });
  }

  private async allocateRequested(owner: AddressOwner, requested: string, held: Array<{ value: bigint; address: string }>): Promise<Allocation> {
    const a = parseAddressWithOptionalPrefix(requested, 'requested address');
    const range = rangeHolding(this.set, a.family, a.value);
    if (!range) {
      throw new SwitchyardError('SWY_ERR_ADDRESS_OUT_OF_RANGE', `Requested address ${requested} is outside ${this.label}: ${describeRangeSet(this.set)}.`, {
        hint: `Ask for an address between a range's start and end, or leave the address out to get the next free one.`,
        details: { address: requested, ranges: describeRangeSet(this.set) },
      });
    }
    const address = formatAddress(a.family, a.value);
    if (isGateway(this.set, a.value)) {
      throw new SwitchyardError('SWY_ERR_ADDRESS_IN_USE', `Requested address ${address} is the gateway of ${this.label}.`, {
        hint: 'The gateway is never handed to an endpoint; ask for another address.',
        details: { address },
      });
    }
    const mine = held.find((h) => h.value === a.value);
    if (mine) return this.allocation(range, a.value, false);
    if (held[0]) {
      throw new SwitchyardError('SWY_ERR_ADDRESS_IN_USE', `${describeOwner(owner)} already holds ${held[0].address} in ${this.label}, so it cannot also take ${address}.`, {
        hint: 'An owner gets one address per range set; release the one it holds first.',
        details: { address, held: held[0].address },
      });
    }
    if (await this.store.reserve(address, owner, this.setIndex)) return this.allocation(range, a.value, true);
    const holder = await this.store.ownerOf(address);
    throw new SwitchyardError('SWY_ERR_ADDRESS_IN_USE', `Requested address ${address} is already held${holder ? ` by ${describeOwner(holder)}` : ''} in ${this.label}.`, {
      hint: 'Ask for another address, or release it from its holder first.',
      details: { address, holder },
    });
  }

  /** Releases what the owner holds in this set; returns the released addresses. */
  async releaseOwner(owner: AddressOwner): Promise<string[]> {
    const released = [];
    for (const { address } of await this.heldBy(owner, true)) if (await this.store.release(address, owner)) released.push(address);
    return released;
  }

  /** Releases one address of this set (with or without prefix); false when it was free or outside the set. */
  async releaseAddress(text: string): Promise<boolean> {
    const a = parseAddressWithOptionalPrefix(text, 'address');
    if (!rangeHolding(this.set, a.family, a.value)) return false;
    return this.store.release(formatAddress(a.family, a.value));
  }

  /** Releases every address of this set and forgets where round-robin stood. */
  /** Releases the addresses in this set's ranges (only those whose owner id is `ownerId`, when given) and forgets last_reserved. */
  async releaseAll(ownerId?: string): Promise<string[]> {
    const released = [];
    for (const address of await this.store.addresses()) {
      const a = tryParseAddress(address);
      if (!a || !rangeHolding(this.set, a.family, a.value)) continue;
      if (ownerId !== undefined && (await this.store.ownerOf(address))?.id !== ownerId) continue;
      if (await this.store.release(address)) released.push(address);
    }
    await this.store.forgetLastReserved(this.setIndex);
    return released;
  }
}
