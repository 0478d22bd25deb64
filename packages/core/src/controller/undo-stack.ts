import type { Logger } from '../registry/logger.js';

/** Undo actions of a multi-step operation; on failure they run in reverse, each even if another fails. */
export class UndoStack {
  private readonly actions: Array<{ label: string; run: () => Promise<unknown> }> = [];

  push(label: string, run: () => Promise<unknown>): void {
    this.actions.push({ label, run });
  }

  /** Runs every undo action, newest first; returns the ones that failed (the caller keeps the intent record then). */
  async unwind(logger: Logger): Promise<Array<{ label: string; error: unknown }>> {
    const failed: Array<{ label: string; error: unknown }> = [];
    for (const action of this.actions.reverse()) {
      try {
        await action.run();
      } catch (error) {
        logger.warn(`rollback step failed: ${action.label}`, { error: String(error) });
        failed.push({ label: action.label, error });
      }
    }
    this.actions.length = 0;
    return failed;
  }
}
