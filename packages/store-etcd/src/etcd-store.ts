import { Etcd3, type IKeyValue, type IRequestOp, type ICompare } from 'etcd3';
import { SwitchyardError, collectionDirName, assertValidId, GLOBAL_COLLECTIONS, hostNotJoined } from '@switchyard/core';
import type { Collection, GlobalStore, GlobalStoreTx, GlobalWatchHandlers, HostRecord } from '@switchyard/core';
import { clientOptions, resolveEtcdOptions, type EtcdStoreOptions, type ResolvedEtcdOptions } from './etcd-options.js';
import { waitHealthy } from './wait-healthy.js';

/** A key's value and the revision that last changed it ('0': absent). */
export interface Seen {
  /** The JSON text, undefined when the key is absent. */
  value: string | undefined;
  /** The key's modification revision (decimal). */
  mod: string;
}

/** A buffered write of a transaction. */
interface Write {
  value?: string;
  lease?: string;
}

/** The gRPC call failed: etcd is down, unreachable, or too slow. */
function unavailable(what: string, cause: unknown, o: ResolvedEtcdOptions): SwitchyardError {
  if (cause instanceof SwitchyardError) return cause;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new SwitchyardError('SWY_ERR_GLOBAL_STORE_UNAVAILABLE', `etcd at ${o.endpoints.join(', ')} did not answer (${what}): ${reason}`, {
    hint: 'Check that etcd runs and is reachable from this host; nothing was changed. Retry once it answers.',
    details: { endpoints: o.endpoints, operation: what },
    cause,
  });
}

/** The first key after every key that starts with `prefix` (etcd's range end for a prefix). */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/**
 * The {@link GlobalStore} port on etcd v3. One JSON document per key, `<prefix><collection>/<id>`.
 * Transactions are optimistic: reads record each key's modification revision, writes are buffered, and
 * the commit is one etcd transaction that applies the writes only if nothing read has changed since
 * (a `list` is guarded by "no key of the collection changed or appeared after the read"; a deletion
 * after the read is not a conflict, since it only frees). On conflict the function runs again.
 * Leased writes are bound to the lease in this host's `hosts` record, which `HostLease` keeps alive.
 */
export class EtcdStore implements GlobalStore {
  readonly hostName: string;
  /** The client, for `HostLease` and watches. */
  readonly client: Etcd3;
  /** The resolved options. */
  readonly options: ResolvedEtcdOptions;
  private closed = false;
  private healthy = false;
  private healthWait: Promise<void> | undefined;
  /**
   * What this process last committed, key by key, with the revision that wrote it: a transaction reading
   * one of these keys takes the value from here and compares against that revision at commit, so a host
   * updating its own documents (its address blocks) pays one round trip, not two. A conflict drops the
   * entries the transaction read; nothing can be served stale past a commit.
   */
  readonly written = new Map<string, Seen>();
  /** This host's record as last read, with its revision: leased writes compare against it. */
  private hostCache: { record: HostRecord; mod: string } | undefined;

  /** Use {@link openEtcdStore}, which waits for etcd to answer first. */
  constructor(options: ResolvedEtcdOptions) {
    this.options = options;
    this.hostName = options.hostName;
    this.client = new Etcd3(clientOptions(options));
  }

  /** The etcd key of a document. */
  keyOf(collection: Collection, id: string): string {
    assertValidId(collection, id);
    return `${this.options.prefix}${collectionDirName(collection)}/${id}`;
  }

  /** The key prefix of a collection. */
  prefixOf(collection: Collection): string {
    return `${this.options.prefix}${collectionDirName(collection)}/`;
  }

