/** Collections Switchyard keeps; plugins get their own under `plugin:<name>`. */
export type Collection = 'networks' | 'sandboxes' | 'endpoints' | 'intents' | 'meta' | `plugin:${string}`;

/** Reads and writes inside one locked transaction. Each `put`/`delete` is durable when it resolves. */
export interface StoreTx {
  get<T>(collection: Collection, id: string): Promise<T | undefined>;
  list<T>(collection: Collection): Promise<T[]>;
  /** Atomically replaces the document (readers never see half a document). */
  put<T>(collection: Collection, id: string, doc: T): Promise<void>;
  /** Removes the document; succeeds when it is absent. */
  delete(collection: Collection, id: string): Promise<void>;
}

/**
 * Where Switchyard keeps its objects. `transaction` holds an inter-process lock, so two processes
 * that change state at the same time never lose an update; reads outside it see committed documents.
 */
export interface StateStore {
  get<T>(collection: Collection, id: string): Promise<T | undefined>;
  list<T>(collection: Collection): Promise<T[]>;
  /** Runs `fn` under the store's exclusive lock; the lock is released however fn ends. */
  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  /** Releases resources (file descriptors); the store is unusable after. */
  close(): Promise<void>;
}
