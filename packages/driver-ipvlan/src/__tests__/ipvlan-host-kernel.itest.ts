import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOST_NS, createSwitchyard, type Switchyard } from '@switchyard/core';
import { execIn, kernelSnapshot, outcomeOf, requireLab } from '@switchyard/core/testing';
import hostLocal from '@switchyard/ipam-host-local';
import ipvlanDriver from '../index.js';

const MASTER = 'lab-i0';

// Whether this kernel can make ipvlan links, asked of the kernel itself rather than of Switchyard's probe.
async function kernelHasIpvlan(): Promise<boolean> {
  const made = await execIn(HOST_NS, ['ip', 'link', 'add', 'link', MASTER, 'name', 'lab-iprobe', 'type', 'ipvlan', 'mode', 'l2'], { allowFailure: true });
  if (made.exitCode === 0) await execIn(HOST_NS, ['ip', 'link', 'del', 'lab-iprobe']);
  return made.exitCode === 0;
}

describe('ipvlan on the host kernel (lab namespace)', () => {
  let sy: Switchyard;
  let stateDir: string;

  beforeAll(async () => {
    requireLab();
    await execIn(HOST_NS, ['ip', 'link', 'add', MASTER, 'type', 'veth', 'peer', 'name', 'lab-i1']);
    stateDir = mkdtempSync(join(tmpdir(), 'swy-ipvlan-'));
    sy = await createSwitchyard({ stateDir, drivers: [ipvlanDriver], ipams: [hostLocal], autoloadPlugins: false, durable: false });
  });

  afterAll(async () => {
    if (process.env.SWITCHYARD_LAB !== '1') return;
    for (const n of await sy.controller.listNetworks()) await sy.controller.deleteNetwork(n.name).catch(() => undefined);
    await sy.close();
    rmSync(stateDir, { recursive: true, force: true });
    await execIn(HOST_NS, ['ip', 'link', 'del', MASTER], { allowFailure: true });
  });

  it('creates an ipvlan network only when the kernel can make ipvlan links, and otherwise fails with SWY_ERR_KERNEL_FEATURE_MISSING leaving nothing', async () => {
    const supported = await kernelHasIpvlan();
    const before = await kernelSnapshot();
    const created = await outcomeOf(sy.controller.createNetwork({ name: 'iv', driver: 'ipvlan', options: { master: MASTER }, ipam: { ipv4: [{ subnet: '10.70.0.0/24' }] } }));
    const listed = (await sy.controller.listNetworks()).map((n) => n.name);
    expect({ created, listed }).toEqual(
      supported ? { created: { ok: true }, listed: ['iv'] } : { created: { code: 'SWY_ERR_KERNEL_FEATURE_MISSING', message: 'This kernel cannot create ipvlan links, which every ipvlan network needs' }, listed: [] },
    );
    await sy.controller.deleteNetwork('iv').catch(() => undefined);
    expect(await sy.controller.listNetworks()).toEqual([]);
    expect(await kernelSnapshot()).toEqual(before);
  });
});
