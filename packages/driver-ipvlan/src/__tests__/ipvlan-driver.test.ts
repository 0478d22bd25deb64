import { HOST_NS, nsKey, type KernelStep, type LinkAddOp, type NetnsRef } from '@switchyard/core';
import { FakeKernel, createTestSwitchyard, runDriverConformance, type TestSwitchyard } from '@switchyard/core/testing';
import ipvlanDriver, { IPVLAN_TEMP_PREFIX } from '../index.js';

runDriverConformance('ipvlan', () => ipvlanDriver, {
  networkOptions: { master: 'lab0' },
  master: { option: 'master', mtu: 1500 },
  kernelFeatures: { ipvlan: true },
  // ipvlan interfaces carry the master's MAC: a static MAC must be refused (option proposed for the suite).
  staticMac: false,
  prepareKernel: async (k) => k.addDevice('lab0', { up: true }),
  invalidOptions: [{ master: 'lab0', mode: 'l4' }, { master: 'lab0', flag: 'open' }, { master: 'lab0', mtu: 70000 }, { master: 'a-name-longer-than-15' }],
});

interface ModelLink {
  name: string;
  kind: string;
  mtu: number;
  up: boolean;
  parent?: string;
}

function linksIn(fake: FakeKernel, ns: NetnsRef): ModelLink[] {
  return (fake.snapshot()[nsKey(ns)] as { links: ModelLink[] }).links;
}

type IpvlanAdd = KernelStep & { op: LinkAddOp & { kind: 'ipvlan' } };
function ipvlanAdds(fake: FakeKernel): IpvlanAdd[] {
  return fake.history.filter((s): s is IpvlanAdd => s.op.op === 'link.add' && s.op.kind === 'ipvlan');
}

async function setUp(features: Record<string, boolean> = { ipvlan: true }): Promise<TestSwitchyard> {
  const kernel = new FakeKernel({ features });
  kernel.addDevice('lab0', { up: true, mtu: 1500 });
  return createTestSwitchyard([ipvlanDriver], { kernel });
}

describe('ipvlan driver: joining sandboxes', () => {
  let sy: TestSwitchyard;
  beforeEach(async () => {
    sy = await setUp();
  });
  afterEach(() => sy.dispose());

  it('creates an l2, bridge-flag ipvlan inside the sandbox under a short temporary name, renamed to eth0, with a default route via the gateway', async () => {
    await sy.controller.createNetwork({ name: 'iv', driver: 'ipvlan', options: { master: 'lab0' }, ipam: { ipv4: [{ subnet: '10.50.0.0/24' }] } });
    const sb = await sy.controller.createSandbox({ name: 's1' });
    await sy.controller.connect('iv', 's1');
    const [add] = ipvlanAdds(sy.fake);
    expect(add?.op).toMatchObject({ parent: 'lab0', mode: 'l2', flag: 'bridge', netns: sb.netns });
    expect(add?.op.name.startsWith(IPVLAN_TEMP_PREFIX) && add.op.name.length <= 15).toBe(true);
    expect(linksIn(sy.fake, sb.netns).find((l) => l.name === 'eth0')).toMatchObject({ kind: 'ipvlan', parent: 'lab0', up: true });
    expect(sy.fake.linkNames(HOST_NS)).toEqual(['lab0', 'lo']);
    expect((await sy.kernel.listRoutes(sb.netns)).filter((r) => r.dst === 'default')).toEqual([expect.objectContaining({ via: '10.50.0.1', dev: 'eth0' })]);
  });

  it.each(['l3', 'l3s'] as const)('in %s mode gives the sandbox a connected default route on its interface and no gateway', async (mode) => {
    await sy.controller.createNetwork({ name: 'iv', driver: 'ipvlan', options: { master: 'lab0', mode }, ipam: { ipv4: [{ subnet: '10.51.0.0/24' }] } });
    const sb = await sy.controller.createSandbox({ name: 's1' });
    const ep = await sy.controller.connect('iv', 's1');
    expect(ipvlanAdds(sy.fake)[0]?.op.mode).toBe(mode);
    const defaults = (await sy.kernel.listRoutes(sb.netns)).filter((r) => r.dst === 'default');
    expect(defaults).toEqual([expect.objectContaining({ dev: 'eth0', family: 4 })]);
    expect(defaults[0]?.via).toBeUndefined();
    expect(ep.gateway4).toBeUndefined();
  });

  it.each(['private', 'vepa'] as const)('passes the %s flag to the kernel', async (flag) => {
    await sy.controller.createNetwork({ name: 'iv', driver: 'ipvlan', options: { master: 'lab0', flag } });
    await sy.controller.createSandbox({ name: 's1' });
    await sy.controller.connect('iv', 's1');
    expect(ipvlanAdds(sy.fake).map((s) => s.op.flag)).toEqual([flag]);
  });

  it('gives sandboxes on an internal l3 network no default route at all', async () => {
    await sy.controller.createNetwork({ name: 'iv', driver: 'ipvlan', internal: true, options: { master: 'lab0', mode: 'l3' } });
    const sb = await sy.controller.createSandbox({ name: 's1' });
    await sy.controller.connect('iv', 's1');
    expect((await sy.kernel.listRoutes(sb.netns)).filter((r) => r.dst === 'default')).toEqual([]);
  });

  it('gives the sandbox interface the network MTU', async () => {
    await sy.controller.createNetwork({ name: 'iv', driver: 'ipvlan', options: { master: 'lab0', mtu: 1280 } });
    const sb = await sy.controller.createSandbox({ name: 's1' });
    await sy.controller.connect('iv', 's1');
    expect(linksIn(sy.fake, sb.netns).find((l) => l.name === 'eth0')?.mtu).toBe(1280);
  });

  it('refuses a static MAC address, since ipvlan interfaces carry the master MAC, and leaves nothing', async () => {
    await sy.controller.createNetwork({ name: 'iv', driver: 'ipvlan', options: { master: 'lab0' } });
    const sb = await sy.controller.createSandbox({ name: 's1' });
    const before = sy.fake.snapshot();
    await expect(sy.controller.connect('iv', 's1', { mac: '02:00:00:00:00:07' })).rejects.toMatchObject({ code: 'SWY_ERR_INVALID_OPTION', message: expect.stringContaining("master's MAC") });
    expect(sy.fake.snapshot()).toEqual(before);
    expect(sy.ipam.allocated()).toEqual([]);
    expect(sy.fake.linkNames(sb.netns)).toEqual(['lo']);
  });

  it('notes the L3 routing and that the host cannot reach the sandboxes through the master', async () => {
    const net = await sy.controller.createNetwork({ name: 'iv', driver: 'ipvlan', options: { master: 'lab0', mode: 'l3' } });
    expect(net.notes.join('\n')).toMatch(/l3 mode: lab0 routes for the sandboxes/);
    expect(net.notes.join('\n')).toMatch(/host cannot reach these sandboxes through lab0/);
  });
});

