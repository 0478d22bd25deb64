import type { Collection, LockScope } from '../spi/state-store.js';
import type { GlobalChange, GlobalStore, GlobalStoreTx, GlobalWatchHandlers, HostRecord } from '../spi/global-store.js';
import { hostNotJoined } from '../errors/global-store-errors.js';
import { collectionDirName, assertValidId } from '../store/store-names.js';
import { assertNotClosed } from '../store/serial-transactions.js';

interface Entry {
  text: string;
  /** Host whose lease the document is bound to. */
  lease?: string;
}

type Listener = (change: GlobalChange<unknown>) => void;

/**
 * An in-memory cluster for tests of multi-host logic: every {@link MemoryGlobalStore} made by
 * {@link MemoryCluster.storeFor} shares its documents, as hosts share etcd. Transactions run one at a
 * time; `join` and `expire` stand in for an agent's lease and its expiry.
 */
export class MemoryCluster {
  private readonly docs = new Map<string, Entry>();
  private readonly listeners = new Map<string, Set<Listener>>();
  private leaseCounter = 0;
  private queue: Promise<unknown> = Promise.resolve();

  /** Registers a host with a fresh lease, as its agent does. */
  join(name: string, address: string, ttl = 10): HostRecord {
    const record: HostRecord = { name, address, leaseId: String(++this.leaseCounter), ttl, since: new Date().toISOString() };
    this.write('hosts', name, record, name);
    return record;
  }

  /** Ends a host's lease: its host record and every document bound to it are deleted. */
  expire(name: string): void {
    for (const [key, entry] of [...this.docs]) {
      if (entry.lease === name) this.remove(key);
    }
  }

  /** Every document by key, as text: compare two to see what an operation left in the cluster. */
  snapshot(): Record<string, string> {
    return Object.fromEntries([...this.docs.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, e]) => [k, e.text]));
  }

  /** The store a process on host `hostName` uses. */
  storeFor(hostName: string): MemoryGlobalStore {
    return new MemoryGlobalStore(this, hostName);
  }

  /** @internal Runs fn after every earlier transaction of the cluster. */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** @internal */
  read<T>(collection: Collection, id: string): T | undefined {
    const entry = this.docs.get(keyOf(collection, id));
    return entry === undefined ? undefined : (JSON.parse(entry.text) as T);
  }

  /** @internal */
  readAll<T>(collection: Collection): T[] {
    return this.entriesOf<T>(collection).map(([, doc]) => doc);
  }

  /** @internal Every document of a collection with its id, in key order. */
  entriesOf<T>(collection: Collection): Array<[string, T]> {
    const prefix = `${collectionDirName(collection)}/`;
    return [...this.docs.entries()]
      .filter(([k]) => k.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, e]) => [k.slice(prefix.length), JSON.parse(e.text) as T]);
  }

  /** @internal */
  write(collection: Collection, id: string, doc: unknown, lease?: string): void {
    const key = keyOf(collection, id);
    this.docs.set(key, { text: JSON.stringify(doc), ...(lease === undefined ? {} : { lease }) });
    this.notify(collection, { type: 'put', id, doc: JSON.parse(JSON.stringify(doc)) as unknown });
  }

  /** @internal */
  remove(key: string): void {
    if (!this.docs.delete(key)) return;
    const slash = key.indexOf('/');
    const dir = key.slice(0, slash);
    const collection = (dir.startsWith('plugin-') ? `plugin:${dir.slice('plugin-'.length)}` : dir) as Collection;
    this.notify(collection, { type: 'delete', id: key.slice(slash + 1) });
  }

  /** @internal */
  listen(collection: Collection, listener: Listener): () => void {
    const key = collectionDirName(collection);
    let set = this.listeners.get(key);
    if (!set) this.listeners.set(key, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  private notify(collection: Collection, change: GlobalChange<unknown>): void {
    for (const l of this.listeners.get(collectionDirName(collection)) ?? []) queueMicrotask(() => l(change));
  }
}

function keyOf(collection: Collection, id: string): string {
  assertValidId(collection, id);
  return `${collectionDirName(collection)}/${id}`;
}

/** One host's view of a {@link MemoryCluster}: the {@link GlobalStore} port in memory. */
export class MemoryGlobalStore implements GlobalStore {
  private closed = false;

  constructor(
    private readonly cluster: MemoryCluster,
    readonly hostName: string,
  ) {}

  async get<T>(collection: Collection, id: string): Promise<T | undefined> {
    this.assertOpen();
    return this.cluster.read<T>(collection, id);
  }

  async list<T>(collection: Collection): Promise<T[]> {
    this.assertOpen();
    return this.cluster.readAll<T>(collection);
  }

  async host(name: string = this.hostName): Promise<HostRecord | undefined> {
    return this.get<HostRecord>('hosts', name);
  }

  transaction<T>(fn: (tx: GlobalStoreTx) => Promise<T>, _scope?: LockScope): Promise<T> {
    this.assertOpen();
    const c = this.cluster;
    return c.serial(async () => {
      // Writes are buffered and applied together when fn succeeds, as an etcd transaction commits.
      const writes = new Map<string, { collection: Collection; id: string; doc?: unknown; lease?: string }>();
      const pending = (collection: Collection, id: string) => writes.get(keyOf(collection, id));
      const tx: GlobalStoreTx = {
        get: async <D>(collection: Collection, id: string) => {
          const w = pending(collection, id);
          if (w) return w.doc === undefined ? undefined : (JSON.parse(JSON.stringify(w.doc)) as D);
          return c.read<D>(collection, id);
        },
        list: async <D>(collection: Collection) => {
          const merged = new Map<string, D>(c.entriesOf<D>(collection));
          for (const w of writes.values()) {
            if (w.collection !== collection) continue;
            if (w.doc === undefined) merged.delete(w.id);
            else merged.set(w.id, JSON.parse(JSON.stringify(w.doc)) as D);
          }
          return [...merged.values()];
        },
        put: async <D>(collection: Collection, id: string, doc: D) => {
          writes.set(keyOf(collection, id), { collection, id, doc });
        },
        putLeased: async <D>(collection: Collection, id: string, doc: D) => {
          if (c.read('hosts', this.hostName) === undefined) throw hostNotJoined(this.hostName);
          writes.set(keyOf(collection, id), { collection, id, doc, lease: this.hostName });
        },
        delete: async (collection: Collection, id: string) => {
          writes.set(keyOf(collection, id), { collection, id });
        },
      };
      const result = await fn(tx);
      for (const [key, w] of writes) {
        if (w.doc === undefined) c.remove(key);
        else c.write(w.collection, w.id, w.doc, w.lease);
      }
      return result;
    });
  }

  async watch<T>(collection: Collection, handlers: GlobalWatchHandlers<T>): Promise<() => Promise<void>> {
    const stop = this.cluster.listen(collection, (change) => handlers.change(change as GlobalChange<T>));
    queueMicrotask(() => handlers.resync());
    return async () => stop();
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private assertOpen(): void {
    assertNotClosed(this.closed, 'The memory global store');
  }
}
