import type { Collection, LockScope, StateStore, StoreTx } from '../spi/state-store.js';
import { encodeDocument } from './store-document.js';
import { assertNotClosed, assertTxOpen, SerialTransactions, type TxScope } from './serial-transactions.js';
import { assertValidId, collectionDirName } from './store-names.js';

const NO_LOCK = { enter: async () => undefined, leave: () => undefined };

/**
 * A StateStore in memory with FileStore's semantics, for tests: documents are kept as JSON text, so
 * callers never share objects with the store, and transactions run one at a time, re-entrantly.
 */
export class MemoryStore implements StateStore {
  /** collection -> id -> encoded document. */
  private readonly collections = new Map<string, Map<string, string>>();
  private readonly transactions = new SerialTransactions<StoreTx>((scope) => this.txFor(scope));
  private closed = false;

  async get<T>(collection: Collection, id: string): Promise<T | undefined> {
    assertNotClosed(this.closed, 'The memory store');
    return this.read<T>(collection, id);
  }

  async list<T>(collection: Collection): Promise<T[]> {
    assertNotClosed(this.closed, 'The memory store');
    return this.readAll<T>(collection);
  }

  /** One process only: every transaction runs alone, whatever its scope. */
  async transaction<T>(fn: (tx: StoreTx) => Promise<T>, _scope?: LockScope): Promise<T> {
    if (!this.transactions.insideTransaction()) assertNotClosed(this.closed, 'The memory store');
    return this.transactions.run(NO_LOCK, fn);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.transactions.drain();
  }

  private txFor(scope: TxScope): StoreTx {
    return {
      get: async <T>(collection: Collection, id: string) => {
        assertTxOpen(scope);
        return this.read<T>(collection, id);
      },
      list: async <T>(collection: Collection) => {
        assertTxOpen(scope);
        return this.readAll<T>(collection);
      },
      put: async <T>(collection: Collection, id: string, doc: T) => {
        assertTxOpen(scope);
        const docs = this.docsOf(collection);
        assertValidId(collection, id);
        docs.set(id, encodeDocument(collection, id, doc));
      },
      delete: async (collection: Collection, id: string) => {
        assertTxOpen(scope);
        const docs = this.docsOf(collection);
        assertValidId(collection, id);
        docs.delete(id);
      },
    };
  }

  private read<T>(collection: Collection, id: string): T | undefined {
    const docs = this.docsOf(collection);
    assertValidId(collection, id);
    const text = docs.get(id);
    return text === undefined ? undefined : (JSON.parse(text) as T);
  }

  private readAll<T>(collection: Collection): T[] {
    const docs = this.docsOf(collection);
    // Same order as FileStore, which sorts the `<id>.json` file names.
    const ids = [...docs.keys()].sort((a, b) => (a + '.json' < b + '.json' ? -1 : 1));
    return ids.map((id) => JSON.parse(docs.get(id)!) as T);
  }

  /** Validates the collection name and returns its documents, creating the map on first use. */
  private docsOf(collection: Collection): Map<string, string> {
    const key = collectionDirName(collection);
    let docs = this.collections.get(key);
    if (!docs) this.collections.set(key, (docs = new Map<string, string>()));
    return docs;
  }
}
