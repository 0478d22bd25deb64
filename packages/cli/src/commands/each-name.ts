import type { CliContext } from '../context.js';
import { oneLine, toFailure } from '../output/failure.js';

/**
 * Removes every named object in turn, as `docker rm a b c` does: one that cannot go does not stop the
 * others. Each later failure is printed as a warning; the first is rethrown at the end, so the exit
 * status says what went wrong. Returns what was removed.
 */
export async function removeEach<T>(ctx: CliContext, names: string[], remove: (name: string) => Promise<T>): Promise<T[]> {
  const removed: T[] = [];
  let first: Error | undefined;
  for (const name of names) {
    try {
      removed.push(await remove(name));
    } catch (e) {
      if (first === undefined) first = e instanceof Error ? e : new Error(String(e));
      else ctx.warn(oneLine(`could not remove ${name}: ${toFailure(e).message} (${toFailure(e).code})`));
    }
  }
  if (first !== undefined) throw first;
  return removed;
}
