import { HOST_NS, nsKey, type KernelStep, type LinkAddOp, type NetnsRef } from '@switchyard/core';
import { FakeKernel, MemoryFirewall, createTestSwitchyard, runDriverConformance, type TestSwitchyard } from '@switchyard/core/testing';
import macvlanDriver, { MACVLAN_TEMP_PREFIX, shimName } from '../index.js';

runDriverConformance('macvlan', () => macvlanDriver, {
  networkOptions: { master: 'lab0' },
  master: { option: 'master', mtu: 1500 },
  prepareKernel: async (k) => k.addDevice('lab0', { up: true }),
  invalidOptions: [
    { master: 'lab0', mode: 'loud' },
    { master: 'lab0', mtu: 20 },
    { master: 'has space' },
    { master: 'lab0', shimAddress: '10.0.0.1' },
    { master: 'lab0', hostShim: true, mode: 'private' },
    { master: 'lab0', hostShim: true, shimAddress: 'fd00::1' },
    { master: 'lab0', ipMasq: true, hostShim: false },
    { master: 'lab0', ipMasq: true, shimAddress: '10.0.0.9' },
    { master: 'lab0', ipMasq: true, mode: 'vepa' },
  ],
});

interface SandboxLink {
  name: string;
  kind: string;
  mtu: number;
  mac: string;
  up: boolean;
  parent?: string;
}

/** The links of a namespace as the fake kernel models them (kind and parent included). */
function linksIn(fake: FakeKernel, ns: NetnsRef): SandboxLink[] {
  return (fake.snapshot()[nsKey(ns)] as { links: SandboxLink[] }).links;
}

function macvlanAdds(fake: FakeKernel): Array<KernelStep & { op: LinkAddOp & { kind: 'macvlan' } }> {
  return fake.history.filter((s): s is KernelStep & { op: LinkAddOp & { kind: 'macvlan' } } => s.op.op === 'link.add' && s.op.kind === 'macvlan');
}

async function setUp(features: ConstructorParameters<typeof FakeKernel>[0] = {}): Promise<TestSwitchyard> {
  const kernel = new FakeKernel(features);
  kernel.addDevice('lab0', { up: true, mtu: 1500 });
  return createTestSwitchyard([macvlanDriver], { kernel, firewall: new MemoryFirewall() });
}

describe('macvlan driver: joining sandboxes', () => {
  let sy: TestSwitchyard;
  beforeEach(async () => {
    sy = await setUp();
  });
  afterEach(() => sy.dispose());

  it('creates the macvlan straight inside the sandbox under a short temporary name, which core renames to eth0', async () => {
    await sy.controller.createNetwork({ name: 'lan', driver: 'macvlan', options: { master: 'lab0' }, ipam: { ipv4: [{ subnet: '10.40.0.0/24' }] } });
    const sb = await sy.controller.createSandbox({ name: 's1' });
    const ep = await sy.controller.connect('lan', 's1');
    const [add] = macvlanAdds(sy.fake);
    expect(add?.ns).toEqual(HOST_NS);
    expect(add?.op).toMatchObject({ parent: 'lab0', mode: 'bridge', netns: sb.netns });
    expect(add?.op.name.startsWith(MACVLAN_TEMP_PREFIX) && add.op.name.length <= 15).toBe(true);
    expect(add?.op.name).not.toBe('eth0');
    expect(linksIn(sy.fake, sb.netns).find((l) => l.name === 'eth0')).toMatchObject({ kind: 'macvlan', parent: 'lab0', up: true });
    expect(sy.fake.linkNames(HOST_NS)).toEqual(['lab0', 'lo']);
    expect((await sy.kernel.listRoutes(sb.netns)).filter((r) => r.dst === 'default')).toEqual([expect.objectContaining({ via: '10.40.0.1', dev: 'eth0' })]);
    expect(ep.ipv4).toBe('10.40.0.2/24');
  });

  it.each(['private', 'vepa', 'passthru'] as const)('creates %s-mode sub-interfaces when the network asks for that mode', async (mode) => {
    await sy.controller.createNetwork({ name: 'lan', driver: 'macvlan', options: { master: 'lab0', mode } });
    await sy.controller.createSandbox({ name: 's1' });
    await sy.controller.connect('lan', 's1');
    expect(macvlanAdds(sy.fake).map((s) => s.op.mode)).toEqual([mode]);
  });

  it('gives the sandbox interface the network MTU when it is below the master MTU', async () => {
    await sy.controller.createNetwork({ name: 'lan', driver: 'macvlan', options: { master: 'lab0', mtu: 1400 } });
    const sb = await sy.controller.createSandbox({ name: 's1' });
    await sy.controller.connect('lan', 's1');
    expect(linksIn(sy.fake, sb.netns).find((l) => l.name === 'eth0')?.mtu).toBe(1400);
  });

  it('gives the sandbox interface the static MAC address the endpoint asks for', async () => {
    await sy.controller.createNetwork({ name: 'lan', driver: 'macvlan', options: { master: 'lab0' } });
    const sb = await sy.controller.createSandbox({ name: 's1' });
    await sy.controller.connect('lan', 's1', { mac: '02:42:0a:28:00:09' });
    expect((await sy.kernel.listLinks(sb.netns)).find((l) => l.name === 'eth0')?.mac).toBe('02:42:0a:28:00:09');
  });

  it('gives sandboxes on an internal network no default route', async () => {
    await sy.controller.createNetwork({ name: 'lan', driver: 'macvlan', internal: true, options: { master: 'lab0' } });
    const sb = await sy.controller.createSandbox({ name: 's1' });
    await sy.controller.connect('lan', 's1');
    expect((await sy.kernel.listRoutes(sb.netns)).filter((r) => r.dst === 'default')).toEqual([]);
  });
});

