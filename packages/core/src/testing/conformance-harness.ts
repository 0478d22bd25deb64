import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSwitchyard, type Switchyard } from '../di/create-switchyard.js';
import { NetlinkExecutor } from '../kernel/netlink/netlink-executor.js';
import type { DriverManifest } from '../registry/plugin.js';
import { HOST_NS, type Kernel, type KernelFeature } from '../spi/kernel.js';
import type { GlobalStore } from '../spi/global-store.js';
import { MemoryStore } from '../store/memory-store.js';
import { FakeKernel } from './fake-kernel.js';
import { kernelSnapshot, requireLab, uniqueName } from './lab.js';
import { MemoryIpam, memoryIpamManifest } from './memory-ipam.js';
import { settledSnapshot } from './settled-snapshot.js';
import { StepFailingKernel } from './step-failing-kernel.js';

/** Where the conformance suite runs: on FakeKernel (no root), or on the real kernel inside the lab (scripts/lab.sh or user-mode Linux). */
export type ConformanceKernel = 'fake' | 'lab';

/** One Switchyard under test, on either kernel, with what the suite needs to observe it. */
export interface ConformanceHarness {
  readonly sy: Switchyard;
  readonly ipam: MemoryIpam;
  /** The kernel wrapped so that a chosen step fails (rollback tests) and steps can be counted. */
  readonly kernel: StepFailingKernel;
  /** Sandbox names are prefixed in the lab, so that no two test files share a namespace name. */
  sandboxName(name: string): string;
  /** A deterministic picture of every namespace, for before/after comparisons. */
  kernelState(): Promise<unknown>;
  /** The picture once the kernel has settled on `expected` (the real kernel frees a deleted namespace's links asynchronously), or the last one seen. */
  kernelStateSettledTo(expected: unknown): Promise<unknown>;
  /** Removes what the instance still holds and closes it; in the lab also the master link it made. */
  dispose(): Promise<void>;
}

/** Retired links wait for settle() (or close), so a test sees exactly what a disconnect leaves before its batch. */
const HELD_BATCHES = { delayMs: 1e9 };

export interface HarnessSetup {
  /** The master link drivers like macvlan need: made as a veth pair in the lab, left to `prepareFake` on FakeKernel. */
  master?: { name: string; mtu: number };
  /** Kernel features FakeKernel offers (default: all of them, as a stock distribution kernel). */
  kernelFeatures?: Partial<Record<KernelFeature, boolean>>;
  prepareFake?: (kernel: FakeKernel) => Promise<void>;
  /** The global store the instance is given (drivers of global scope need one). */
  globalStore?: GlobalStore;
}

export async function createConformanceHarness(on: ConformanceKernel, manifest: DriverManifest, setup: HarnessSetup): Promise<ConformanceHarness> {
  return on === 'lab' ? labHarness(manifest, setup) : fakeHarness(manifest, setup);
}

async function fakeHarness(manifest: DriverManifest, setup: HarnessSetup): Promise<ConformanceHarness> {
  const fake = new FakeKernel(setup.kernelFeatures ? { features: setup.kernelFeatures } : {});
  if (setup.prepareFake) await setup.prepareFake(fake);
  const kernel = new StepFailingKernel(fake);
  // Registered under the name the driver's networks use by default (host-local, or its capability's defaultIpam).
  const ipam = new MemoryIpam(manifest.capability.defaultIpam?.driver);
  const stateDir = mkdtempSync(join(tmpdir(), 'swy-conf-'));
  const sy = await createSwitchyard({
    stateDir,
    autoloadPlugins: false,
    recover: false,
    store: new MemoryStore(),
    kernel,
    drivers: [manifest],
    ipams: [memoryIpamManifest(ipam)],
    linkDeletion: HELD_BATCHES,
    ...(setup.globalStore ? { globalStore: setup.globalStore } : {}),
  });
  return {
    sy,
    ipam,
    kernel,
    sandboxName: (name) => name,
    kernelState: async () => fake.snapshot(),
    kernelStateSettledTo: async () => fake.snapshot(),
    async dispose() {
      await sy.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

async function labHarness(manifest: DriverManifest, setup: HarnessSetup): Promise<ConformanceHarness> {
  requireLab();
  const real = new NetlinkExecutor();
  const master = setup.master;
  if (master) {
    await real.apply([
      { ns: HOST_NS, op: { op: 'link.add', kind: 'veth', name: master.name, peer: { name: `${master.name.slice(0, 14)}p`, mtu: master.mtu }, mtu: master.mtu } },
      { ns: HOST_NS, op: { op: 'link.set', name: master.name, up: true } },
    ]);
  }
  const kernel = new StepFailingKernel(real);
  // Registered under the name the driver's networks use by default (host-local, or its capability's defaultIpam).
  const ipam = new MemoryIpam(manifest.capability.defaultIpam?.driver);
  const stateDir = mkdtempSync(join(tmpdir(), 'swy-conf-'));
  const prefix = uniqueName('cf');
  let sy: Switchyard;
  try {
    sy = await createSwitchyard({
      stateDir,
      autoloadPlugins: false,
      durable: false,
      kernel,
      drivers: [manifest],
      ipams: [memoryIpamManifest(ipam)],
      linkDeletion: HELD_BATCHES,
      ...(setup.globalStore ? { globalStore: setup.globalStore } : {}),
    });
  } catch (err) {
    await removeMaster(real, master?.name);
    real.close();
    throw err;
  }
  return {
    sy,
    ipam,
    kernel,
    sandboxName: (name) => `${prefix}${name}`,
    kernelState: () => kernelSnapshot('all'),
    kernelStateSettledTo: (expected) => settledSnapshot(expected as Awaited<ReturnType<typeof kernelSnapshot>>, 'all'),
    async dispose() {
      try {
        for (const s of await sy.controller.listSandboxes()) await sy.controller.deleteSandbox(s.name).catch(() => undefined);
        for (const n of await sy.controller.listNetworks()) await sy.controller.deleteNetwork(n.name).catch(() => undefined);
        await removeMaster(real, master?.name);
      } finally {
        await sy.close();
        rmSync(stateDir, { recursive: true, force: true });
      }
    },
  };
}

async function removeMaster(kernel: Kernel, name: string | undefined): Promise<void> {
  if (name) await kernel.apply([{ ns: HOST_NS, op: { op: 'link.del', name, ifExists: true } }]);
}
