/**
 * Which script the installed wrappers run: the bundle (dist-bundle/, built by `pnpm build` after tsc)
 * when it is there and newer than every file it was made from, else the unbundled bin script. A bundle
 * older than its sources (tsc ran again, the bundle step did not) is never used: the wrappers would run
 * old code.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The unbundled entry: bin/switchyard-cni.js over dist/ (tsc's output). */
export const CNI_UNBUNDLED_ENTRY = fileURLToPath(new URL('../bin/switchyard-cni.js', import.meta.url));

/** The bundled entry (packages/cni/scripts/bundle.mjs): the same plugins, a fraction of the start-up cost. */
export const CNI_BUNDLED_ENTRY = fileURLToPath(new URL('../dist-bundle/switchyard-cni.cjs', import.meta.url));

/** The bundled entry when it is built and up to date, else the unbundled one. */
export function cniEntry(): string {
  return bundleIsFresh(CNI_BUNDLED_ENTRY) ? CNI_BUNDLED_ENTRY : CNI_UNBUNDLED_ENTRY;
}

function bundleIsFresh(entry: string): boolean {
  try {
    const dir = join(entry, '..');
    const built = statSync(entry).mtimeMs;
    const inputs = JSON.parse(readFileSync(join(dir, 'inputs.json'), 'utf8')) as string[];
    return inputs.every((input) => statSync(join(dir, input)).mtimeMs <= built);
  } catch {
    // Not built, or an input is gone: the unbundled entry.
    return false;
  }
}