describe('macvlan driver: the master', () => {
  let sy: TestSwitchyard;
  afterEach(() => sy.dispose());

  it('refuses an MTU above the master MTU with SWY_ERR_MTU_TOO_LARGE naming both numbers, and allocates nothing', async () => {
    sy = await setUp();
    const before = sy.fake.snapshot();
    const err = await sy.controller.createNetwork({ name: 'lan', driver: 'macvlan', options: { master: 'lab0', mtu: 9000 } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SWY_ERR_MTU_TOO_LARGE', message: expect.stringMatching(/9000.*1500.*lab0/) });
    expect(sy.fake.snapshot()).toEqual(before);
    expect(sy.ipam.poolCount()).toBe(0);
    expect(await sy.controller.listNetworks()).toEqual([]);
  });

  it('refuses a master that does not exist with SWY_ERR_MASTER_NOT_FOUND and allocates nothing', async () => {
    sy = await setUp();
    await expect(sy.controller.createNetwork({ name: 'lan', driver: 'macvlan', options: { master: 'nic9' } })).rejects.toMatchObject({ code: 'SWY_ERR_MASTER_NOT_FOUND', message: expect.stringContaining('nic9') });
    expect(sy.ipam.poolCount()).toBe(0);
  });

  it("takes the default route's interface as master when none is given, and says so in the notes", async () => {
    sy = await setUp();
    sy.fake.addDevice('uplink0', { up: true });
    await sy.kernel.apply([
      { ns: HOST_NS, op: { op: 'addr.add', dev: 'uplink0', cidr: '192.0.2.10/24' } },
      { ns: HOST_NS, op: { op: 'route.add', dst: 'default', via: '192.0.2.1', dev: 'uplink0' } },
    ]);
    const net = await sy.controller.createNetwork({ name: 'lan', driver: 'macvlan', ipam: { ipv4: [{ subnet: '10.41.0.0/24' }] } });
    expect(net.driverState).toMatchObject({ master: 'uplink0', masterDefaulted: true });
    expect(net.notes.join('\n')).toMatch(/master uplink0: no master was given, so the interface of the host's default route was taken/);
    const sb = await sy.controller.createSandbox({ name: 's1' });
    await sy.controller.connect('lan', 's1');
    expect(linksIn(sy.fake, sb.netns).find((l) => l.name === 'eth0')?.parent).toBe('uplink0');
  });

  it('refuses a network without master when the host has no default route', async () => {
    sy = await setUp();
    await expect(sy.controller.createNetwork({ name: 'lan', driver: 'macvlan' })).rejects.toMatchObject({ code: 'SWY_ERR_MASTER_NOT_FOUND', message: expect.stringContaining('no default route') });
  });

  it('refuses every macvlan network on a kernel without macvlan, naming the missing feature', async () => {
    sy = await setUp({ features: { macvlan: false } });
    const err = await sy.controller.createNetwork({ name: 'lan', driver: 'macvlan', options: { master: 'lab0' } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SWY_ERR_KERNEL_FEATURE_MISSING', message: expect.stringContaining('macvlan'), details: { feature: 'macvlan' } });
    expect(sy.ipam.poolCount()).toBe(0);
  });

  it('notes that the host cannot reach the sandboxes when no shim is asked for', async () => {
    sy = await setUp();
    const net = await sy.controller.createNetwork({ name: 'lan', driver: 'macvlan', options: { master: 'lab0' } });
    expect(net.notes.join('\n')).toMatch(/host cannot reach these sandboxes through lab0.*hostShim: true/);
  });
});

describe('macvlan driver: 802.1Q masters', () => {
  let sy: TestSwitchyard;
  afterEach(() => sy.dispose());

  it('creates the missing parent.vlanid link with the network, up, and removes it with the network', async () => {
    sy = await setUp({ features: { vlan: true } });
    const before = sy.fake.snapshot();
    const net = await sy.controller.createNetwork({ name: 'v10', driver: 'macvlan', options: { master: 'lab0.10' } });
    expect(linksIn(sy.fake, HOST_NS).find((l) => l.name === 'lab0.10')).toMatchObject({ kind: 'vlan', parent: 'lab0', up: true });
    expect(sy.fake.history.find((s) => s.op.op === 'link.add' && s.op.kind === 'vlan')?.op).toMatchObject({ vlanId: 10 });
    expect(net.notes.join('\n')).toMatch(/802\.1Q link lab0\.10 \(VLAN 10 on lab0\) created by Switchyard/);
    const sb = await sy.controller.createSandbox({ name: 's1' });
    await sy.controller.connect('v10', 's1');
    expect(linksIn(sy.fake, sb.netns).find((l) => l.name === 'eth0')?.parent).toBe('lab0.10');
    await sy.controller.deleteSandbox('s1');
    await sy.controller.deleteNetwork('v10');
    expect(sy.fake.snapshot()).toEqual(before);
  });

  it('fails with SWY_ERR_KERNEL_FEATURE_MISSING naming vlan when the kernel has no 802.1Q, leaving nothing', async () => {
    sy = await setUp({ features: { vlan: false } });
    const before = sy.fake.snapshot();
    const err = await sy.controller.createNetwork({ name: 'v10', driver: 'macvlan', options: { master: 'lab0.10' } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SWY_ERR_KERNEL_FEATURE_MISSING', message: expect.stringContaining('VLAN'), details: { feature: 'vlan' } });
    expect(sy.fake.snapshot()).toEqual(before);
    expect(sy.ipam.poolCount()).toBe(0);
  });

  it('refuses parent.vlanid when the parent does not exist either', async () => {
    sy = await setUp({ features: { vlan: true } });
    await expect(sy.controller.createNetwork({ name: 'v10', driver: 'macvlan', options: { master: 'nic9.10' } })).rejects.toMatchObject({
      code: 'SWY_ERR_MASTER_NOT_FOUND',
      message: expect.stringContaining('neither does its parent nic9'),
    });
  });

  it('leaves a VLAN link it did not create in place when the network goes', async () => {
    sy = await setUp({ features: { vlan: true } });
    await sy.kernel.apply([{ ns: HOST_NS, op: { op: 'link.add', kind: 'vlan', name: 'lab0.20', parent: 'lab0', vlanId: 20 } }]);
    const net = await sy.controller.createNetwork({ name: 'v20', driver: 'macvlan', options: { master: 'lab0.20' } });
    expect(net.driverState).toMatchObject({ vlanCreated: false });
    await sy.controller.deleteNetwork('v20');
    expect(sy.fake.linkNames(HOST_NS)).toContain('lab0.20');
  });

  it('keeps a VLAN link it created while another network still uses it, and removes it with the last one', async () => {
    sy = await setUp({ features: { vlan: true } });
    await sy.controller.createNetwork({ name: 'a', driver: 'macvlan', options: { master: 'lab0.30' } });
    await sy.controller.createNetwork({ name: 'b', driver: 'macvlan', options: { master: 'lab0.30', mode: 'private' } });
    await sy.controller.deleteNetwork('a');
    expect(sy.fake.linkNames(HOST_NS)).toContain('lab0.30');
    await sy.controller.deleteNetwork('b');
    expect(sy.fake.linkNames(HOST_NS)).not.toContain('lab0.30');
  });
});

describe('macvlan driver: host shim', () => {
  let sy: TestSwitchyard;
  beforeEach(async () => {
    sy = await setUp();
  });
  afterEach(() => sy.dispose());

  it('adds a bridge-mode macvlan on the master with the subnet highest address, a host route per sandbox through it, and removes it all', async () => {
    const before = sy.fake.snapshot();
    const net = await sy.controller.createNetwork({ name: 'lan', driver: 'macvlan', options: { master: 'lab0', hostShim: true }, ipam: { ipv4: [{ subnet: '10.42.0.0/24' }] } });
    const shim = shimName(net.id);
    expect(shim.length <= 15).toBe(true);
    expect(linksIn(sy.fake, HOST_NS).find((l) => l.name === shim)).toMatchObject({ kind: 'macvlan', parent: 'lab0', up: true });
    expect(sy.fake.history.find((s) => s.op.op === 'link.add' && s.op.name === shim)?.op).toMatchObject({ mode: 'bridge' });
    expect((await sy.kernel.listAddrs(HOST_NS)).filter((a) => a.dev === shim).map((a) => a.cidr)).toEqual(['10.42.0.254/32']);
    expect(net.notes.join('\n')).toMatch(new RegExp(`host shim ${shim} \\(10\\.42\\.0\\.254\\) on lab0`));
    await sy.controller.createSandbox({ name: 's1' });
    const ep = await sy.controller.connect('lan', 's1');
    expect((await sy.kernel.listRoutes(HOST_NS)).filter((r) => r.dev === shim).map((r) => r.dst)).toEqual([`${ep.ipv4!.split('/')[0]}/32`]);
    await sy.controller.disconnect('lan', 's1');
    expect((await sy.kernel.listRoutes(HOST_NS)).filter((r) => r.dev === shim)).toEqual([]);
    await sy.controller.deleteSandbox('s1');
    await sy.controller.deleteNetwork('lan');
    expect(sy.fake.snapshot()).toEqual(before);
    expect(sy.ipam.allocated()).toEqual([]);
  });

  it('with ipMasq, gives the shim the gateway address (the sandboxes route through the host) and asks the firewall to masquerade the subnet', async () => {
    const net = await sy.controller.createNetwork({ name: 'lan', driver: 'macvlan', options: { master: 'lab0', ipMasq: true }, ipam: { ipv4: [{ subnet: '10.43.0.0/24' }] } });
    const shim = shimName(net.id);
    expect((await sy.kernel.listAddrs(HOST_NS)).filter((a) => a.dev === shim).map((a) => a.cidr)).toEqual(['10.43.0.1/32']);
    expect(net.firewall).toEqual({ interfaces: [shim], masquerade: true });
    await sy.controller.createSandbox({ name: 's1' });
    const ep = await sy.controller.connect('lan', 's1');
    expect(ep.gateway4).toBe('10.43.0.1');
    // An internal network never masquerades: its shim keeps the highest address, and no gateway.
    const internal = await sy.controller.createNetwork({ name: 'quiet', driver: 'macvlan', internal: true, options: { master: 'lab0', ipMasq: true }, ipam: { ipv4: [{ subnet: '10.44.0.0/24' }] } });
    expect(internal.firewall).toBeUndefined();
    expect((await sy.kernel.listAddrs(HOST_NS)).filter((a) => a.dev === shimName(internal.id)).map((a) => a.cidr)).toEqual(['10.44.0.254/32']);
  });

  it('works when the master already has an address (and so a route) in the network subnet', async () => {
    await sy.kernel.apply([{ ns: HOST_NS, op: { op: 'addr.add', dev: 'lab0', cidr: '10.46.0.10/24' } }]);
    await sy.controller.createNetwork({ name: 'lan', driver: 'macvlan', options: { master: 'lab0', hostShim: true }, ipam: { ipv4: [{ subnet: '10.46.0.0/24' }] } });
    await sy.controller.createSandbox({ name: 's1' });
    const ep = await sy.controller.connect('lan', 's1');
    const routes = (await sy.kernel.listRoutes(HOST_NS)).map((r) => `${r.dst} ${r.dev}`);
    expect(routes).toContain('10.46.0.0/24 lab0');
    expect(routes).toContain(`${ep.ipv4!.split('/')[0]}/32 ${shimName((await sy.controller.inspectNetwork('lan')).id)}`);
  });

  it('never gives a sandbox the shim address, even when the pool runs out', async () => {
    // 10.47.0.0/29: gateway .1, sandboxes .2-.5, shim .6 (the highest host address).
    await sy.controller.createNetwork({ name: 'lan', driver: 'macvlan', options: { master: 'lab0', hostShim: true }, ipam: { ipv4: [{ subnet: '10.47.0.0/29' }] } });
    const got: string[] = [];
    for (let i = 0; i < 4; i++) {
      await sy.controller.createSandbox({ name: `s${i}` });
      got.push((await sy.controller.connect('lan', `s${i}`)).ipv4!);
    }
    expect(got.sort()).toEqual(['10.47.0.2/29', '10.47.0.3/29', '10.47.0.4/29', '10.47.0.5/29']);
    await sy.controller.createSandbox({ name: 's4' });
    await expect(sy.controller.connect('lan', 's4')).rejects.toMatchObject({ code: 'SWY_ERR_POOL_EXHAUSTED' });
  });

  it('uses the shim addresses given for IPv4 and IPv6', async () => {
    const net = await sy.controller.createNetwork({
      name: 'lan',
      driver: 'macvlan',
      ipv6: true,
      options: { master: 'lab0', hostShim: true, shimAddress: '10.43.0.200', shimAddress6: 'fd00:43::c8' },
      ipam: { ipv4: [{ subnet: '10.43.0.0/24' }], ipv6: [{ subnet: 'fd00:43::/64' }] },
    });
    const shim = shimName(net.id);
    expect(
      (await sy.kernel.listAddrs(HOST_NS))
        .filter((a) => a.dev === shim)
        .map((a) => a.cidr)
        .sort(),
    ).toEqual(['10.43.0.200/32', 'fd00:43::c8/128']);
    await sy.controller.createSandbox({ name: 's1' });
    const ep = await sy.controller.connect('lan', 's1');
    const hostRoutes = (await sy.kernel.listRoutes(HOST_NS))
      .filter((r) => r.dev === shim)
      .map((r) => r.dst)
      .sort();
    expect(hostRoutes).toEqual([`${ep.ipv4!.split('/')[0]}/32`, `${ep.ipv6!.split('/')[0]}/128`]);
  });

  it('refuses a shim address outside the subnet or equal to the gateway, allocating nothing', async () => {
    for (const shimAddress of ['10.99.0.5', '10.44.0.1']) {
      await expect(sy.controller.createNetwork({ name: 'lan', driver: 'macvlan', options: { master: 'lab0', hostShim: true, shimAddress }, ipam: { ipv4: [{ subnet: '10.44.0.0/24' }] } })).rejects.toMatchObject({
        code: 'SWY_ERR_INVALID_OPTION',
      });
    }
    expect(sy.ipam.poolCount()).toBe(0);
    expect(sy.fake.linkNames(HOST_NS)).toEqual(['lab0', 'lo']);
  });

  it("refuses a sandbox asking for the shim's address with SWY_ERR_ADDRESS_IN_USE", async () => {
    await sy.controller.createNetwork({ name: 'lan', driver: 'macvlan', options: { master: 'lab0', hostShim: true, shimAddress: '10.45.0.9' }, ipam: { ipv4: [{ subnet: '10.45.0.0/24' }] } });
    const sb = await sy.controller.createSandbox({ name: 's1' });
    await expect(sy.controller.connect('lan', 's1', { ipv4: '10.45.0.9' })).rejects.toMatchObject({ code: 'SWY_ERR_ADDRESS_IN_USE' });
    // Only the shim's own reservation is held.
    expect(sy.ipam.allocated()).toEqual(['10.45.0.9']);
    expect(sy.fake.linkNames(sb.netns)).toEqual(['lo']);
  });
});

describe('macvlan recovery', () => {
  it('removes the temporary-named link a connect left in the sandbox when its process died before the rename', async () => {
    const kernel = new FakeKernel();
    kernel.addDevice('lab0', { up: true, mtu: 1500 });
    const sy = await createTestSwitchyard([macvlanDriver], { kernel });
    try {
      await sy.controller.createNetwork({ name: 'mv', driver: 'macvlan', options: { master: 'lab0' } });
      const sb = await sy.controller.createSandbox({ name: 's' });
      const before = sy.fake.snapshot();
      const endpointId = 'a'.repeat(64);
      const temp = `${MACVLAN_TEMP_PREFIX}${endpointId.slice(0, 13 - MACVLAN_TEMP_PREFIX.length)}`;
      // What a dead process leaves: the intent, and the link created in the sandbox under its temporary name.
      await sy.store.transaction((tx) => tx.put('intents', 'i1', { kind: 'connect', id: 'i1', sandboxName: 's', networkName: 'mv', endpointId, ifname: 'eth0', at: '' }));
      await sy.kernel.apply([{ ns: HOST_NS, op: { op: 'link.add', kind: 'macvlan', name: temp, parent: 'lab0', mode: 'bridge', netns: sb.netns } }]);
      expect(sy.fake.linkNames(sb.netns)).toContain(temp);
      await sy.controller.recover();
      expect(sy.fake.snapshot()).toEqual(before);
      expect(await sy.store.list('intents')).toEqual([]);
    } finally {
      await sy.dispose();
    }
  });
});
