// The built library as the benchmarks load it: core, the bridge driver and host-local from dist/.
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

/** Imports core, the bridge driver and host-local from their built dist/ (run `pnpm build` first). */
export async function loadLibrary() {
  const core = await import(join(root, 'packages/core/dist/index.js'));
  const bridge = (await import(join(root, 'packages/driver-bridge/dist/index.js'))).default;
  const hostLocal = (await import(join(root, 'packages/ipam-host-local/dist/index.js'))).default;
  /** A Switchyard with the bridge driver and host-local on `stateDir`, plugins off; `extra` adds options. */
  const open = (stateDir, extra = {}) => core.createSwitchyard({ stateDir, drivers: [bridge], ipams: [hostLocal], autoloadPlugins: false, ...extra });
  return { core, bridge, hostLocal, open };
}
