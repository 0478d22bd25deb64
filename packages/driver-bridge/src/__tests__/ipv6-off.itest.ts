import { readFileSync } from 'node:fs';
import { requireLab, createLabSwitchyard, execIn, type LabSwitchyard } from '@switchyard/core/testing';
import hostLocal from '@switchyard/ipam-host-local';
import bridgeDriver, { hostVethName } from '../index.js';

// As Docker: an endpoint without an IPv6 address speaks no IPv6 (no link-local address, so no DAD,
// router solicitation or MLD report flooded to every port), and a bridge port never does.
describe('IPv6 on bridge endpoints', () => {
  let sy: LabSwitchyard;
  beforeAll(async () => {
    requireLab();
    sy = await createLabSwitchyard({ drivers: [bridgeDriver], ipams: [hostLocal] });
  });
  afterAll(() => sy?.dispose());

  const inside = async (ns: Parameters<typeof execIn>[0], ...cmd: string[]) => (await execIn(ns, cmd)).stdout.trim();

  test('an IPv4-only endpoint has IPv6 off on both ends and no IPv6 address; a dual-stack one keeps it in the sandbox', async () => {
    await sy.controller.createNetwork({ name: 'v4only', driver: 'bridge', options: { bridge: 'swyit-v4' }, ipam: { ipv4: [{ subnet: '10.59.0.0/24' }] } });
    await sy.controller.createNetwork({ name: 'dual', driver: 'bridge', options: { bridge: 'swyit-v46' }, ipv6: true, ipam: { ipv4: [{ subnet: '10.60.0.0/24' }], ipv6: [{ subnet: 'fd00:60::/64' }] } });
    const s = await sy.controller.createSandbox({ name: 'v6probe' });
    const e4 = await sy.controller.connect('v4only', 'v6probe', { ifname: 'eth0' });
    const e6 = await sy.controller.connect('dual', 'v6probe', { ifname: 'eth1' });

    // The namespace Switchyard made starts new interfaces with IPv6 off.
    expect(await inside(s.netns, 'cat', '/proc/sys/net/ipv6/conf/default/disable_ipv6')).toBe('1');
    expect(await inside(s.netns, 'cat', '/proc/sys/net/ipv6/conf/eth0/disable_ipv6')).toBe('1');
    expect(await inside(s.netns, 'ip', '-6', '-o', 'addr', 'show', 'dev', 'eth0')).toBe('');
    expect(readFileSync(`/proc/sys/net/ipv6/conf/${hostVethName(e4.id)}/disable_ipv6`, 'utf8').trim()).toBe('1');

    expect(await inside(s.netns, 'cat', '/proc/sys/net/ipv6/conf/eth1/disable_ipv6')).toBe('0');
    expect(await inside(s.netns, 'ip', '-6', '-o', 'addr', 'show', 'dev', 'eth1')).toContain(e6.ipv6?.split('/')[0] ?? 'no IPv6 address');
    // The bridge port itself carries no IPv6 even on the dual-stack network: the bridge holds the gateway.
    expect(readFileSync(`/proc/sys/net/ipv6/conf/${hostVethName(e6.id)}/disable_ipv6`, 'utf8').trim()).toBe('1');
    // And the IPv4-only endpoint still works.
    expect(await inside(s.netns, 'ping', '-c1', '-W2', '10.59.0.1')).toMatch(/1 received/);
  });
});
