import { AsyncLocalStorage } from 'node:async_hooks';
import { SwitchyardError } from '../errors/switchyard-error.js';

/** Whether the transaction a tx object belongs to is still running. */
export interface TxScope {
  readonly open: boolean;
}

interface MutableScope {
  open: boolean;
}

/** How a store enters and leaves its exclusive section (e.g. takes and drops a flock). */
export interface ExclusiveSection {
  enter(): Promise<void>;
  leave(): void | Promise<void>;
}

/**
 * Runs a store's transactions one at a time in this process, re-entrantly: a transaction started
 * from inside another one's async call chain joins it instead of waiting for a lock its own caller holds.
 */
export class SerialTransactions<Tx> {
  private readonly current = new AsyncLocalStorage<{ scope: MutableScope; tx: Tx }>();
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly makeTx: (scope: TxScope) => Tx) {}

  async run<T>(section: ExclusiveSection, fn: (tx: Tx) => Promise<T>): Promise<T> {
    const outer = this.current.getStore();
    if (outer?.scope.open) return fn(outer.tx);

    // Queue in-process callers so only one of them polls the inter-process lock at a time.
    const previous = this.tail;
    let done!: () => void;
    this.tail = new Promise<void>((resolve) => (done = resolve));
    try {
      await previous;
      await section.enter();
      const scope: MutableScope = { open: true };
      const tx = this.makeTx(scope);
      try {
        return await this.current.run({ scope, tx }, () => fn(tx));
      } finally {
        scope.open = false;
        await section.leave();
      }
    } finally {
      done();
    }
  }

  /** True inside the async call chain of a running transaction (a new one would join it). */
  insideTransaction(): boolean {
    return this.current.getStore()?.scope.open === true;
  }

  /** Resolves once every queued transaction has finished. */
  async drain(): Promise<void> {
    let last: Promise<void> | undefined;
    while (last !== this.tail) {
      last = this.tail;
      await last;
    }
  }
}

/** Throws unless the tx's transaction is still running (a tx kept past its transaction holds no lock). */
export function assertTxOpen(scope: TxScope): void {
  if (scope.open) return;
  throw new SwitchyardError('SWY_ERR_STORE_IO', 'This transaction has already ended; its tx object can no longer be used', {
    hint: 'Await every store call inside the transaction function, or start a new transaction.',
  });
}

/** Throws once the store has been closed. */
export function assertNotClosed(closed: boolean, what: string): void {
  if (!closed) return;
  throw new SwitchyardError('SWY_ERR_STORE_IO', `${what} has been closed`, {
    hint: 'Create a new store instance; a closed store cannot be reopened.',
  });
}
