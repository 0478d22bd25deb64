import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { HOST_NS, IproutesExecutor, RETIRED_LINK_GROUP, stripPrefix } from '@switchyard/core';
import { requireLab, kernelSnapshot, settledSnapshot, ping, isolatedFrom, execIn, StepFailingKernel, createLabSwitchyard, type LabSwitchyard } from '@switchyard/core/testing';
import hostLocal from '@switchyard/ipam-host-local';
import bridgeDriver, { hostVethName } from '../index.js';

describe('bridge driver on the real kernel', () => {
  let kernel: StepFailingKernel;
  let sy: LabSwitchyard;
  let before: Awaited<ReturnType<typeof kernelSnapshot>>;

  beforeAll(async () => {
    requireLab();
    kernel = new StepFailingKernel(new IproutesExecutor());
    // Batches wait for settle(), so what a disconnect leaves before its batch can be looked at.
    sy = await createLabSwitchyard({ kernel, drivers: [bridgeDriver], ipams: [hostLocal], linkDeletion: { delayMs: 1e9 } });
    before = await kernelSnapshot();
  });

  afterAll(() => sy.dispose());

  it('two sandboxes on one bridge ping each other and the gateway', async () => {
    await sy.controller.createNetwork({ name: 'br1', driver: 'bridge', options: { bridge: 'swyit-br1' }, ipam: { ipv4: [{ subnet: '10.51.0.0/24' }] } });
    const a = await sy.controller.createSandbox({ name: 'it-a' });
    const b = await sy.controller.createSandbox({ name: 'it-b' });
    const ea = await sy.controller.connect('br1', 'it-a');
    const eb = await sy.controller.connect('br1', 'it-b');
    expect(await ping(a.netns, stripPrefix(eb.ipv4!))).toBe(true);
    expect(await ping(b.netns, stripPrefix(ea.ipv4!))).toBe(true);
    expect(await ping(a.netns, '10.51.0.1')).toBe(true);
    const inside = await execIn(a.netns, ['ip', '-br', 'addr', 'show', 'dev', 'eth0']);
    expect(inside.stdout).toContain(ea.ipv4);
  });

  it('the bridge keeps its own MAC as ports come and go, so sandboxes reach the gateway at once after a neighbour leaves', async () => {
    await sy.controller.createNetwork({ name: 'mac', driver: 'bridge', options: { bridge: 'swyit-mac' }, ipam: { ipv4: [{ subnet: '10.57.0.0/24' }] } });
    const mac = async () => (await execIn(HOST_NS, ['ip', '-br', 'link', 'show', 'swyit-mac'])).stdout.trim().split(/\s+/)[2];
    const own = await mac();
    const a = await sy.controller.createSandbox({ name: 'it-mac-a' });
    await sy.controller.createSandbox({ name: 'it-mac-b' });
    await sy.controller.connect('mac', 'it-mac-a');
    for (let round = 0; round < 3; round++) {
      await sy.controller.connect('mac', 'it-mac-b');
      expect(await mac()).toBe(own);
      expect(await ping(a.netns, '10.57.0.1', { tries: 1 })).toBe(true);
      await sy.controller.disconnect('mac', 'it-mac-b');
      await sy.settle();
      // Left to itself a bridge would now take another port's MAC, and a's ARP entry would point nowhere.
      expect(await mac()).toBe(own);
      expect(await ping(a.netns, '10.57.0.1', { tries: 1 })).toBe(true);
    }
  });

  it('with isolate on, sandboxes reach the gateway but not each other', async () => {
    await sy.controller.createNetwork({ name: 'iso', driver: 'bridge', options: { bridge: 'swyit-iso', isolate: true }, ipam: { ipv4: [{ subnet: '10.52.0.0/24' }] } });
    const a = await sy.controller.createSandbox({ name: 'it-iso-a' });
    await sy.controller.createSandbox({ name: 'it-iso-b' });
    await sy.controller.connect('iso', 'it-iso-a');
    const eb = await sy.controller.connect('iso', 'it-iso-b');
    expect(await isolatedFrom(a.netns, stripPrefix(eb.ipv4!), { control: '10.52.0.1' })).toBe(true);
  });

  it('a failure injected at each kernel step of connect leaves no trace on the real kernel', async () => {
    await sy.controller.createNetwork({ name: 'rb', driver: 'bridge', options: { bridge: 'swyit-rb' }, ipam: { ipv4: [{ subnet: '10.53.0.0/24' }] } });
    await sy.controller.createSandbox({ name: 'it-rb' });
    const snapshot = () => kernelSnapshot(['it-rb']);
    kernel.startCounting();
    await sy.controller.connect('rb', 'it-rb');
    const steps = kernel.stepsSeen;
    await sy.controller.disconnect('rb', 'it-rb');
    await sy.settle();
    const clean = await snapshot();
    expect(steps).toBeGreaterThan(3);
    for (let i = 0; i < steps; i++) {
      kernel.failAt(i);
      await expect(sy.controller.connect('rb', 'it-rb')).rejects.toMatchObject({ code: 'SWY_ERR_KERNEL_OP_FAILED' });
      expect(await snapshot()).toEqual(clean);
      expect((await sy.controller.inspectSandbox('it-rb')).endpoints).toEqual([]);
    }
    // No address stayed allocated: host-local's directory for the network holds only its lock and cursor.
    const dir = join(sy.options.stateDir, 'ipam', 'host-local', 'rb');
    expect(readdirSync(dir).sort()).toEqual(['last_reserved_ip.0', 'lock']);
    await sy.controller.connect('rb', 'it-rb');
    expect(readdirSync(dir).length).toBe(3);
  });

  it('disconnect, sandbox removal and network delete leave no link, address, route or namespace behind', async () => {
    await sy.controller.createNetwork({ name: 'br4', driver: 'bridge', ipam: { ipv4: [{ subnet: '10.54.0.0/24' }] } });
    const ep = await sy.controller.connect('br4', (await sy.controller.createSandbox({ name: 'it-c' })).name);
    expect((await kernelSnapshot()).namespaces.host!.links.map((l) => l.name)).toContain(hostVethName(ep.id));
    await sy.controller.disconnect('br4', 'it-c');
    // Retired at once (down, in the retired group, off the bridge's traffic), deleted by the batch.
    const retired = (await sy.kernel.listLinks(HOST_NS)).find((l) => l.name === hostVethName(ep.id));
    expect(retired && { up: retired.up, group: retired.group }).toEqual({ up: false, group: RETIRED_LINK_GROUP });
    await sy.settle();
    expect((await kernelSnapshot()).namespaces.host!.links.map((l) => l.name)).not.toContain(hostVethName(ep.id));
    for (const s of await sy.controller.listSandboxes()) await sy.controller.deleteSandbox(s.name);
    for (const n of await sy.controller.listNetworks()) await sy.controller.deleteNetwork(n.name);
    expect(await settledSnapshot(before)).toEqual(before);
  });
});
