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

/**
 * Runs an operation whose steps push their undo on a fresh stack. On success `settle` runs (it clears
 * the intent record); on failure the stack unwinds and `settle` runs only if every undo succeeded —
 * otherwise the intent record stays for the next start's recovery. The error is rethrown either way.
 */
export async function runUndoable<T>(logger: Logger, settle: () => Promise<unknown>, body: (undo: UndoStack) => Promise<T>): Promise<T> {
  const undo = new UndoStack();
  try {
    const result = await body(undo);
    await settle();
    return result;
  } catch (error) {
    const failed = await undo.unwind(logger);
    if (failed.length === 0) await settle();
    throw error;
  }
}
