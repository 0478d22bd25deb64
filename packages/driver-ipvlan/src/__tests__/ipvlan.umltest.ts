import { HOST_NS, stripPrefix, type NetnsRef } from '@switchyard/core';
import { createLabSwitchyard, execIn, kernelSnapshot, ping, requireUml, type LabSwitchyard, type KernelSnapshot } from '@switchyard/core/testing';
import hostLocal from '@switchyard/ipam-host-local';
import ipvlanDriver from '../index.js';

// ipvlan, 802.1Q and dummy exist only in the user-mode Linux guest (this host's kernel lacks them).
const MASTER = 'uml-d0';

describe('ipvlan on a kernel that has it (user-mode Linux)', () => {
  let sy: LabSwitchyard;
  let before: KernelSnapshot;

  beforeAll(async () => {
    requireUml();
    await execIn(HOST_NS, ['ip', 'link', 'add', MASTER, 'type', 'dummy']);
    await execIn(HOST_NS, ['ip', 'link', 'set', MASTER, 'up']);
    before = await kernelSnapshot();
    sy = await createLabSwitchyard({ drivers: [ipvlanDriver], ipams: [hostLocal], durable: false });
  });

  afterAll(async () => {
    if (process.env.SWITCHYARD_UML !== '1') return;
    await sy.dispose();
    await execIn(HOST_NS, ['ip', 'link', 'del', MASTER], { allowFailure: true });
  });

  async function joined(network: string, sandbox: string): Promise<{ ns: NetnsRef; ip: string }> {
    const sb = await sy.controller.createSandbox({ name: sandbox });
    const ep = await sy.controller.connect(network, sandbox);
    return { ns: sb.netns, ip: stripPrefix(ep.ipv4 ?? '') };
  }

  it("lets two l2 sandboxes ping each other through eth0 interfaces that carry the master's MAC", async () => {
    await sy.controller.createNetwork({ name: 'l2', driver: 'ipvlan', options: { master: MASTER }, ipam: { ipv4: [{ subnet: '10.80.0.0/24' }] } });
    const a = await joined('l2', 'l2-a');
    const b = await joined('l2', 'l2-b');
    const masterMac = (await sy.kernel.listLinks(HOST_NS)).find((l) => l.name === MASTER)?.mac;
    expect((await sy.kernel.listLinks(a.ns)).find((l) => l.name === 'eth0')).toMatchObject({ kind: 'ipvlan', up: true, mac: masterMac });
    expect(await ping(a.ns, b.ip)).toBe(true);
    expect(await ping(b.ns, a.ip)).toBe(true);
  });

  it('lets l3 sandboxes in different subnets reach each other through their connected default route', async () => {
    await sy.controller.createNetwork({ name: 'l3a', driver: 'ipvlan', options: { master: MASTER, mode: 'l3' }, ipam: { ipv4: [{ subnet: '10.81.0.0/24' }] } });
    await sy.controller.createNetwork({ name: 'l3b', driver: 'ipvlan', options: { master: MASTER, mode: 'l3' }, ipam: { ipv4: [{ subnet: '10.82.0.0/24' }] } });
    const a = await joined('l3a', 'l3-a');
    const b = await joined('l3b', 'l3-b');
    const defaults = (await sy.kernel.listRoutes(a.ns)).filter((r) => r.dst === 'default' && r.family === 4);
    expect(defaults).toEqual([expect.objectContaining({ dev: 'eth0' })]);
    expect(defaults[0]?.via).toBeUndefined();
    // Only the default route covers the other subnet: the ping proves the connected default route works.
    expect((await sy.kernel.listRoutes(a.ns)).some((r) => r.dst === '10.82.0.0/24')).toBe(false);
    expect(await ping(a.ns, b.ip)).toBe(true);
  });

  it('creates the 802.1Q master with the network, runs sandboxes on it, and removes it with the network', async () => {
    await sy.controller.createNetwork({ name: 'v10', driver: 'ipvlan', options: { master: `${MASTER}.10` }, ipam: { ipv4: [{ subnet: '10.83.0.0/24' }] } });
    expect((await sy.kernel.listLinks(HOST_NS)).find((l) => l.name === `${MASTER}.10`)).toMatchObject({ kind: 'vlan', up: true });
    const a = await joined('v10', 'v10-a');
    const b = await joined('v10', 'v10-b');
    expect(await ping(a.ns, b.ip)).toBe(true);
    await sy.controller.deleteSandbox('v10-a');
    await sy.controller.deleteSandbox('v10-b');
    await sy.controller.deleteNetwork('v10');
    expect((await sy.kernel.listLinks(HOST_NS)).map((l) => l.name)).not.toContain(`${MASTER}.10`);
  });

  it('leaves no link, address, route or namespace behind once sandboxes and networks are gone', async () => {
    for (const s of await sy.controller.listSandboxes()) await sy.controller.deleteSandbox(s.name);
    for (const n of await sy.controller.listNetworks()) await sy.controller.deleteNetwork(n.name);
    expect(await kernelSnapshot()).toEqual(before);
  });
});
