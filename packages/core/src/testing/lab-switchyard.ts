import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSwitchyard, type Switchyard, type SwitchyardOptions } from '../di/create-switchyard.js';
import { requireLab } from './lab.js';

export interface LabSwitchyard extends Switchyard {
  /** Removes every sandbox and network it still has (best effort), closes it, deletes its state dir. */
  dispose(): Promise<void>;
}

/** A Switchyard on the real kernel for `*.itest.ts` files: lab only, temporary state dir, no plugin autoload. */
export async function createLabSwitchyard(options: SwitchyardOptions): Promise<LabSwitchyard> {
  requireLab();
  const stateDir = mkdtempSync(join(tmpdir(), 'swy-lab-'));
  const sy = await createSwitchyard({ stateDir, autoloadPlugins: false, ...options });
  return Object.assign(sy, {
    async dispose() {
      for (const s of await sy.controller.listSandboxes()) await sy.controller.deleteSandbox(s.name).catch(() => undefined);
      for (const n of await sy.controller.listNetworks()) await sy.controller.deleteNetwork(n.name).catch(() => undefined);
      await sy.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  });
}
