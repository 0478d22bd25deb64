/**
 * Waits for a condition instead of sleeping a guessed time: polls `condition` every `everyMs` until
 * it holds. `maxMs` is a hang guard, not a timing assertion (a minute by default, far beyond what a
 * loaded machine needs); past it this throws, naming `what` was awaited.
 */
export async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, options: { everyMs?: number; maxMs?: number } = {}): Promise<void> {
  const deadline = Date.now() + (options.maxMs ?? 60_000);
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`waitUntil: gave up waiting for ${what} after ${options.maxMs ?? 60_000} ms`);
    await new Promise((r) => setTimeout(r, options.everyMs ?? 20));
  }
}
