import { runDriverConformance, createTestSwitchyard, MemoryFirewall, type TestSwitchyard } from '@switchyard/core/testing';
import type { DnsService } from '@switchyard/core';
import bridgeDriver, { hostVethName } from '../index.js';

runDriverConformance('bridge', () => bridgeDriver, {
  invalidOptions: [{ mtu: 20 }, { bridge: 'has space' }, { hairpinMode: 'sometimes' }, { bridge: 'a-name-longer-than-15' }],
});

describe('bridge driver', () => {
  let sy: TestSwitchyard;
  beforeEach(async () => {
    sy = await createTestSwitchyard([bridgeDriver]);
  });
  afterEach(() => sy.dispose());

  it('creates the named bridge, up, with the gateway address on it', async () => {
    await sy.controller.createNetwork({ name: 'web', driver: 'bridge', options: { bridge: 'br-web' }, ipam: { ipv4: [{ subnet: '10.20.0.0/24' }] } });
    const br = (await sy.kernel.listLinks({ kind: 'host' })).find((l) => l.name === 'br-web');
    expect(br).toMatchObject({ kind: 'bridge', up: true });
    expect((await sy.kernel.listAddrs({ kind: 'host' })).filter((a) => a.dev === 'br-web').map((a) => a.cidr)).toEqual(['10.20.0.1/24']);
  });

  it('with isGateway=false the host holds no address on the bridge, so the network gets no DNS by default (a responder could not listen)', async () => {
    const served: string[] = [];
    const dns: DnsService = {
      serve: (networks) => Promise.resolve(void served.push(...networks.map((n) => n.name))),
      refresh: () => Promise.resolve(),
      revive: () => Promise.resolve(),
      status: () => Promise.resolve({ state: 'stopped', networks: [], upstreams: [] }),
    };
    const withDns = await createTestSwitchyard([bridgeDriver], { dns });
    try {
      const on = await withDns.controller.createNetwork({ name: 'on', driver: 'bridge', options: { bridge: 'br-on' }, ipam: { ipv4: [{ subnet: '10.20.1.0/24' }] } });
      const off = await withDns.controller.createNetwork({ name: 'off', driver: 'bridge', options: { bridge: 'br-off', isGateway: false }, ipam: { ipv4: [{ subnet: '10.20.2.0/24' }] } });
      expect([on.dns, off.dns]).toEqual([true, false]);
      expect((await withDns.kernel.listAddrs({ kind: 'host' })).filter((a) => a.dev === 'br-off')).toEqual([]);
      await withDns.controller.createSandbox({ name: 's' });
      await withDns.controller.connect('off', 's');
      expect(served).toEqual([]);
      await expect(withDns.controller.createNetwork({ name: 'asked', driver: 'bridge', dns: true, options: { bridge: 'br-asked', isGateway: false }, ipam: { ipv4: [{ subnet: '10.20.3.0/24' }] } })).rejects.toMatchObject({
        code: 'SWY_ERR_DNS_UNSUPPORTED',
      });
      expect((await withDns.kernel.listLinks({ kind: 'host' })).some((l) => l.name === 'br-asked')).toBe(false);
    } finally {
      await withDns.dispose();
    }
  });

  it('enslaves each endpoint host end to the bridge and gives the sandbox a default route via the gateway', async () => {
    await sy.controller.createNetwork({ name: 'web', driver: 'bridge', options: { bridge: 'br-web' }, ipam: { ipv4: [{ subnet: '10.20.0.0/24' }] } });
    const sb = await sy.controller.createSandbox({ name: 's1' });
    const ep = await sy.controller.connect('web', 's1');
    const hostEnd = (await sy.kernel.listLinks({ kind: 'host' })).find((l) => l.name === hostVethName(ep.id));
    expect(hostEnd).toMatchObject({ master: 'br-web', up: true });
    expect((await sy.kernel.listRoutes(sb.netns)).filter((r) => r.dst === 'default')).toEqual([expect.objectContaining({ via: '10.20.0.1', dev: 'eth0' })]);
  });

  it('leaves a bridge it did not create in place, removing only the address it added', async () => {
    await sy.kernel.apply([{ ns: { kind: 'host' }, op: { op: 'link.add', kind: 'bridge', name: 'br-mine' } }]);
    await sy.controller.createNetwork({ name: 'web', driver: 'bridge', options: { bridge: 'br-mine' }, ipam: { ipv4: [{ subnet: '10.21.0.0/24' }] } });
    await sy.controller.deleteNetwork('web');
    const br = (await sy.kernel.listLinks({ kind: 'host' })).find((l) => l.name === 'br-mine');
    expect(br).toBeDefined();
    expect((await sy.kernel.listAddrs({ kind: 'host' })).filter((a) => a.dev === 'br-mine')).toEqual([]);
  });

  it('refuses a bridge that another network already uses, so deleting one cannot break the other', async () => {
    await sy.controller.createNetwork({ name: 'a', driver: 'bridge', options: { bridge: 'br-shared' } });
    const before = sy.fake.snapshot();
    await expect(sy.controller.createNetwork({ name: 'b', driver: 'bridge', options: { bridge: 'br-shared' } })).rejects.toMatchObject({ code: 'SWY_ERR_LINK_EXISTS' });
    expect(sy.fake.snapshot()).toEqual(before);
    expect((await sy.controller.listNetworks()).map((n) => n.name)).toEqual(['a']);
  });

  it('refuses a bridge name held by a link of another kind', async () => {
    await sy.kernel.apply([{ ns: { kind: 'host' }, op: { op: 'link.add', kind: 'veth', name: 'taken0', peer: { name: 'taken1' } } }]);
    await expect(sy.controller.createNetwork({ name: 'web', driver: 'bridge', options: { bridge: 'taken0' } })).rejects.toMatchObject({ code: 'SWY_ERR_LINK_EXISTS' });
    expect(sy.ipam.poolCount()).toBe(0);
  });

  it('an internal network or isDefaultGateway=false gives endpoints no default route', async () => {
    await sy.controller.createNetwork({ name: 'a', driver: 'bridge', internal: true });
    await sy.controller.createNetwork({ name: 'b', driver: 'bridge', options: { isDefaultGateway: false } });
    const sb = await sy.controller.createSandbox({ name: 's' });
    await sy.controller.connect('a', 's');
    await sy.controller.connect('b', 's');
    expect((await sy.kernel.listRoutes(sb.netns)).filter((r) => r.dst === 'default')).toEqual([]);
  });

  it('refuses ipMasq with the coded firewall error on a host without a firewall backend, leaving nothing', async () => {
    await expect(sy.controller.createNetwork({ name: 'm', driver: 'bridge', options: { ipMasq: true } })).rejects.toMatchObject({ code: 'SWY_ERR_FIREWALL_UNAVAILABLE' });
    expect(await sy.controller.listNetworks()).toEqual([]);
    expect((await sy.kernel.listLinks({ kind: 'host' })).filter((l) => l.kind === 'bridge')).toEqual([]);
  });

  it('declares its bridge and masquerade to the firewall, which core programs with the network', async () => {
    const firewall = new MemoryFirewall();
    const withFw = await createTestSwitchyard([bridgeDriver], { firewall });
    try {
      const n = await withFw.controller.createNetwork({ name: 'm', driver: 'bridge', options: { ipMasq: true, bridge: 'swym' }, ipam: { ipv4: [{ subnet: '10.61.0.0/24' }] } });
      expect(firewall.networks.get(n.id)).toEqual({ id: n.id, name: 'm', interfaces: ['swym'], subnets: ['10.61.0.0/24'], masquerade: true, internal: false, antiSpoof: false });
      expect(n.notes.join(' ')).toMatch(/IP masquerade/);
      // Forwarding and localhost-to-published-port routing are turned on for it.
      expect(withFw.fake.sysctl({ kind: 'host' }, 'net.ipv4.ip_forward')).toBe('1');
      expect(withFw.fake.sysctl({ kind: 'host' }, 'net.ipv4.conf.swym.route_localnet')).toBe('1');
      await withFw.controller.deleteNetwork('m');
      expect(firewall.networks.size).toBe(0);
    } finally {
      await withFw.dispose();
    }
  });
});
