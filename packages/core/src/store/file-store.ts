import { join, resolve } from 'node:path';
import type { Collection, StateStore, StoreTx } from '../spi/state-store.js';
import { ensureStateDir, readDocument, readDocumentsIn, removeDocument, removeStaleTempFiles, writeDocumentAtomically, documentPath } from './document-files.js';
import { encodeDocument } from './store-document.js';
import { FileLock } from './file-lock.js';
import { assertNotClosed, assertTxOpen, SerialTransactions, type TxScope } from './serial-transactions.js';
import { assertValidId, collectionDirName } from './store-names.js';

export interface FileStoreOptions {
  /** Directory holding one sub-directory per collection and the `lock` file; created (mode 0700) on first use. */
  stateDir: string;
  /** fsync each document and its directory before a put/delete resolves; default true. */
  durable?: boolean;
  /**
   * Collections whose documents describe kernel state that a reboot destroys anyway (namespaces,
   * endpoints, the intents guarding them): written atomically but never fsynced, since a process
   * crash keeps the page cache and a power loss loses the namespaces too. Default: sandboxes,
   * endpoints, intents.
   */
  volatileCollections?: readonly Collection[];
  /** How long a transaction waits for another process's lock; default 60 s. */
  lockTimeoutMs?: number;
}

const DEFAULT_STATE_DIR = '/var/lib/switchyard';

/**
 * The embedded StateStore: `<stateDir>/<collection>/<id>.json`, one JSON document per object,
 * each replaced atomically, transactions serialised across processes by flock on `<stateDir>/lock`.
 */
export class FileStore implements StateStore {
  readonly stateDir: string;
  readonly durable: boolean;
  private readonly volatile: ReadonlySet<Collection>;
  private readonly lockPath: string;
  private readonly lockTimeoutMs: number | undefined;
  private readonly transactions = new SerialTransactions<StoreTx>((scope) => this.txFor(scope));
  private swept = false;
  private closed = false;

  constructor(options: FileStoreOptions) {
    this.stateDir = resolve(options.stateDir);
    this.durable = options.durable ?? true;
    this.volatile = new Set(options.volatileCollections ?? ['sandboxes', 'endpoints', 'intents']);
    this.lockPath = join(this.stateDir, 'lock');
    this.lockTimeoutMs = options.lockTimeoutMs;
  }

  /** Whether writes to this collection are fsynced. */
  syncs(collection: Collection): boolean {
    return this.durable && !this.volatile.has(collection);
  }

  /** `SWITCHYARD_STATE_DIR` when set and non-empty, else /var/lib/switchyard. */
  static defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
    const fromEnv = env.SWITCHYARD_STATE_DIR;
    return fromEnv !== undefined && fromEnv !== '' ? fromEnv : DEFAULT_STATE_DIR;
  }

  async get<T>(collection: Collection, id: string): Promise<T | undefined> {
    assertNotClosed(this.closed, `The file store at ${this.stateDir}`);
    return (await readDocument(this.pathOf(collection, id))) as T | undefined;
  }

  async list<T>(collection: Collection): Promise<T[]> {
    assertNotClosed(this.closed, `The file store at ${this.stateDir}`);
    return (await readDocumentsIn(this.dirOf(collection))) as T[];
  }

  async transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    // A transaction nested in one that close() is waiting for may still join it.
    if (!this.transactions.insideTransaction()) assertNotClosed(this.closed, `The file store at ${this.stateDir}`);
    let lock: FileLock | undefined;
    return this.transactions.run(
      {
        enter: async () => {
          if (!this.swept) await ensureStateDir(this.stateDir, this.durable);
          lock = await FileLock.acquire(this.lockPath, this.lockTimeoutMs === undefined ? {} : { timeoutMs: this.lockTimeoutMs });
          if (this.swept) return;
          try {
            await removeStaleTempFiles(this.stateDir);
            this.swept = true;
          } catch (e) {
            lock.release();
            throw e;
          }
        },
        leave: () => lock?.release(),
      },
      fn,
    );
  }

  /** Waits for running transactions, then refuses further use (no descriptor stays open between transactions). */
  async close(): Promise<void> {
    this.closed = true;
    await this.transactions.drain();
  }

  private txFor(scope: TxScope): StoreTx {
    return {
      get: async <T>(collection: Collection, id: string) => {
        assertTxOpen(scope);
        return (await readDocument(this.pathOf(collection, id))) as T | undefined;
      },
      list: async <T>(collection: Collection) => {
        assertTxOpen(scope);
        return (await readDocumentsIn(this.dirOf(collection))) as T[];
      },
      put: async <T>(collection: Collection, id: string, doc: T) => {
        assertTxOpen(scope);
        const dir = this.dirOf(collection);
        assertValidId(collection, id);
        await writeDocumentAtomically(dir, id, encodeDocument(collection, id, doc), this.syncs(collection));
      },
      delete: async (collection: Collection, id: string) => {
        assertTxOpen(scope);
        const dir = this.dirOf(collection);
        assertValidId(collection, id);
        await removeDocument(dir, id, this.syncs(collection));
      },
    };
  }

  private dirOf(collection: Collection): string {
    return join(this.stateDir, collectionDirName(collection));
  }

  private pathOf(collection: Collection, id: string): string {
    const dir = this.dirOf(collection);
    assertValidId(collection, id);
    return documentPath(dir, id);
  }
}
