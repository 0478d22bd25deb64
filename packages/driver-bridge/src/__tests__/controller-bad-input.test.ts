import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSwitchyard, MemoryStore, type Switchyard } from '@switchyard/core';
import { FakeKernel } from '@switchyard/core/testing';
import bridge from '../index.js';
import hostLocal from '@switchyard/ipam-host-local';

/** Bad input through the whole stack (controller + real host-local on disk): a coded error, nothing changed. */
describe('bad input through the controller with host-local IPAM', () => {
  let dir: string;
  let sy: Switchyard;
  const listing = () => readdirSync(dir, { recursive: true }).map(String).sort();
  const stored = async () => ({ n: await sy.store.list('networks'), s: await sy.store.list('sandboxes'), i: await sy.store.list('intents') });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'swy-bad-'));
    sy = await createSwitchyard({ stateDir: dir, kernel: new FakeKernel(), store: new MemoryStore(), drivers: [bridge], ipams: [hostLocal], autoloadPlugins: false });
    await sy.controller.createNetwork({ name: 'ok', driver: 'bridge', ipam: { ipv4: [{ subnet: '10.70.0.0/30' }] } });
    await sy.controller.createSandbox({ name: 's1' });
    await sy.controller.createSandbox({ name: 's2' });
    await sy.controller.connect('ok', 's1');
  });
  afterEach(async () => {
    await sy.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const cases: Array<[string, string, () => Promise<unknown>]> = [
    ['a malformed CIDR', 'SWY_ERR_INVALID_CIDR', () => sy.controller.createNetwork({ name: 'x', driver: 'bridge', ipam: { ipv4: [{ subnet: '10.0.0.0/33' }] } })],
    ['overlapping ranges in one set', 'SWY_ERR_POOL_OVERLAP', () => sy.controller.createNetwork({ name: 'x', driver: 'bridge', ipam: { ipv4: [{ subnet: '10.71.0.0/24' }, { subnet: '10.71.0.128/25' }] } })],
    ['a subnet overlapping another network', 'SWY_ERR_POOL_OVERLAP', () => sy.controller.createNetwork({ name: 'x', driver: 'bridge', ipam: { ipv4: [{ subnet: '10.70.0.0/24' }] } })],
    ['a /32 subnet', 'SWY_ERR_SUBNET_TOO_SMALL', () => sy.controller.createNetwork({ name: 'x', driver: 'bridge', ipam: { ipv4: [{ subnet: '10.72.0.1/32' }] } })],
    ['an unknown driver', 'SWY_ERR_DRIVER_NOT_FOUND', () => sy.controller.createNetwork({ name: 'x', driver: 'warp' })],
    ['a duplicate network name', 'SWY_ERR_NETWORK_EXISTS', () => sy.controller.createNetwork({ name: 'ok', driver: 'bridge' })],
    ['an exhausted pool', 'SWY_ERR_POOL_EXHAUSTED', () => sy.controller.connect('ok', 's2')],
    ['an address outside the range', 'SWY_ERR_ADDRESS_OUT_OF_RANGE', () => sy.controller.connect('ok', 's2', { ipv4: '10.99.0.5' })],
    ['an address already taken', 'SWY_ERR_ADDRESS_IN_USE', () => sy.controller.connect('ok', 's2', { ipv4: '10.70.0.2' })],
    ['an unknown sandbox', 'SWY_ERR_SANDBOX_NOT_FOUND', () => sy.controller.connect('ok', 'ghost')],
    ['an unknown network', 'SWY_ERR_NETWORK_NOT_FOUND', () => sy.controller.connect('ghost', 's2')],
  ];

  for (const [what, code, act] of cases) {
    it(`${what} fails with ${code}, a hint, and leaves state and IPAM files unchanged`, async () => {
      const before = { files: listing(), store: await stored() };
      const err = await act().catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'SwitchyardError', code });
      expect((err as { hint?: string }).hint).toEqual(expect.any(String));
      expect({ files: listing(), store: await stored() }).toEqual(before);
    });
  }
});

describe('recreating a network after a failed create', () => {
  it('allocates again under the same name once the failed attempt released its pool', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'swy-recreate-'));
    const kernel = new FakeKernel();
    const sy = await createSwitchyard({ stateDir: dir, kernel, store: new MemoryStore(), drivers: [bridge], ipams: [hostLocal], autoloadPlugins: false });
    try {
      let n = 0;
      kernel.failAt(() => n++ === 0);
      await expect(sy.controller.createNetwork({ name: 'again', driver: 'bridge', ipam: { ipv4: [{ subnet: '10.73.0.0/24' }] } })).rejects.toMatchObject({ name: 'SwitchyardError' });
      await sy.controller.createNetwork({ name: 'again', driver: 'bridge', ipam: { ipv4: [{ subnet: '10.73.0.0/24' }] } });
      await sy.controller.createSandbox({ name: 's' });
      expect((await sy.controller.connect('again', 's')).ipv4).toBe('10.73.0.2/24');
    } finally {
      await sy.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
