import { GLOBAL_COLLECTIONS, HOST_NS, type GlobalEndpoint, type JsonObject } from '@switchyard/core';
import { FakeKernel, MemoryCluster, MemoryFirewall, createTestSwitchyard, runDriverConformance, type TestSwitchyard } from '@switchyard/core/testing';
import overlayDriver, { OVERLAY_MEMBERS, overlayBridgeName, type OverlayMember } from '../index.js';

/** A host of a fresh cluster, joined: what each conformance test's Switchyard gets as its global store. */
function joinedHost() {
  const cluster = new MemoryCluster();
  cluster.join('h1', '10.0.0.1');
  return cluster.storeFor('h1');
}

runDriverConformance('overlay', () => overlayDriver, {
  globalStore: joinedHost,
  invalidOptions: [{ vni: 0 }, { vni: 16777216 }, { vni: 'blue' }, { port: 0 }, { port: 70000 }, { mtu: 20 }, { ipMasq: 'sometimes' }],
});

// The test instances' in-memory IPAM is registered as host-local (the driver's own default, global, has its own tests).
const HL = { ipam: { driver: 'host-local' } };
const SUBNET = { ipam: { driver: 'host-local', ipv4: [{ subnet: '10.50.0.0/24' }] } };

interface VxlanSnapshot {
  name: string;
  kind: string;
  mtu: number;
  up: boolean;
  master?: string;
  vxlan?: { vni: number; port: number; local?: string; learning: boolean; proxy: boolean };
}

function hostLinks(sy: TestSwitchyard): VxlanSnapshot[] {
  return (sy.fake.snapshot().host as { links: VxlanSnapshot[] }).links;
}