  /**
   * Runs an RPC, turning any failure into SWY_ERR_GLOBAL_STORE_UNAVAILABLE. The first call (and the first
   * after a failure) waits for etcd's `/health`, so a command that never touches a global network never
   * waits for etcd, and the client's first gRPC call meets a server that answers.
   */
  async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new SwitchyardError('SWY_ERR_STORE_IO', 'The etcd store has been closed', { hint: 'Open a new store; a closed one cannot be reused.' });
    if (!this.healthy) {
      const wait = (this.healthWait ??= waitHealthy(this.options).finally(() => (this.healthWait = undefined)));
      await wait;
      this.healthy = true;
    }
    try {
      return await fn();
    } catch (e) {
      const error = unavailable(what, e, this.options);
      if (error.code === 'SWY_ERR_GLOBAL_STORE_UNAVAILABLE') this.healthy = false;
      throw error;
    }
  }

  async get<T>(collection: Collection, id: string): Promise<T | undefined> {
    const seen = await this.read(this.keyOf(collection, id));
    return seen.value === undefined ? undefined : (JSON.parse(seen.value) as T);
  }

  async list<T>(collection: Collection): Promise<T[]> {
    const { kvs } = await this.readPrefix(this.prefixOf(collection));
    return kvs.map((kv) => JSON.parse(kv.value.toString()) as T);
  }

  /**
   * A host's record. This host's own comes from the record its leased writes compare against, once read
   * (its address does not change while it lives; a stale lease id only makes the next leased commit retry).
   */
  async host(name: string = this.hostName): Promise<HostRecord | undefined> {
    if (name !== this.hostName) return this.get<HostRecord>(GLOBAL_COLLECTIONS.hosts, name);
    return (await this.ownHost())?.record;
  }

  /** This host's record and its revision, read once and kept until a compare on it fails. */
  private async ownHost(): Promise<{ record: HostRecord; mod: string } | undefined> {
    if (!this.hostCache) {
      const seen = await this.read(this.keyOf(GLOBAL_COLLECTIONS.hosts, this.hostName));
      if (seen.value === undefined) return undefined;
      this.hostCache = { record: JSON.parse(seen.value) as HostRecord, mod: seen.mod };
    }
    return this.hostCache;
  }

  /** @internal One key with its revision. */
  async read(key: string): Promise<Seen> {
    const res = await this.call('range', () => this.client.kv.range({ key: Buffer.from(key) }));
    const kv = res.kvs[0];
    return kv ? { value: kv.value.toString(), mod: String(kv.mod_revision) } : { value: undefined, mod: '0' };
  }

  /** @internal Every key under a prefix, and the store revision the read saw. */
  async readPrefix(prefix: string): Promise<{ kvs: IKeyValue[]; revision: string }> {
    const key = Buffer.from(prefix);
    const res = await this.call('range', () => this.client.kv.range({ key, range_end: prefixEnd(key) }));
    return { kvs: res.kvs, revision: String(res.header.revision) };
  }

  async transaction<T>(fn: (tx: GlobalStoreTx) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const tx = new EtcdTx(this);
      const result = await fn(tx.view);
      if (await tx.commit()) return result;
      if (attempt >= this.options.maxAttempts) {
        throw new SwitchyardError('SWY_ERR_GLOBAL_STORE_CONFLICT', `A global-store transaction conflicted with other hosts' changes ${attempt} times in a row; nothing was changed`, {
          hint: 'Other hosts are changing the same objects; retry.',
          details: { attempts: attempt },
        });
      }
      // Exponential backoff with full jitter (0-2 ms, 0-4 ms, … up to 0-100 ms): transactions that collided
      // spread out instead of colliding again in step, however many contend for one key (a linear 0-2n ms
      // let 200 writers of one key starve one of them 50 times on a loaded 2-core machine).
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(100, 2 ** attempt)));
    }
  }

  /** @internal This host's lease id and the revision of its record (cached; the commit compares it). */
  async hostLease(): Promise<{ leaseId: string; key: string; mod: string }> {
    const own = await this.ownHost();
    if (!own) throw hostNotJoined(this.hostName);
    return { leaseId: own.record.leaseId, key: this.keyOf(GLOBAL_COLLECTIONS.hosts, this.hostName), mod: own.mod };
  }

  /** @internal Forgets the cached host record (its compare failed). */
  forgetHost(): void {
    this.hostCache = undefined;
  }

  /** @internal Forgets what this process committed (after a lease change, or a conflict on those keys). */
  forget(keys: Iterable<string>): void {
    for (const k of keys) this.written.delete(k);
  }

  async watch<T>(collection: Collection, handlers: GlobalWatchHandlers<T>): Promise<() => Promise<void>> {
    const prefix = this.prefixOf(collection);
    const idOf = (kv: IKeyValue) => kv.key.toString().slice(prefix.length);
    const watcher = await this.call('watch', () => this.client.watch().prefix(prefix).create());
    let connected = true;
    watcher.on('put', (kv) => handlers.change({ type: 'put', id: idOf(kv), doc: JSON.parse(kv.value.toString()) as T }));
    watcher.on('delete', (kv) => handlers.change({ type: 'delete', id: idOf(kv) }));
    watcher.on('disconnected', () => (connected = false));
    watcher.on('connected', () => {
      // Changes made while the watch was down may be lost if etcd compacted them: read everything again.
      if (!connected) handlers.resync();
      connected = true;
    });
    watcher.on('error', () => (connected = false));
    queueMicrotask(() => handlers.resync());
    return async () => {
      await watcher.cancel().catch(() => undefined);
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.close();
  }
}

