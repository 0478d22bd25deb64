/** One queued call: settled by the lane once the transaction that carried it committed or failed. */
export interface Pending<O, R> {
  /** What is asked. */
  op: O;
  /** Called with the call's result. */
  resolve(value: R): void;
  /** Called with the call's error. */
  reject(error: unknown): void;
}

type Entry<O, R> = { kind: 'batched'; pending: Pending<O, R> } | { kind: 'exclusive'; run: () => Promise<unknown>; resolve(value: unknown): void; reject(error: unknown): void };

/**
 * A per-pool queue that group-commits: every batchable call waiting when a commit starts goes into that
 * commit (up to `maxBatch`), so a busy pool costs one store transaction per batch instead of one per call.
 * Exclusive calls (pool requests and releases) run alone, in queue order.
 */
export class CommitLane<O, R> {
  private readonly queue: Array<Entry<O, R>> = [];
  private running = false;

  constructor(
    private readonly commit: (batch: Array<Pending<O, R>>) => Promise<void>,
    private readonly maxBatch: number,
  ) {}

  /** Queues a call for the next group commit. */
  submit(op: O): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ kind: 'batched', pending: { op, resolve, reject } });
      this.kick();
    });
  }

  /** Runs `run` alone, after everything queued before it. */
  exclusive<T>(run: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ kind: 'exclusive', run, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.running) return;
    this.running = true;
    // Started on the next turn, so calls made in the same turn share the first commit.
    setImmediate(() => void this.drain());
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const head = this.queue[0]!;
        if (head.kind === 'exclusive') {
          this.queue.shift();
          try {
            head.resolve(await head.run());
          } catch (e) {
            head.reject(e);
          }
          continue;
        }
        const batch: Array<Pending<O, R>> = [];
        while (batch.length < this.maxBatch && this.queue[0]?.kind === 'batched') batch.push((this.queue.shift() as { pending: Pending<O, R> }).pending);
        try {
          await this.commit(batch);
        } catch (e) {
          for (const p of batch) p.reject(e);
        }
      }
    } finally {
      this.running = false;
    }
  }
}
