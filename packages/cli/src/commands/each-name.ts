import type { CliContext } from '../context.js';
import { oneLine, toFailure } from '../output/failure.js';

/**
 * Runs `act` for every name in turn, as `docker rm a b c` and `docker network inspect a b` do: one that
 * fails does not stop the others. Each later failure is printed as a warning; the first is rethrown at
 * the end, so the exit status says what went wrong. Returns what succeeded, in order.
 */
async function eachName<T>(ctx: CliContext, names: readonly string[], verb: string, act: (name: string) => Promise<T>): Promise<T[]> {
  const done: T[] = [];
  let first: Error | undefined;
  for (const name of names) {
    try {
      done.push(await act(name));
    } catch (e) {
      if (first === undefined) first = e instanceof Error ? e : new Error(String(e));
      else ctx.warn(oneLine(`could not ${verb} ${name}: ${toFailure(e).message} (${toFailure(e).code})`));
    }
  }
  if (first !== undefined) throw first;
  return done;
}

/** Removes every named object in turn; see eachName. */
export function removeEach<T>(ctx: CliContext, names: readonly string[], remove: (name: string) => Promise<T>): Promise<T[]> {
  return eachName(ctx, names, 'remove', remove);
}

/**
 * `inspect NAME…`: each found object's human text is printed as it comes (blank line between), so a
 * name not found further on loses nothing already shown. Under --json one name gives its object and
 * several an array; a failure prints only the error, as with `rm`.
 */
export async function inspectEach(ctx: CliContext, names: readonly string[], inspect: (name: string) => Promise<{ human: string; json: unknown }>): Promise<void> {
  let shown = 0;
  const found = await eachName(ctx, names, 'inspect', async (name) => {
    const got = await inspect(name);
    ctx.say((shown++ > 0 ? '\n' : '') + got.human);
    return got.json;
  });
  ctx.emitJson(names.length === 1 ? found[0] : found);
}