/** One optimistic transaction: reads remembered with their revisions, writes buffered until commit. */
class EtcdTx {
  private readonly seen = new Map<string, Seen>();
  /** Keys whose value came from what this process committed earlier, unconfirmed by a read. */
  private readonly fromCache = new Set<string>();
  private readonly ranges: Array<{ prefix: string; revision: string }> = [];
  private readonly writes = new Map<string, Write>();
  private leaseCompare: { key: string; mod: string } | undefined;
  readonly view: GlobalStoreTx;

  constructor(private readonly store: EtcdStore) {
    this.view = {
      get: (c, id) => this.get(c, id),
      list: (c) => this.list(c),
      put: async (c, id, doc) => void this.writes.set(store.keyOf(c, id), { value: JSON.stringify(doc) }),
      putLeased: async (c, id, doc) => {
        const key = store.keyOf(c, id);
        const lease = await store.hostLease();
        this.leaseCompare = { key: lease.key, mod: lease.mod };
        this.writes.set(key, { value: JSON.stringify(doc), lease: lease.leaseId });
      },
      delete: async (c, id) => void this.writes.set(store.keyOf(c, id), {}),
    };
  }

  private async get<T>(collection: Collection, id: string): Promise<T | undefined> {
    const key = this.store.keyOf(collection, id);
    const w = this.writes.get(key);
    if (w) return w.value === undefined ? undefined : (JSON.parse(w.value) as T);
    let seen = this.seen.get(key);
    if (!seen) {
      const cached = this.store.written.get(key);
      if (cached) this.fromCache.add(key);
      this.seen.set(key, (seen = cached ?? (await this.store.read(key))));
    }
    return seen.value === undefined ? undefined : (JSON.parse(seen.value) as T);
  }

  private async list<T>(collection: Collection): Promise<T[]> {
    const prefix = this.store.prefixOf(collection);
    const { kvs, revision } = await this.store.readPrefix(prefix);
    this.ranges.push({ prefix, revision });
    const docs = new Map<string, string>();
    for (const kv of kvs) docs.set(kv.key.toString(), kv.value.toString());
    for (const [key, w] of this.writes) {
      if (!key.startsWith(prefix)) continue;
      if (w.value === undefined) docs.delete(key);
      else docs.set(key, w.value);
    }
    return [...docs.values()].map((v) => JSON.parse(v) as T);
  }

  /**
   * Applies the writes if nothing read changed; false on conflict. A read-only transaction commits
   * nothing, except that values it took from the cache of earlier commits are confirmed first (an etcd
   * transaction of compares alone).
   */
  async commit(): Promise<boolean> {
    if (this.writes.size === 0 && this.fromCache.size === 0) return true;
    const compare: ICompare[] = [];
    for (const [key, seen] of this.seen) compare.push({ key: Buffer.from(key), target: 'Mod', result: 'Equal', mod_revision: seen.mod });
    for (const r of this.ranges) {
      const key = Buffer.from(r.prefix);
      compare.push({ key, range_end: prefixEnd(key), target: 'Mod', result: 'Less', mod_revision: String(BigInt(r.revision) + 1n) });
    }
    if (this.leaseCompare) compare.push({ key: Buffer.from(this.leaseCompare.key), target: 'Mod', result: 'Equal', mod_revision: this.leaseCompare.mod });
    const success: IRequestOp[] = [];
    for (const [key, w] of this.writes) {
      if (w.value === undefined) success.push({ request_delete_range: { key: Buffer.from(key) } });
      else success.push({ request_put: { key: Buffer.from(key), value: Buffer.from(w.value), ...(w.lease === undefined ? {} : { lease: w.lease }) } });
    }
    const res = await this.store.call('txn', () => this.store.client.kv.txn({ compare, success, failure: [] }));
    if (!res.succeeded) {
      if (this.leaseCompare) this.store.forgetHost();
      this.store.forget(this.seen.keys());
      return false;
    }
    // Every key this commit wrote now has the commit's revision.
    const revision = String(res.header.revision);
    for (const [key, w] of this.writes) {
      if (w.value === undefined) this.store.written.delete(key);
      else this.store.written.set(key, { value: w.value, mod: revision });
    }
    return true;
  }
}

/**
 * Opens the store: checks the options (SWY_ERR_INVALID_OPTION) and returns it without contacting etcd;
 * its first call waits up to `connectTimeoutMs` for etcd's `/health`, then fails with
 * SWY_ERR_GLOBAL_STORE_UNAVAILABLE.
 */
export async function openEtcdStore(options: EtcdStoreOptions): Promise<EtcdStore> {
  return new EtcdStore(resolveEtcdOptions(options));
}
