import { type Collection, type GlobalStore, type GlobalStoreTx, type PoolRequest } from '@switchyard/core';
import type { MemoryCluster, MemoryGlobalStore } from '@switchyard/core/testing';
import { BLOCKS_COLLECTION, MEMBERS_COLLECTION, POOLS_COLLECTION, type BlockDoc, type MemberDoc, type PoolDoc } from '../documents.js';

export { caught, expectCoded } from '@switchyard/core/testing';

/** Every document the IPAM keeps in the cluster, by collection and id. */
export function ipamDocs(cluster: MemoryCluster): { pools: Record<string, PoolDoc>; members: Record<string, MemberDoc>; blocks: Record<string, BlockDoc> } {
  return {
    pools: Object.fromEntries(cluster.entriesOf<PoolDoc>(POOLS_COLLECTION)),
    members: Object.fromEntries(cluster.entriesOf<MemberDoc>(MEMBERS_COLLECTION)),
    blocks: Object.fromEntries(cluster.entriesOf<BlockDoc>(BLOCKS_COLLECTION)),
  };
}

/** A pool request with defaults. */
export const poolRequest = (over: Partial<PoolRequest> = {}): PoolRequest => ({ networkId: 'id-web', networkName: 'web', family: 4, ranges: [], exclude: [], options: {}, ...over });

/** An owner. */
export const owner = (id: string, ifname = 'eth0') => ({ id, ifname });

/**
 * A global store whose transactions run `fn` twice, the first time against a scratch copy whose writes are
 * thrown away, as a store does when a compare fails: whatever `fn` does outside the transaction shows.
 */
export class RerunningStore implements GlobalStore {
  /** Transactions run. */
  runs = 0;
  constructor(private readonly inner: MemoryGlobalStore) {}
  get hostName(): string {
    return this.inner.hostName;
  }
  get<T>(collection: Collection, id: string): Promise<T | undefined> {
    return this.inner.get<T>(collection, id);
  }
  list<T>(collection: Collection): Promise<T[]> {
    return this.inner.list<T>(collection);
  }
  host(name?: string) {
    return this.inner.host(name);
  }
  watch: GlobalStore['watch'] = (collection, handlers) => this.inner.watch(collection, handlers);
  close(): Promise<void> {
    return this.inner.close();
  }
  transaction<T>(fn: (tx: GlobalStoreTx) => Promise<T>): Promise<T> {
    return this.inner.transaction(async (tx) => {
      const overlay = new Map<string, unknown>();
      const key = (c: Collection, id: string) => `${c}\u0000${id}`;
      const shadow: GlobalStoreTx = {
        get: async <D>(c: Collection, id: string) => (overlay.has(key(c, id)) ? (overlay.get(key(c, id)) as D | undefined) : tx.get<D>(c, id)),
        list: (c) => tx.list(c),
        put: async (c, id, doc) => void overlay.set(key(c, id), structuredClone(doc)),
        putLeased: async (c, id, doc) => void overlay.set(key(c, id), structuredClone(doc)),
        delete: async (c, id) => void overlay.set(key(c, id), undefined),
      };
      try {
        await fn(shadow);
      } catch {
        // The real run below decides the outcome.
      }
      this.runs++;
      return fn(tx);
    });
  }
}

/** A host's store that counts its listings. */
export function countingStore(cluster: MemoryCluster, host: string): { store: MemoryGlobalStore; lists: () => number } {
  const store = cluster.storeFor(host);
  const list = store.list.bind(store);
  let lists = 0;
  store.list = (collection) => {
    lists++;
    return list(collection);
  };
  return { store, lists: () => lists };
}
