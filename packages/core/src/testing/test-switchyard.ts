import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSwitchyard, type Switchyard, type SwitchyardOptions } from '../di/create-switchyard.js';
import type { DriverManifest } from '../registry/plugin.js';
import { MemoryStore } from '../store/memory-store.js';
import { FakeKernel } from './fake-kernel.js';
import { MemoryIpam, memoryIpamManifest } from './memory-ipam.js';

export interface TestSwitchyard extends Switchyard {
  /** The fake kernel the instance runs on (also `kernel`), for assertions on kernel state. */
  fake: FakeKernel;
  /** The in-memory IPAM registered as `host-local`. */
  ipam: MemoryIpam;
  /** The in-memory state store (also `store`). */
  memoryStore: MemoryStore;
  /** Closes the instance and removes its temporary state directory. */
  dispose(): Promise<void>;
}

/** A Switchyard on FakeKernel, MemoryStore and MemoryIpam, with a temporary state dir: no root needed. */
export async function createTestSwitchyard(
  drivers: DriverManifest[],
  {
    ipamName,
    ...options
  }: Partial<SwitchyardOptions> & {
    /** The fake kernel to run on (default: a new one). */
    kernel?: FakeKernel;
    /** The name the in-memory IPAM is registered under (default `host-local`; `global` for overlay and routed networks). */
    ipamName?: string;
  } = {},
): Promise<TestSwitchyard> {
  const stateDir = mkdtempSync(join(tmpdir(), 'swy-test-'));
  const fake = options.kernel ?? new FakeKernel();
  const ipam = new MemoryIpam(ipamName);
  const memoryStore = new MemoryStore();
  const sy = await createSwitchyard({
    stateDir,
    autoloadPlugins: false,
    recover: false,
    ipams: [memoryIpamManifest(ipam)],
    store: memoryStore,
    ...options,
    kernel: fake,
    drivers,
  });
  return Object.assign(sy, {
    fake,
    ipam,
    memoryStore,
    async dispose() {
      await sy.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  });
}
