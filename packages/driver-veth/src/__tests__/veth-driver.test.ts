import { runDriverConformance, createTestSwitchyard, MemoryFirewall, type TestSwitchyard } from '@switchyard/core/testing';
import vethDriver, { VETH_PRESETS, hostVethName } from '../index.js';

runDriverConformance('veth', () => vethDriver, { invalidOptions: [{ mtu: 70000 }, { defaultRoute: 'maybe' }] });

describe('veth (point-to-point) driver', () => {
  let sy: TestSwitchyard;
  beforeEach(async () => {
    sy = await createTestSwitchyard([vethDriver]);
  });
  afterEach(() => sy.dispose());

  it('puts the gateway /32 and a host route to the container on the host end', async () => {
    await sy.controller.createNetwork({ name: 'p', driver: 'veth', ipam: { ipv4: [{ subnet: '10.30.0.0/24' }] } });
    await sy.controller.createSandbox({ name: 's' });
    const ep = await sy.controller.connect('p', 's');
    const host = hostVethName(ep.id);
    expect((await sy.kernel.listAddrs({ kind: 'host' })).filter((a) => a.dev === host).map((a) => a.cidr)).toEqual(['10.30.0.1/32']);
    expect((await sy.kernel.listRoutes({ kind: 'host' })).filter((r) => r.dev === host).map((r) => r.dst)).toEqual(['10.30.0.2/32']);
  });

  it('routes the sandbox through the on-link gateway with no prefix route', async () => {
    await sy.controller.createNetwork({ name: 'p', driver: 'veth', ipam: { ipv4: [{ subnet: '10.30.0.0/24' }] } });
    const sb = await sy.controller.createSandbox({ name: 's' });
    await sy.controller.connect('p', 's');
    const routes = (await sy.kernel.listRoutes(sb.netns)).map((r) => `${r.dst}${r.via ? ' via ' + r.via : ''}`).sort();
    expect(routes).toEqual(['10.30.0.1/32', 'default via 10.30.0.1']);
  });

  it('the default-restricted preset reaches only the host: no default route', async () => {
    await sy.controller.createNetwork(VETH_PRESETS['default-restricted']);
    const sb = await sy.controller.createSandbox({ name: 's' });
    const ep = await sy.controller.connect('default-restricted', 's');
    const gateway = (await sy.controller.inspectNetwork('default-restricted')).ipv4?.gateway;
    expect(ep.providesDefaultRoute).toBe(false);
    expect((await sy.kernel.listRoutes(sb.netns)).map((r) => r.dst)).toEqual([`${gateway}/32`]);
  });

  it("the default preset masquerades (as rkt's default network): inspect says so and the firewall gets the subnet and the host end", async () => {
    const firewall = new MemoryFirewall();
    const withFw = await createTestSwitchyard([vethDriver], { firewall });
    try {
      const n = await withFw.controller.createNetwork(VETH_PRESETS.default);
      expect(n.ipv4?.subnet).toBe('172.16.28.0/24');
      expect(n.notes.join(' ')).toMatch(/IP masquerade: traffic leaving the host takes the host address/);
      expect(firewall.networks.get(n.id)).toMatchObject({ subnets: ['172.16.28.0/24'], masquerade: true, interfaces: [] });
      await withFw.controller.createSandbox({ name: 's' });
      const ep = await withFw.controller.connect('default', 's');
      expect(firewall.endpoints.get(ep.id)).toMatchObject({ interfaces: [hostVethName(ep.id)], networkId: n.id });
      await withFw.controller.disconnect('default', 's');
      expect(firewall.endpoints.size).toBe(0);
    } finally {
      await withFw.dispose();
    }
  });

  it('refuses ipMasq with the coded firewall error on a host without a firewall backend, leaving nothing', async () => {
    await expect(sy.controller.createNetwork({ name: 'm', driver: 'veth', options: { ipMasq: true } })).rejects.toMatchObject({ code: 'SWY_ERR_FIREWALL_UNAVAILABLE' });
    expect(await sy.controller.listNetworks()).toEqual([]);
  });
});
