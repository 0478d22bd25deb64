import { join, resolve } from 'node:path';
import type { Collection, LockScope, StateStore, StoreTx } from '../spi/state-store.js';
import { SwitchyardError } from '../errors/switchyard-error.js';
import { ensureStateDir, readDocument, readDocumentsIn, removeDocument, removeStaleTempFiles, writeDocumentAtomically, documentPath } from './document-files.js';
import { encodeDocument } from './store-document.js';
import { FileLock } from './file-lock.js';
import { assertNotClosed, assertTxOpen, SerialTransactions, type TxScope } from './serial-transactions.js';
import { assertValidId, collectionDirName } from './store-names.js';

/** Where and how a {@link FileStore} keeps its documents. */
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
  /** Told, once per wait, when a lock is still busy after a second: which lock and who holds it. */
  onLockWait?: (message: string) => void;
}

/** Object keys of lock scopes: a lower-case word, a colon, an object name (they become file names). */
const LOCK_KEY = /^[a-z][a-z0-9-]{0,30}:[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

const DEFAULT_STATE_DIR = '/var/lib/switchyard';

/**
 * The embedded StateStore: `<stateDir>/<collection>/<id>.json`, one JSON document per object,
 * each replaced atomically, transactions serialised across processes by flock on `<stateDir>/lock`.
 */
export class FileStore implements StateStore {
  /** The state directory, absolute. */
  readonly stateDir: string;
  /** Whether puts and deletes are fsynced before they resolve. */
  readonly durable: boolean;
  private readonly volatile: ReadonlySet<Collection>;
  private readonly lockPath: string;
  private readonly lockTimeoutMs: number | undefined;
  private readonly onLockWait: ((message: string) => void) | undefined;
  private readonly transactions = new SerialTransactions<StoreTx>((scope) => this.txFor(scope));
  private swept = false;
  private closed = false;

  constructor(options: FileStoreOptions) {
    this.stateDir = resolve(options.stateDir);
    this.durable = options.durable ?? true;
    this.volatile = new Set(options.volatileCollections ?? ['sandboxes', 'endpoints', 'intents']);
    this.lockPath = join(this.stateDir, 'lock');
    this.lockTimeoutMs = options.lockTimeoutMs;
    this.onLockWait = options.onLockWait;
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

  async transaction<T>(fn: (tx: StoreTx) => Promise<T>, scope?: LockScope): Promise<T> {
    // A transaction nested in one that close() is waiting for may still join it.
    if (!this.transactions.insideTransaction()) assertNotClosed(this.closed, `The file store at ${this.stateDir}`);
    const plan = scope === undefined ? undefined : lockPlan(scope);
    let locks: FileLock[] = [];
    const deleted = new Set<string>();
    return this.transactions.run(
      {
        enter: async () => {
          if (!this.swept) await ensureStateDir(this.stateDir, this.durable);
          locks = await this.acquire(plan);
          if (this.swept) return;
          try {
            await removeStaleTempFiles(this.stateDir);
            this.swept = true;
          } catch (e) {
            for (const l of locks.reverse()) l.release();
            throw e;
          }
        },
        leave: () => {
          // An object deleted under its exclusive lock takes its lock file along (no lock files pile up).
          const gone = new Set(plan?.filter((p) => p.mode === 'exclusive' && deleted.has(p.key)).map((p) => this.lockFileOf(p.key)));
          for (const l of locks.reverse()) {
            if (gone.has(l.path)) l.releaseAndRemove();
            else l.release();
          }
        },
      },
      (tx) => fn(this.noticingDeletes(tx, deleted)),
    );
  }

  /**
   * The store-wide lock (shared for a scoped transaction, else exclusive), then each object's lock in
   * key order: every process takes locks in the same order, so no two can wait for each other.
   */
  private async acquire(plan: Array<{ key: string; mode: 'shared' | 'exclusive' }> | undefined): Promise<FileLock[]> {
    const held: FileLock[] = [];
    const take = async (path: string, what: string, mode: 'shared' | 'exclusive') => {
      const onLockWait = this.onLockWait;
      held.push(
        await FileLock.acquire(path, {
          mode,
          ...(this.lockTimeoutMs === undefined ? {} : { timeoutMs: this.lockTimeoutMs }),
          ...(onLockWait ? { onWait: (holders: string) => onLockWait(`waiting for the lock on ${what}, held by ${holders}`) } : {}),
        }),
      );
    };
    try {
      await take(this.lockPath, 'the state dir', plan === undefined ? 'exclusive' : 'shared');
      if (plan !== undefined && plan.length > 0) {
        const dir = join(this.stateDir, 'locks');
        await ensureStateDir(dir, false);
        for (const { key, mode } of plan) await take(this.lockFileOf(key), key.replace(':', ' '), mode);
      }
      return held;
    } catch (e) {
      for (const l of held.reverse()) l.release();
      throw e;
    }
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

  private lockFileOf(key: string): string {
    return join(this.stateDir, 'locks', key.replace(':', '-'));
  }

  /** The tx, recording which networks and sandboxes it deletes (as lock keys). */
  private noticingDeletes(tx: StoreTx, deleted: Set<string>): StoreTx {
    return {
      ...tx,
      delete: async (collection, id) => {
        await tx.delete(collection, id);
        if (collection === 'networks' || collection === 'sandboxes') deleted.add(`${collection === 'networks' ? 'network' : 'sandbox'}:${id}`);
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

/** Sorted, deduplicated keys; a key asked for both ways is taken exclusively. */
function lockPlan(scope: LockScope): Array<{ key: string; mode: 'shared' | 'exclusive' }> {
  const modes = new Map<string, 'shared' | 'exclusive'>();
  for (const key of scope.shared ?? []) modes.set(key, 'shared');
  for (const key of scope.exclusive ?? []) modes.set(key, 'exclusive');
  for (const key of modes.keys()) {
    if (!LOCK_KEY.test(key)) {
      throw new SwitchyardError('SWY_ERR_STORE_IO', `Lock key ${JSON.stringify(key)} is not <word>:<object name>`, {
        hint: 'Lock objects by key, e.g. network:<name> or sandbox:<name>.',
      });
    }
  }
  return [...modes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, mode]) => ({ key, mode }));
}