describe('ipvlan driver: kernel features and the master', () => {
  let sy: TestSwitchyard;
  afterEach(() => sy.dispose());

  it('fails with SWY_ERR_KERNEL_FEATURE_MISSING naming ipvlan on a kernel without it (this build machine), leaving nothing', async () => {
    sy = await setUp({ ipvlan: false });
    const before = sy.fake.snapshot();
    const err = await sy.controller.createNetwork({ name: 'iv', driver: 'ipvlan', options: { master: 'lab0' } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SWY_ERR_KERNEL_FEATURE_MISSING', message: expect.stringContaining('ipvlan'), details: { feature: 'ipvlan' } });
    expect(sy.fake.snapshot()).toEqual(before);
    expect(sy.fake.history).toEqual([]);
    expect(sy.ipam.poolCount()).toBe(0);
    expect(await sy.controller.listNetworks()).toEqual([]);
  });

  it('refuses an MTU above the master MTU with SWY_ERR_MTU_TOO_LARGE naming both numbers', async () => {
    sy = await setUp();
    await expect(sy.controller.createNetwork({ name: 'iv', driver: 'ipvlan', options: { master: 'lab0', mtu: 1501 } })).rejects.toMatchObject({
      code: 'SWY_ERR_MTU_TOO_LARGE',
      message: expect.stringMatching(/1501.*1500.*lab0/),
    });
    expect(sy.ipam.poolCount()).toBe(0);
  });

  it('refuses a missing master with SWY_ERR_MASTER_NOT_FOUND', async () => {
    sy = await setUp();
    await expect(sy.controller.createNetwork({ name: 'iv', driver: 'ipvlan', options: { master: 'nic9' } })).rejects.toMatchObject({ code: 'SWY_ERR_MASTER_NOT_FOUND' });
  });

  it("takes the default route's interface as master when none is given, and says so", async () => {
    sy = await setUp();
    await sy.kernel.apply([{ ns: HOST_NS, op: { op: 'route.add', dst: 'default', dev: 'lab0', scope: 'link' } }]);
    const net = await sy.controller.createNetwork({ name: 'iv', driver: 'ipvlan' });
    expect(net.driverState).toMatchObject({ master: 'lab0', masterDefaulted: true });
    expect(net.notes.join('\n')).toMatch(/master lab0: no master was given/);
  });

  it('creates and removes the 802.1Q master link with the network when the kernel has vlan', async () => {
    sy = await setUp({ ipvlan: true, vlan: true });
    const before = sy.fake.snapshot();
    await sy.controller.createNetwork({ name: 'iv', driver: 'ipvlan', options: { master: 'lab0.7', mode: 'l3' } });
    expect(linksIn(sy.fake, HOST_NS).find((l) => l.name === 'lab0.7')).toMatchObject({ kind: 'vlan', parent: 'lab0', up: true });
    const sb = await sy.controller.createSandbox({ name: 's1' });
    await sy.controller.connect('iv', 's1');
    expect(linksIn(sy.fake, sb.netns).find((l) => l.name === 'eth0')?.parent).toBe('lab0.7');
    await sy.controller.deleteSandbox('s1');
    await sy.controller.deleteNetwork('iv');
    expect(sy.fake.snapshot()).toEqual(before);
  });

  it('fails with SWY_ERR_KERNEL_FEATURE_MISSING naming vlan when a VLAN master is needed and the kernel lacks 802.1Q', async () => {
    sy = await setUp({ ipvlan: true, vlan: false });
    await expect(sy.controller.createNetwork({ name: 'iv', driver: 'ipvlan', options: { master: 'lab0.7' } })).rejects.toMatchObject({
      code: 'SWY_ERR_KERNEL_FEATURE_MISSING',
      details: { feature: 'vlan' },
    });
    expect(sy.fake.linkNames(HOST_NS)).toEqual(['lab0', 'lo']);
  });

  it('shares a Switchyard-made VLAN link with a macvlan-style sibling network: the last network on it removes it', async () => {
    sy = await setUp({ ipvlan: true, vlan: true });
    await sy.controller.createNetwork({ name: 'a', driver: 'ipvlan', options: { master: 'lab0.8' } });
    await sy.controller.createNetwork({ name: 'b', driver: 'ipvlan', options: { master: 'lab0.8', mode: 'l3' } });
    await sy.controller.deleteNetwork('a');
    expect(sy.fake.linkNames(HOST_NS)).toContain('lab0.8');
    await sy.controller.deleteNetwork('b');
    expect(sy.fake.linkNames(HOST_NS)).toEqual(['lab0', 'lo']);
  });
});
