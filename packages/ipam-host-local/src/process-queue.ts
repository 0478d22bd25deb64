/** Tails of the per-key queues; flock already excludes other processes, this keeps calls in one process from spinning on it. */
const tails = new Map<string, Promise<void>>();

/** Runs `fn` after every earlier call with the same key has settled (an in-process mutex). */
export function runExclusive<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = tails.get(key) ?? Promise.resolve();
  const run = previous.then(fn);
  const tail = run.then(
    () => undefined,
    () => undefined,
  );
  tails.set(key, tail);
  void tail.then(() => {
    if (tails.get(key) === tail) tails.delete(key);
  });
  return run;
}
