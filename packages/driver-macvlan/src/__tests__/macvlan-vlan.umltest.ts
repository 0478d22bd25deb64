import { HOST_NS, stripPrefix } from '@switchyard/core';
import { createLabSwitchyard, execIn, kernelSnapshot, ping, requireUml, type LabSwitchyard } from '@switchyard/core/testing';
import hostLocal from '@switchyard/ipam-host-local';
import macvlanDriver from '../index.js';

// 802.1Q and dummy exist only in the user-mode Linux guest (this host's kernel lacks them).
const PARENT = 'uml-m0';
const MASTER = `${PARENT}.20`;

describe('macvlan on an 802.1Q master (user-mode Linux)', () => {
  let sy: LabSwitchyard;

  beforeAll(async () => {
    requireUml();
    await execIn(HOST_NS, ['ip', 'link', 'add', PARENT, 'type', 'dummy']);
    await execIn(HOST_NS, ['ip', 'link', 'set', PARENT, 'up']);
    sy = await createLabSwitchyard({ drivers: [macvlanDriver], ipams: [hostLocal], durable: false });
  });

  afterAll(async () => {
    if (process.env.SWITCHYARD_UML !== '1') return;
    await sy.dispose();
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
