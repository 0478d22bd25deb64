import { SwitchyardError } from '../errors/switchyard-error.js';
import type { AppliedPlan, Kernel, KernelFeature, KernelStep, NetnsRef } from '../spi/kernel.js';

/**
 * Wraps a real (or fake) kernel so that the N-th step applied from now on fails: the steps before it
 * really run, are then undone, and a coded error is thrown — a fault at any point of an operation,
 * on the real kernel, for rollback tests.
 */
export class StepFailingKernel implements Kernel {
  private failAtStep: number | undefined;
  private seen = 0;

  constructor(private readonly inner: Kernel) {}

  /** The step with this index (0 = the next step applied) fails once. */
  failAt(index: number): void {
    this.failAtStep = index;
    this.seen = 0;
  }

  /** Counts the steps an operation applies (call `stepsSeen` after it). */
  startCounting(): void {
    this.failAtStep = undefined;
    this.seen = 0;
  }

  /** Steps applied since the last {@link StepFailingKernel.failAt} or {@link StepFailingKernel.startCounting}. */
  get stepsSeen(): number {
    return this.seen;
  }

  async apply(steps: readonly KernelStep[]): Promise<AppliedPlan> {
    const k = this.failAtStep === undefined ? Infinity : this.failAtStep - this.seen;
    if (k >= steps.length) {
      this.seen += steps.length;
      return this.inner.apply(steps);
    }
    this.failAtStep = undefined;
    const done = k > 0 ? await this.inner.apply(steps.slice(0, k)) : { steps: [] };
    await this.inner.revert(done);
    throw new SwitchyardError('SWY_ERR_KERNEL_OP_FAILED', `Injected failure at step ${this.seen + k} (${steps[k]?.op.op})`, { hint: 'Raised on purpose by a rollback test.' });
  }

  revert(applied: AppliedPlan): Promise<void> {
    return this.inner.revert(applied);
  }
  listLinks(ns: NetnsRef) {
    return this.inner.listLinks(ns);
  }
  listAddrs(ns: NetnsRef) {
    return this.inner.listAddrs(ns);
  }
  listRoutes(ns: NetnsRef) {
    return this.inner.listRoutes(ns);
  }
  createNetns(name: string) {
    return this.inner.createNetns(name);
  }
  deleteNetns(name: string) {
    return this.inner.deleteNetns(name);
  }
  netnsExists(ns: NetnsRef) {
    return this.inner.netnsExists(ns);
  }
  probe(feature: KernelFeature) {
    return this.inner.probe(feature);
  }
  /** Closes the wrapped executor's sockets (Switchyard's close calls this). */
  close(): void {
    (this.inner as Kernel & { close?: () => void }).close?.();
  }
}
