import { stripPrefix } from '@switchyard/core';
import { requireLab, kernelSnapshot, settledSnapshot, ping, execIn, createLabSwitchyard, type LabSwitchyard } from '@switchyard/core/testing';
import hostLocal from '@switchyard/ipam-host-local';
import bridgeDriver from '@switchyard/driver-bridge';
import vethDriver, { VETH_PRESETS } from '../index.js';

describe('veth (point-to-point) driver on the real kernel', () => {
  let sy: LabSwitchyard;
  let before: Awaited<ReturnType<typeof kernelSnapshot>>;

  beforeAll(async () => {
    requireLab();
    sy = await createLabSwitchyard({ drivers: [vethDriver, bridgeDriver], ipams: [hostLocal] });
    before = await kernelSnapshot();
  });

  afterAll(() => sy.dispose());

  it('a ptp sandbox reaches its host end, and the host reaches the sandbox', async () => {
    await sy.controller.createNetwork({ name: 'p2p', driver: 'veth', ipam: { ipv4: [{ subnet: '10.61.0.0/24' }] } });
    const sb = await sy.controller.createSandbox({ name: 'vt-a' });
    const ep = await sy.controller.connect('p2p', 'vt-a');
    expect(await ping(sb.netns, '10.61.0.1')).toBe(true);
    expect(await ping({ kind: 'host' }, stripPrefix(ep.ipv4!))).toBe(true);
    const routes = await execIn(sb.netns, ['ip', 'route', 'show']);
    expect(routes.stdout).toMatch(/default via 10\.61\.0\.1 dev eth0/);
    expect(routes.stdout).not.toMatch(/10\.61\.0\.0\/24/);
  });

  it('the default-restricted preset reaches the host and has no default route', async () => {
    await sy.controller.createNetwork(VETH_PRESETS['default-restricted']);
    const sb = await sy.controller.createSandbox({ name: 'vt-r' });
    await sy.controller.connect('default-restricted', 'vt-r');
    const gateway = (await sy.controller.inspectNetwork('default-restricted')).ipv4!.gateway!;
    expect(await ping(sb.netns, gateway)).toBe(true);
    expect((await execIn(sb.netns, ['ip', 'route', 'show', 'default'])).stdout.trim()).toBe('');
  });

  it('a sandbox on two networks has two interfaces and one default route, from the higher-priority endpoint', async () => {
    await sy.controller.createNetwork({ name: 'front', driver: 'bridge', options: { bridge: 'swyit-front' }, ipam: { ipv4: [{ subnet: '10.62.0.0/24' }] } });
    const sb = await sy.controller.createSandbox({ name: 'vt-two' });
    await sy.controller.connect('front', 'vt-two');
    await sy.controller.connect('p2p', 'vt-two', { gatewayPriority: 10 });
    const links = (await execIn(sb.netns, ['ip', '-br', 'link'])).stdout
      .split('\n')
      .map((l) => l.split(/[\s@]+/)[0])
      .filter(Boolean)
      .sort();
    expect(links).toEqual(['eth0', 'eth1', 'lo']);
    const defaults = (await execIn(sb.netns, ['ip', '-4', 'route', 'show', 'default'])).stdout.trim().split('\n');
    expect(defaults).toEqual([expect.stringMatching(/^default via 10\.61\.0\.1 dev eth1/)]);
    await sy.controller.disconnect('p2p', 'vt-two');
    const after = (await execIn(sb.netns, ['ip', '-4', 'route', 'show', 'default'])).stdout.trim().split('\n');
    expect(after).toEqual([expect.stringMatching(/^default via 10\.62\.0\.1 dev eth0/)]);
  });

  it('a none sandbox has only lo', async () => {
    const sb = await sy.controller.createSandbox({ name: 'vt-none', mode: 'none' });
    const links = (await execIn(sb.netns, ['ip', '-br', 'link'])).stdout
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/)[0]);
    expect(links).toEqual(['lo']);
  });

  it('removing everything leaves the lab as it was', async () => {
    for (const s of await sy.controller.listSandboxes()) await sy.controller.deleteSandbox(s.name);
    for (const n of await sy.controller.listNetworks()) await sy.controller.deleteNetwork(n.name);
    expect(await settledSnapshot(before)).toEqual(before);
  });
});
