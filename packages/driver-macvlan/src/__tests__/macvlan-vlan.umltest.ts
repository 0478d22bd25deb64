import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HOST_NS, createSwitchyard, stripPrefix, type Switchyard } from '@switchyard/core';
import { execIn, kernelSnapshot, ping, requireLab } from '@switchyard/core/testing';
import hostLocal from '@switchyard/ipam-host-local';
import macvlanDriver from '../index.js';

// 802.1Q and dummy exist only in the user-mode Linux guest (this host's kernel lacks them).
const PARENT = 'uml-m0';
const MASTER = `${PARENT}.20`;

function requireUml(): void {
  if (process.env.SWITCHYARD_UML !== '1') {
    throw new Error('802.1Q tests run inside user-mode Linux: run them via scripts/uml-run.sh (e.g. `SWY_TESTS=uml scripts/uml-run.sh node_modules/.bin/jest --runInBand packages/driver-macvlan`).');
  }
  requireLab();
}

describe('macvlan on an 802.1Q master (user-mode Linux)', () => {
  let sy: Switchyard;
  let stateDir: string;

  beforeAll(async () => {
    requireUml();
    await execIn(HOST_NS, ['ip', 'link', 'add', PARENT, 'type', 'dummy']);
    await execIn(HOST_NS, ['ip', 'link', 'set', PARENT, 'up']);
    stateDir = mkdtempSync(join(tmpdir(), 'swy-macvlan-uml-'));
    sy = await createSwitchyard({ stateDir, drivers: [macvlanDriver], ipams: [hostLocal], autoloadPlugins: false, durable: false });
  });

  afterAll(async () => {
    if (process.env.SWITCHYARD_UML !== '1') return;
    for (const s of await sy.controller.listSandboxes()) await sy.controller.deleteSandbox(s.name).catch(() => undefined);
    for (const n of await sy.controller.listNetworks()) await sy.controller.deleteNetwork(n.name).catch(() => undefined);
    await sy.close();
    rmSync(stateDir, { recursive: true, force: true });
    await execIn(HOST_NS, ['ip', 'link', 'del', PARENT], { allowFailure: true });
  });

  it('creates the parent.vlanid link with the network, bridges two sandboxes over it, and removes it with the network, leaving nothing', async () => {
    const before = await kernelSnapshot();
    await sy.controller.createNetwork({ name: 'v20', driver: 'macvlan', options: { master: MASTER }, ipam: { ipv4: [{ subnet: '10.84.0.0/24' }] } });
    expect((await sy.kernel.listLinks(HOST_NS)).find((l) => l.name === MASTER)).toMatchObject({ kind: 'vlan', up: true });
    const a = await sy.controller.createSandbox({ name: 'v20-a' });
    await sy.controller.createSandbox({ name: 'v20-b' });
    await sy.controller.connect('v20', 'v20-a');
    const b = await sy.controller.connect('v20', 'v20-b');
    expect(await ping(a.netns, stripPrefix(b.ipv4 ?? ''))).toBe(true);
    await sy.controller.disconnect('v20', 'v20-a');
    await sy.controller.deleteSandbox('v20-a');
    await sy.controller.deleteSandbox('v20-b');
    await sy.controller.deleteNetwork('v20');
    expect((await sy.kernel.listLinks(HOST_NS)).map((l) => l.name)).not.toContain(MASTER);
    expect(await kernelSnapshot()).toEqual(before);
  });
});
