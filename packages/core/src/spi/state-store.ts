/** Collections Switchyard keeps (`hosts` in a global store only); plugins get their own under `plugin:<name>`. */
export type Collection = 'networks' | 'sandboxes' | 'endpoints' | 'intents' | 'meta' | 'hosts' | `plugin:${string}`;

/** Reads and writes inside one locked transaction. Each `put`/`delete` is durable when it resolves. */
export interface StoreTx {
  /** The document `id` of a collection as this transaction sees it (its own writes included); undefined when absent. */
  get<T>(collection: Collection, id: string): Promise<T | undefined>;
  /** Every document of a collection as this transaction sees it, in no particular order. */
  list<T>(collection: Collection): Promise<T[]>;
  /** Atomically replaces the document (readers never see half a document). */
  put<T>(collection: Collection, id: string, doc: T): Promise<void>;
  /** Removes the document; succeeds when it is absent. */
  delete(collection: Collection, id: string): Promise<void>;
}

/**
 * What a transaction locks, by object key (`network:<name>`, `sandbox:<name>`, a plugin's own
 * `<word>:<name>`): `exclusive` for objects it changes, `shared` for objects it relies on staying.
 * A scoped transaction also holds the store-wide lock shared, so it runs alongside other scoped ones
 * on other objects; a transaction without a scope holds the store-wide lock exclusively (nothing else
 * runs), as network create (names and pools are global) and gc need.
 */
export interface LockScope {
  /** Object keys the transaction changes (e.g. `network:web`). */
  exclusive?: readonly string[];
  /** Object keys the transaction relies on staying as they are. */
  shared?: readonly string[];
}

/**
 * Where Switchyard keeps its objects. `transaction` holds inter-process locks, so two processes
 * that change state at the same time never lose an update; reads outside it see committed documents.
 */
export interface StateStore {
  /** The committed document `id` of a collection; undefined when absent. */
  get<T>(collection: Collection, id: string): Promise<T | undefined>;
  /** Every committed document of a collection, in no particular order. */
  list<T>(collection: Collection): Promise<T[]>;
  /**
   * Runs `fn` holding the locks `scope` names (without one: the store-wide lock, exclusively); they are
   * released however fn ends. A transaction started inside another one's call chain joins it.
   */
  transaction<T>(fn: (tx: StoreTx) => Promise<T>, scope?: LockScope): Promise<T>;
  /** Releases resources (file descriptors); the store is unusable after. */
  close(): Promise<void>;
}
