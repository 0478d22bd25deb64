import type { AddressOwner } from '@switchyard/core';
import { ownerMatches, type AllocationStore, type StoredOwner } from './allocator.js';

/** An AllocationStore in memory: for tests of allocation policy and for embedders that persist elsewhere. */
export class MemoryAllocationStore implements AllocationStore {
  /** Reserved addresses and their owners, by address. */
  readonly records = new Map<string, StoredOwner>();
  /** The last address reserved in each range set, by set index (host-local's `last_reserved_ip.<set>`). */
  readonly last = new Map<number, string>();
  private queue: Promise<unknown> = Promise.resolve();

  locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  async reserve(address: string, owner: AddressOwner, setIndex: number): Promise<boolean> {
    if (this.records.has(address)) return false;
    this.records.set(address, { id: owner.id.trim(), ifname: owner.ifname });
    this.last.set(setIndex, address);
    return true;
  }

  async lastReserved(setIndex: number): Promise<string | undefined> {
    return this.last.get(setIndex);
  }

  async forgetLastReserved(setIndex: number): Promise<void> {
    this.last.delete(setIndex);
  }

  async addressesOf(owner: AddressOwner): Promise<string[]> {
    return [...this.records].filter(([, o]) => ownerMatches(o, owner)).map(([a]) => a);
  }

  async ownerOf(address: string): Promise<StoredOwner | undefined> {
    return this.records.get(address);
  }

  async release(address: string, owner?: AddressOwner): Promise<boolean> {
    const holder = this.records.get(address);
    if (!holder || (owner && !ownerMatches(holder, owner))) return false;
    return this.records.delete(address);
  }

  async addresses(): Promise<string[]> {
    return [...this.records.keys()];
  }
}