describe('overlay driver across two hosts of one cluster', () => {
  let cluster: MemoryCluster;
  let h1: TestSwitchyard;
  let h2: TestSwitchyard;
  const instances: TestSwitchyard[] = [];

  async function host(name: string, options: { kernel?: FakeKernel; firewall?: MemoryFirewall } = {}): Promise<TestSwitchyard> {
    const sy = await createTestSwitchyard([overlayDriver], { globalStore: cluster.storeFor(name), ...options });
    instances.push(sy);
    return sy;
  }

  beforeEach(async () => {
    cluster = new MemoryCluster();
    cluster.join('h1', '192.168.1.1');
    cluster.join('h2', '192.168.1.2');
    h1 = await host('h1');
    h2 = await host('h2');
  });
  afterEach(async () => {
    for (const sy of instances.splice(0)) await sy.dispose();
  });

  const globalDoc = (name: string) => cluster.storeFor('h1').get('networks', name);
  const members = async () => (await cluster.storeFor('h1').list<OverlayMember>(OVERLAY_MEMBERS)).map((m) => `${m.network}@${m.host}`).sort();
  const endpointDocs = () => cluster.storeFor('h1').list<GlobalEndpoint>(GLOBAL_COLLECTIONS.endpoints);

  it('gives the network the same VNI and port on both hosts and records each host as a member', async () => {
    const a = await h1.controller.createNetwork({ name: 'ov', driver: 'overlay', ...SUBNET });
    const b = await h2.controller.createNetwork({ name: 'ov', driver: 'overlay', ...SUBNET });
    expect(a.driverState).toMatchObject({ vni: 4096, port: 4789, vxlan: 'vx-4096', local: '192.168.1.1' });
    expect(b.driverState).toMatchObject({ vni: 4096, port: 4789, vxlan: 'vx-4096', local: '192.168.1.2' });
    expect(await globalDoc('ov')).toEqual({ name: 'ov', driver: 'overlay', vni: 4096, port: 4789 });
    expect(await members()).toEqual(['ov@h1', 'ov@h2']);
  });

  it("takes its membership and the cluster's network back when the create fails after the driver planned it", async () => {
    h1.fake.failAt((step) => step.op.op === 'link.add' && step.op.kind === 'vxlan');
    await expect(h1.controller.createNetwork({ name: 'ov', driver: 'overlay', ...SUBNET })).rejects.toMatchObject({ code: 'SWY_ERR_KERNEL_OP_FAILED' });
    expect(await members()).toEqual([]);
    expect(await globalDoc('ov')).toBeUndefined();
    expect(await h1.controller.listNetworks()).toEqual([]);
  });

  it('builds a bridge with the gateway and a VXLAN port on it: VNI, port, this host as source, no learning, ARP proxy, MTU 1450 on an unknown underlay', async () => {
    const n = await h1.controller.createNetwork({ name: 'ov', driver: 'overlay', ...SUBNET });
    const bridge = overlayBridgeName(n.id);
    const links = hostLinks(h1);
    expect(links.find((l) => l.name === bridge)).toMatchObject({ kind: 'bridge', up: true, mtu: 1450 });
    expect(links.find((l) => l.name === 'vx-4096')).toEqual(expect.objectContaining({ kind: 'vxlan', up: true, master: bridge, mtu: 1450, vxlan: { vni: 4096, port: 4789, local: '192.168.1.1', learning: false, proxy: true } }));
    expect((await h1.kernel.listAddrs(HOST_NS)).filter((a) => a.dev === bridge).map((a) => a.cidr)).toEqual(['10.50.0.1/24']);
    // The bridge has a MAC of its own (not the VXLAN link's), as the bridge driver gives it.
    expect((await h1.kernel.listLinks(HOST_NS)).find((l) => l.name === bridge)?.mac).toBe(`02:${n.id.slice(0, 10).match(/../g)?.join(':')}`);
  });

  it("takes the MTU from the underlay link carrying the host's address, less 50 bytes for IPv4 and 70 for IPv6, and gives it to the endpoints", async () => {
    const kernel = new FakeKernel();
    kernel.addDevice('eth1', { mtu: 9000, up: true });
    await kernel.apply([{ ns: HOST_NS, op: { op: 'addr.add', dev: 'eth1', cidr: '192.168.1.3/24' } }]);
    await kernel.apply([{ ns: HOST_NS, op: { op: 'addr.add', dev: 'eth1', cidr: 'fd00:1::3/64' } }]);
    cluster.join('h3', '192.168.1.3');
    cluster.join('h4', 'fd00:1:0::3');
    const h3 = await host('h3', { kernel });
    const n = await h3.controller.createNetwork({ name: 'ov', driver: 'overlay', ...SUBNET });
    expect(n.driverState.mtu).toBe(8950);
    const sb = await h3.controller.createSandbox({ name: 's1' });
    await h3.controller.connect('ov', 's1');
    expect((await h3.kernel.listLinks(sb.netns)).find((l) => l.name === 'eth0')?.mtu).toBe(8950);
    await h3.controller.disconnect('ov', 's1');
    await h3.controller.deleteNetwork('ov');
    // The same kernel seen as host h4, whose underlay is IPv6 (given in a non-canonical spelling).
    const h4 = await host('h4', { kernel });
    const six = await h4.controller.createNetwork({ name: 'ov6', driver: 'overlay', ...SUBNET });
    expect(six.driverState).toMatchObject({ mtu: 8930, local: 'fd00:1::3' });
    const given = await h4.controller.createNetwork({ name: 'small', driver: 'overlay', options: { mtu: 1400 }, ipam: { driver: 'host-local', ipv4: [{ subnet: '10.51.0.0/24' }] } });
    expect(given.driverState.mtu).toBe(1400);
  });

  it('refuses a VNI or port other than the one the cluster network has, and a name another driver uses, changing nothing', async () => {
    await h1.controller.createNetwork({ name: 'ov', driver: 'overlay', options: { vni: 5000, port: 8472 }, ...SUBNET });
    const before = h2.fake.snapshot();
    for (const options of [{ vni: 6000 }, { port: 4789 }] as JsonObject[]) {
      await expect(h2.controller.createNetwork({ name: 'ov', driver: 'overlay', options, ...SUBNET })).rejects.toMatchObject({ code: 'SWY_ERR_GLOBAL_NETWORK_MISMATCH' });
    }
    await cluster.storeFor('h2').transaction((tx) => tx.put('networks', 'taken', { name: 'taken', driver: 'routed' }));
    await expect(h2.controller.createNetwork({ name: 'taken', driver: 'overlay', ...SUBNET })).rejects.toMatchObject({ code: 'SWY_ERR_GLOBAL_NETWORK_MISMATCH' });
    expect(h2.fake.snapshot()).toEqual(before);
    expect(await h2.controller.listNetworks()).toEqual([]);
    expect(h2.ipam.poolCount()).toBe(0);
    expect(await members()).toEqual(['ov@h1']);
    // Asking for nothing, or for the same, joins it.
    const joined = await h2.controller.createNetwork({ name: 'ov', driver: 'overlay', options: { port: 8472 }, ...SUBNET });
    expect(joined.driverState).toMatchObject({ vni: 5000, port: 8472 });
  });

  it('allocates distinct VNIs to distinct networks, refuses a VNI another network has, and reuses a VNI once its network is gone', async () => {
    const a = await h1.controller.createNetwork({ name: 'a', driver: 'overlay', ...HL });
    const b = await h2.controller.createNetwork({ name: 'b', driver: 'overlay', ...HL });
    expect([a.driverState.vni, b.driverState.vni]).toEqual([4096, 4097]);
    await expect(h1.controller.createNetwork({ name: 'c', driver: 'overlay', options: { vni: 4097 }, ...HL })).rejects.toMatchObject({ code: 'SWY_ERR_GLOBAL_NETWORK_MISMATCH' });
    await h1.controller.deleteNetwork('a');
    expect((await h1.controller.createNetwork({ name: 'c', driver: 'overlay', ...HL })).driverState.vni).toBe(4096);
    expect((await h1.controller.createNetwork({ name: 'd', driver: 'overlay', options: { vni: 100 }, ...HL })).driverState).toMatchObject({ vni: 100, vxlan: 'vx-100' });
  });

  it("removes a host's membership when it deletes the network, and the cluster's network with the last member", async () => {
    await h1.controller.createNetwork({ name: 'ov', driver: 'overlay', ...SUBNET });
    await h2.controller.createNetwork({ name: 'ov', driver: 'overlay', ...SUBNET });
    const empty = new FakeKernel().snapshot();
    await h1.controller.deleteNetwork('ov');
    expect(h1.fake.snapshot()).toEqual(empty);
    expect(await members()).toEqual(['ov@h2']);
    expect(await globalDoc('ov')).toMatchObject({ vni: 4096 });
    await h2.controller.deleteNetwork('ov');
    expect(await members()).toEqual([]);
    expect(await globalDoc('ov')).toBeUndefined();
  });

  it("publishes each endpoint with its MAC, addresses, host and VNI, bound to the host's lease, and removes it on disconnect", async () => {
    await h1.controller.createNetwork({ name: 'ov', driver: 'overlay', ...SUBNET });
    const sb = await h1.controller.createSandbox({ name: 's1' });
    const ep = await h1.controller.connect('ov', 's1');
    expect(ep.mac).toMatch(/^02(:[0-9a-f]{2}){5}$/);
    expect(await endpointDocs()).toEqual([{ id: ep.id, network: 'ov', driver: 'overlay', host: 'h1', hostAddress: '192.168.1.1', mac: ep.mac, ipv4: ep.ipv4, data: { vni: 4096 } }]);
    expect((await h1.kernel.listLinks(sb.netns)).find((l) => l.name === 'eth0')).toMatchObject({ mac: ep.mac, mtu: 1450, up: true });
    // A MAC the user gives is the one published.
    await h1.controller.createSandbox({ name: 's2' });
    const mine = await h1.controller.connect('ov', 's2', { mac: '02:00:00:00:00:42' });
    expect((await endpointDocs()).find((d) => d.id === mine.id)?.mac).toBe('02:00:00:00:00:42');
    await h1.controller.disconnect('ov', 's1');
    expect((await endpointDocs()).map((d) => d.id)).toEqual([mine.id]);
    await h1.controller.deleteSandbox('s2');
    expect(await endpointDocs()).toEqual([]);
  });

  it("loses a host's endpoints and membership, but not the network, when its lease expires", async () => {
    await h1.controller.createNetwork({ name: 'ov', driver: 'overlay', ...SUBNET });
    await h2.controller.createNetwork({ name: 'ov', driver: 'overlay', ...SUBNET });
    await h1.controller.createSandbox({ name: 's1' });
    await h2.controller.createSandbox({ name: 's2' });
    await h1.controller.connect('ov', 's1');
    const kept = await h2.controller.connect('ov', 's2');
    cluster.expire('h1');
    expect((await endpointDocs()).map((d) => d.id)).toEqual([kept.id]);
    expect(await members()).toEqual(['ov@h2']);
    expect(await globalDoc('ov')).toMatchObject({ vni: 4096 });
    // Without its lease, the host cannot publish an endpoint: the connect is refused and rolled back.
    const before = h1.fake.snapshot();
    await h1.controller.createSandbox({ name: 's3' });
    await expect(h1.controller.connect('ov', 's3')).rejects.toMatchObject({ code: 'SWY_ERR_HOST_NOT_JOINED' });
    await h1.controller.deleteSandbox('s3');
    expect(h1.fake.snapshot()).toEqual(before);
  });

  it('refuses to create a network on a host that has not joined the cluster, leaving no pool, document or link', async () => {
    const h5 = await host('h5');
    await expect(h5.controller.createNetwork({ name: 'ov', driver: 'overlay', ...SUBNET })).rejects.toMatchObject({ code: 'SWY_ERR_HOST_NOT_JOINED' });
    expect(h5.ipam.poolCount()).toBe(0);
    expect(await globalDoc('ov')).toBeUndefined();
    expect(h5.fake.linkNames()).toEqual(['lo']);
  });

  it('masquerades by default only where the instance has a firewall, and never when ipMasq is false or the network is internal', async () => {
    const fw = await host('h1', { firewall: new MemoryFirewall() });
    const masquerade = async (sy: TestSwitchyard, name: string, extra: object = {}): Promise<boolean | undefined> => (await sy.controller.createNetwork({ name, driver: 'overlay', ...HL, ...extra })).firewall?.masquerade;
    expect(await masquerade(h2, 'plain')).toBe(false);
    expect(await masquerade(fw, 'withfw')).toBe(true);
    expect(await masquerade(fw, 'off', { options: { ipMasq: false } })).toBe(false);
    expect(await masquerade(fw, 'inside', { internal: true })).toBe(false);
    await expect(h2.controller.createNetwork({ name: 'asked', driver: 'overlay', options: { ipMasq: true }, ...HL })).rejects.toMatchObject({ code: 'SWY_ERR_FIREWALL_UNAVAILABLE' });
  });

  it('plans the VXLAN link back when it is missing or no longer on the bridge', async () => {
    const n = await h1.controller.createNetwork({ name: 'ov', driver: 'overlay', ...SUBNET });
    const driver = await h1.registry.driver('overlay');
    const view = { id: n.id, name: n.name, options: n.options, state: n.driverState, internal: false, ipv4: { subnet: '10.50.0.0/24', gateway: '10.50.0.1' } };
    expect((await driver.restoreNetwork?.(view, []))?.steps).toEqual([]);
    await h1.kernel.apply([{ ns: HOST_NS, op: { op: 'link.set', name: 'vx-4096', master: null } }]);
    expect((await driver.restoreNetwork?.(view, []))?.steps).toEqual([{ op: 'link.set', name: 'vx-4096', master: overlayBridgeName(n.id), up: true }]);
    await h1.kernel.apply([{ ns: HOST_NS, op: { op: 'link.del', name: 'vx-4096' } }]);
    const plan = await driver.restoreNetwork?.(view, []);
    expect(plan?.notes).toEqual(['VXLAN link vx-4096 is missing']);
    await h1.kernel.apply((plan?.steps ?? []).map((op) => ({ ns: HOST_NS, op })));
    expect(hostLinks(h1).find((l) => l.name === 'vx-4096')).toMatchObject({ master: overlayBridgeName(n.id), up: true, vxlan: { vni: 4096, local: '192.168.1.1' } });
  });
});

describe('overlay driver without a global store', () => {
  it('refuses every network operation with SWY_ERR_GLOBAL_STORE_MISSING before allocating anything', async () => {
    const sy = await createTestSwitchyard([overlayDriver]);
    try {
      await expect(sy.controller.createNetwork({ name: 'ov', driver: 'overlay', ...SUBNET })).rejects.toMatchObject({ code: 'SWY_ERR_GLOBAL_STORE_MISSING' });
      expect(sy.ipam.poolCount()).toBe(0);
      const driver = await sy.registry.driver('overlay');
      const network = { id: 'ab'.repeat(32), name: 'ov', options: {}, state: {}, internal: false };
      const endpoint = { id: 'cd'.repeat(32), ifname: 'eth0', state: {} };
      const sandbox = { id: 'ef'.repeat(32), netns: HOST_NS };
      for (const call of [
        () => driver.createNetwork(network),
        () => driver.deleteNetwork(network),
        () => driver.createEndpoint(network, endpoint),
        () => driver.deleteEndpoint(network, endpoint),
        () => driver.join(network, endpoint, sandbox),
        () => driver.leave(network, endpoint, sandbox),
        async () => driver.restoreNetwork?.(network, []),
      ]) {
        await expect(call()).rejects.toMatchObject({ code: 'SWY_ERR_GLOBAL_STORE_MISSING' });
      }
      // gc asks every driver about host link names: that needs no cluster.
      expect(driver.endpointOfHostLink?.('syb0123456789')).toBe('0123456789');
    } finally {
      await sy.dispose();
    }
  });
});
