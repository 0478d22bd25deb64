import { createTestSwitchyard, type TestSwitchyard } from '../../testing/test-switchyard.js';
import { FakeKernel } from '../../testing/fake-kernel.js';
import { fixtureDriver, type FixtureControls } from './fixture-driver.js';
import type { NetworkRecord, SandboxRecord } from '../../model/types.js';

async function storeState(sy: TestSwitchyard) {
  return {
    networks: await sy.store.list<NetworkRecord>('networks'),
    sandboxes: await sy.store.list<SandboxRecord>('sandboxes'),
    intents: await sy.store.list('intents'),
  };
}

describe('NetworkController', () => {
  let sy: TestSwitchyard;
  let controls: FixtureControls;
  beforeEach(async () => {
    controls = { calls: [] };
    sy = await createTestSwitchyard([fixtureDriver(controls)]);
  });
  afterEach(() => sy.dispose());

  describe('networks', () => {
    it('creates a network with a pool from IPAM and the driver kernel objects, and lists it', async () => {
      const n = await sy.controller.createNetwork({ name: 'web', driver: 'fixture', ipam: { ipv4: [{ subnet: '10.9.0.0/24' }] } });
      expect(n.ipv4).toEqual({ poolId: expect.any(String), subnet: '10.9.0.0/24', gateway: '10.9.0.1' });
      expect((await sy.kernel.listLinks({ kind: 'host' })).map((l) => l.name)).toContain(`fb${n.id.slice(0, 8)}`);
      expect((await sy.controller.listNetworks()).map((x) => x.name)).toEqual(['web']);
      expect((await sy.controller.inspectNetwork(n.id.slice(0, 12))).name).toBe('web');
    });

    it('refuses a duplicate name with SWY_ERR_NETWORK_EXISTS and changes nothing', async () => {
      await sy.controller.createNetwork({ name: 'web', driver: 'fixture' });
      const before = { kernel: sy.fake.snapshot(), store: await storeState(sy), pools: sy.ipam.poolCount() };
      await expect(sy.controller.createNetwork({ name: 'web', driver: 'fixture' })).rejects.toMatchObject({ code: 'SWY_ERR_NETWORK_EXISTS' });
      expect({ kernel: sy.fake.snapshot(), store: await storeState(sy), pools: sy.ipam.poolCount() }).toEqual(before);
    });

    it('refuses an unknown driver with SWY_ERR_DRIVER_NOT_FOUND and a hint naming the package to install', async () => {
      const err = await sy.controller.createNetwork({ name: 'x', driver: 'nosuch' }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'SWY_ERR_DRIVER_NOT_FOUND' });
      expect((err as { hint: string }).hint).toContain('switchyard-driver-nosuch');
      expect(await storeState(sy)).toEqual({ networks: [], sandboxes: [], intents: [] });
    });

    it('refuses invalid names and options before touching anything', async () => {
      await expect(sy.controller.createNetwork({ name: 'bad name', driver: 'fixture' })).rejects.toMatchObject({ code: 'SWY_ERR_INVALID_NAME' });
      await expect(sy.controller.createNetwork({ name: 'n', driver: 'fixture', options: { bogus: 1 } })).rejects.toMatchObject({ code: 'SWY_ERR_INVALID_OPTION' });
      await expect(sy.controller.createNetwork({ name: 'n', driver: 'fixture', ipv4: false })).rejects.toMatchObject({ code: 'SWY_ERR_INVALID_OPTION' });
      expect(sy.fake.history).toEqual([]);
      expect(sy.ipam.poolCount()).toBe(0);
    });

    it('releases the pools it took when the driver fails to plan the network', async () => {
      controls.failIn = 'createNetwork';
      await expect(sy.controller.createNetwork({ name: 'n', driver: 'fixture', ipv6: true })).rejects.toMatchObject({ code: 'SWY_ERR_KERNEL_OP_FAILED' });
      expect(sy.ipam.poolCount()).toBe(0);
      expect(await storeState(sy)).toEqual({ networks: [], sandboxes: [], intents: [] });
    });

    it('releases the pools and removes kernel objects when a kernel step of network create fails', async () => {
      const before = sy.fake.snapshot();
      let n = 0;
      sy.fake.failAt(() => n++ === 1);
      await expect(sy.controller.createNetwork({ name: 'n', driver: 'fixture' })).rejects.toMatchObject({ name: 'SwitchyardError' });
      expect(sy.fake.snapshot()).toEqual(before);
      expect(sy.ipam.poolCount()).toBe(0);
    });

    it('picks a pool that overlaps neither host routes nor other networks', async () => {
      const a = await sy.controller.createNetwork({ name: 'a', driver: 'fixture', ipam: { ipv4: [{ subnet: '10.213.0.0/24' }] } });
      const b = await sy.controller.createNetwork({ name: 'b', driver: 'fixture' });
      expect(b.ipv4?.subnet).not.toBe(a.ipv4?.subnet);
    });

    it('refuses to delete a network that still has endpoints, then deletes it once they are gone', async () => {
      await sy.controller.createNetwork({ name: 'n', driver: 'fixture' });
      await sy.controller.createSandbox({ name: 's' });
      await sy.controller.connect('n', 's');
      await expect(sy.controller.deleteNetwork('n')).rejects.toMatchObject({ code: 'SWY_ERR_NETWORK_IN_USE' });
      await sy.controller.disconnect('n', 's');
      await sy.controller.deleteNetwork('n');
      expect(await sy.controller.listNetworks()).toEqual([]);
    });

    it('answers SWY_ERR_NETWORK_NOT_FOUND for an unknown network', async () => {
      await expect(sy.controller.inspectNetwork('ghost')).rejects.toMatchObject({ code: 'SWY_ERR_NETWORK_NOT_FOUND' });
      await expect(sy.controller.deleteNetwork('ghost')).rejects.toMatchObject({ code: 'SWY_ERR_NETWORK_NOT_FOUND' });
    });
  });

  describe('sandboxes', () => {
    it('creates a named namespace with lo up, and deleting it removes the namespace', async () => {
      const sb = await sy.controller.createSandbox({ name: 'box' });
      expect(sb.netns).toEqual({ kind: 'named', name: 'box' });
      expect((await sy.kernel.listLinks(sb.netns)).find((l) => l.name === 'lo')?.up).toBe(true);
      await sy.controller.deleteSandbox('box');
      expect(await sy.kernel.netnsExists(sb.netns)).toBe(false);
    });

    it('a none sandbox has loopback only and refuses to join networks', async () => {
      await sy.controller.createNetwork({ name: 'n', driver: 'fixture' });
      const sb = await sy.controller.createSandbox({ name: 'quiet', mode: 'none' });
      expect((await sy.kernel.listLinks(sb.netns)).map((l) => l.name)).toEqual(['lo']);
      await expect(sy.controller.connect('n', 'quiet')).rejects.toMatchObject({ code: 'SWY_ERR_INVALID_OPTION' });
    });

    it('a host sandbox uses the caller namespace and creates nothing', async () => {
      const before = sy.fake.snapshot();
      const sb = await sy.controller.createSandbox({ name: 'h', mode: 'host' });
      expect(sb.netns).toEqual({ kind: 'host' });
      expect(sy.fake.snapshot()).toEqual(before);
    });

    it('refuses a duplicate sandbox and an unknown one with coded errors', async () => {
      await sy.controller.createSandbox({ name: 'box' });
      await expect(sy.controller.createSandbox({ name: 'box' })).rejects.toMatchObject({ code: 'SWY_ERR_SANDBOX_EXISTS' });
      await expect(sy.controller.inspectSandbox('nobox')).rejects.toMatchObject({ code: 'SWY_ERR_SANDBOX_NOT_FOUND' });
      await expect(sy.controller.createNetwork({ name: 'n', driver: 'fixture' }).then(() => sy.controller.connect('n', 'nobox'))).rejects.toMatchObject({ code: 'SWY_ERR_SANDBOX_NOT_FOUND' });
    });

    it('refuses a namespace path that does not exist', async () => {
      await expect(sy.controller.createSandbox({ name: 'p', netnsPath: '/proc/999999999/ns/net' })).rejects.toMatchObject({ code: 'SWY_ERR_NETNS_NOT_FOUND' });
      expect(await sy.controller.listSandboxes()).toEqual([]);
    });
  });

  describe('connect and disconnect', () => {
    it('runs IPAM before the driver and the driver before the kernel', async () => {
      await sy.controller.createNetwork({ name: 'n', driver: 'fixture' });
      await sy.controller.createSandbox({ name: 's' });
      const requestAddress = sy.ipam.requestAddress.bind(sy.ipam);
      sy.ipam.requestAddress = async (r) => {
        controls.calls.push('ipam');
        return requestAddress(r);
      };
      const apply = sy.fake.apply.bind(sy.fake);
      sy.fake.apply = async (steps) => {
        controls.calls.push('kernel');
        return apply(steps);
      };
      controls.calls.length = 0;
      await sy.controller.connect('n', 's');
      expect(controls.calls.filter((c) => !c.startsWith('program '))).toEqual(['ipam', 'createEndpoint', 'join', 'kernel', 'programExternalConnectivity']);
    });

    it('puts the endpoint in the sandbox as eth0 with its address, up, and a default route via the gateway', async () => {
      const n = await sy.controller.createNetwork({ name: 'n', driver: 'fixture', ipam: { ipv4: [{ subnet: '10.5.0.0/24' }] } });
      const sb = await sy.controller.createSandbox({ name: 's' });
      const ep = await sy.controller.connect('n', 's');
      expect(ep).toMatchObject({ ifname: 'eth0', ipv4: '10.5.0.2/24', providesDefaultRoute: true });
      expect((await sy.kernel.listAddrs(sb.netns)).filter((a) => a.dev !== 'lo').map((a) => `${a.dev} ${a.cidr}`)).toEqual(['eth0 10.5.0.2/24']);
      const routes = await sy.kernel.listRoutes(sb.netns);
      expect(routes).toContainEqual(expect.objectContaining({ dst: 'default', via: n.ipv4?.gateway, dev: 'eth0' }));
      expect((await sy.controller.inspectSandbox('s')).endpoints.map((e) => e.networkName)).toEqual(['n']);
    });

    it('gives a dual-stack endpoint one address per family', async () => {
      await sy.controller.createNetwork({ name: 'n', driver: 'fixture', ipv6: true, ipam: { ipv4: [{ subnet: '10.6.0.0/24' }], ipv6: [{ subnet: 'fd00:6::/64' }] } });
      const sb = await sy.controller.createSandbox({ name: 's' });
      const ep = await sy.controller.connect('n', 's');
      expect([ep.ipv4, ep.ipv6]).toEqual(['10.6.0.2/24', 'fd00:6::2/64']);
      expect(
        (await sy.kernel.listAddrs(sb.netns))
          .filter((a) => a.dev === 'eth0')
          .map((a) => a.cidr)
          .sort(),
      ).toEqual(['10.6.0.2/24', 'fd00:6::2/64']);
    });

    it('moves the default route to a higher-priority endpoint and back when it leaves', async () => {
      await sy.controller.createNetwork({ name: 'a', driver: 'fixture', ipam: { ipv4: [{ subnet: '10.1.0.0/24' }] } });
      await sy.controller.createNetwork({ name: 'b', driver: 'fixture', ipam: { ipv4: [{ subnet: '10.2.0.0/24' }] } });
      const sb = await sy.controller.createSandbox({ name: 's' });
      await sy.controller.connect('a', 's');
      await sy.controller.connect('b', 's', { gatewayPriority: 5 });
      const defaults = async () => (await sy.kernel.listRoutes(sb.netns)).filter((r) => r.dst === 'default').map((r) => `${r.via} ${r.dev}`);
      expect(await defaults()).toEqual(['10.2.0.1 eth1']);
      await sy.controller.disconnect('b', 's');
      expect(await defaults()).toEqual(['10.1.0.1 eth0']);
      expect((await sy.controller.inspectSandbox('s')).endpoints.map((e) => [e.ifname, e.providesDefaultRoute])).toEqual([['eth0', true]]);
    });

    it('keeps the first endpoint as gateway when a later one has equal priority', async () => {
      await sy.controller.createNetwork({ name: 'a', driver: 'fixture', ipam: { ipv4: [{ subnet: '10.1.0.0/24' }] } });
      await sy.controller.createNetwork({ name: 'b', driver: 'fixture', ipam: { ipv4: [{ subnet: '10.2.0.0/24' }] } });
      const sb = await sy.controller.createSandbox({ name: 's' });
      await sy.controller.connect('a', 's');
      await sy.controller.connect('b', 's');
      const defaults = (await sy.kernel.listRoutes(sb.netns)).filter((r) => r.dst === 'default');
      expect(defaults.map((r) => r.dev)).toEqual(['eth0']);
    });

    it('an internal network gives no default route', async () => {
      await sy.controller.createNetwork({ name: 'i', driver: 'fixture', internal: true });
      const sb = await sy.controller.createSandbox({ name: 's' });
      const ep = await sy.controller.connect('i', 's');
      expect(ep.providesDefaultRoute).toBe(false);
      expect((await sy.kernel.listRoutes(sb.netns)).filter((r) => r.dst === 'default')).toEqual([]);
    });

    for (const step of ['createEndpoint', 'join'] as const) {
      it(`undoes everything when the driver fails in ${step}`, async () => {
        await sy.controller.createNetwork({ name: 'n', driver: 'fixture' });
        await sy.controller.createSandbox({ name: 's' });
        const before = { kernel: sy.fake.snapshot(), store: await storeState(sy) };
        controls.failIn = step;
        await expect(sy.controller.connect('n', 's')).rejects.toMatchObject({ message: `fixture failure in ${step}` });
        expect({ kernel: sy.fake.snapshot(), store: await storeState(sy) }).toEqual(before);
        expect(sy.ipam.allocated()).toEqual([]);
      });
    }

    it('programs external connectivity for the gateway endpoint after join, and revokes it on disconnect', async () => {
      await sy.controller.createNetwork({ name: 'n', driver: 'fixture' });
      await sy.controller.createSandbox({ name: 's' });
      const ep = await sy.controller.connect('n', 's');
      const id = ep.id.slice(0, 4);
      expect(controls.calls.filter((c) => /program|revoke|join/.test(c))).toEqual(['join', 'programExternalConnectivity', `program ${id} gw`]);
      await sy.controller.disconnect('n', 's');
      expect(controls.calls.filter((c) => /program |revoke/.test(c))).toEqual([`program ${id} gw`, `revoke ${id}`]);
    });

    it('moves external connectivity with the default route: revoked from the endpoint that loses it, programmed on the one that gains it', async () => {
      await sy.controller.createNetwork({ name: 'a', driver: 'fixture', ipam: { ipv4: [{ subnet: '10.61.0.0/24' }] } });
      await sy.controller.createNetwork({ name: 'b', driver: 'fixture', ipam: { ipv4: [{ subnet: '10.62.0.0/24' }] } });
      await sy.controller.createSandbox({ name: 's' });
      const a = (await sy.controller.connect('a', 's')).id.slice(0, 4);
      const moves = () => controls.calls.filter((c) => /^(program|revoke) /.test(c));
      const b = (await sy.controller.connect('b', 's', { gatewayPriority: 10 })).id.slice(0, 4);
      expect(moves()).toEqual([`program ${a} gw`, `program ${b} gw`, `revoke ${a}`]);
      controls.calls.length = 0;
      await sy.controller.disconnect('b', 's');
      expect(moves()).toEqual([`revoke ${b}`, `revoke ${a}`, `program ${a} gw`]);
      expect((await sy.controller.inspectSandbox('s')).endpoints.map((e) => e.providesDefaultRoute)).toEqual([true]);
    });

    it('gives the old gateway endpoint its external connectivity back when a connect that took the default route is undone', async () => {
      await sy.controller.createNetwork({ name: 'a', driver: 'fixture', ipam: { ipv4: [{ subnet: '10.61.0.0/24' }] } });
      await sy.controller.createNetwork({ name: 'b', driver: 'fixture', ipam: { ipv4: [{ subnet: '10.62.0.0/24' }] } });
      await sy.controller.createSandbox({ name: 's' });
      const a = (await sy.controller.connect('a', 's')).id.slice(0, 4);
      const before = { kernel: sy.fake.snapshot(), store: await storeState(sy) };
      controls.calls.length = 0;
      // Writing the sandbox record, the connect's commit, fails: everything before it is undone.
      const store = sy.store;
      const real = store.transaction.bind(store);
      store.transaction = (body, scope) => real(async (tx) => body({ ...tx, put: (c, id, doc) => (c === 'sandboxes' ? Promise.reject(new Error('disk full')) : tx.put(c, id, doc)) }), scope);
      try {
        await expect(sy.controller.connect('b', 's', { gatewayPriority: 10 })).rejects.toThrow('disk full');
      } finally {
        store.transaction = real;
      }
      const moves = controls.calls.filter((c) => /^(program|revoke) /.test(c));
      const b = moves[0]?.slice(8, 12);
      // Done: b programmed, a revoked. Undone in reverse: a programmed again as the gateway, b revoked.
      expect(moves).toEqual([`program ${b} gw`, `revoke ${a}`, `revoke ${a}`, `program ${a} gw`, `revoke ${b}`]);
      expect({ kernel: sy.fake.snapshot(), store: await storeState(sy) }).toEqual(before);
    });

    it('gc programs external connectivity again for every endpoint that needs it (a reboot takes it along)', async () => {
      await sy.controller.createNetwork({ name: 'a', driver: 'fixture', ipam: { ipv4: [{ subnet: '10.61.0.0/24' }] } });
      await sy.controller.createNetwork({ name: 'b', driver: 'fixture', ipam: { ipv4: [{ subnet: '10.62.0.0/24' }] } });
      await sy.controller.createSandbox({ name: 's' });
      const a = (await sy.controller.connect('a', 's')).id.slice(0, 4);
      await sy.controller.connect('b', 's');
      controls.calls.length = 0;
      const report = await sy.controller.gc();
      expect(report.actions).toEqual([]);
      expect(controls.calls.filter((c) => /^(program|revoke) /.test(c))).toEqual([`program ${a} gw`]);
    });

    it('undoes the join when programming external connectivity fails', async () => {
      await sy.controller.createNetwork({ name: 'n', driver: 'fixture' });
      await sy.controller.createSandbox({ name: 's' });
      const before = { kernel: sy.fake.snapshot(), store: await storeState(sy) };
      controls.failIn = 'programExternalConnectivity';
      await expect(sy.controller.connect('n', 's')).rejects.toMatchObject({ message: 'fixture failure in programExternalConnectivity' });
      expect({ kernel: sy.fake.snapshot(), store: await storeState(sy) }).toEqual(before);
      expect(sy.ipam.allocated()).toEqual([]);
    });

    it('undoes everything when IPAM has no address left', async () => {
      await sy.controller.createNetwork({ name: 'n', driver: 'fixture', ipam: { ipv4: [{ subnet: '10.3.0.0/30' }] } });
      await sy.controller.createSandbox({ name: 's1' });
      await sy.controller.createSandbox({ name: 's2' });
      await sy.controller.connect('n', 's1');
      const before = { kernel: sy.fake.snapshot(), store: await storeState(sy) };
      await expect(sy.controller.connect('n', 's2')).rejects.toMatchObject({ code: 'SWY_ERR_POOL_EXHAUSTED' });
      expect({ kernel: sy.fake.snapshot(), store: await storeState(sy) }).toEqual(before);
    });

    it('undoes the kernel changes when publishing ports fails (no firewall yet)', async () => {
      await sy.controller.createNetwork({ name: 'n', driver: 'fixture' });
      await sy.controller.createSandbox({ name: 's' });
      const before = { kernel: sy.fake.snapshot(), store: await storeState(sy) };
      await expect(sy.controller.connect('n', 's', { portBindings: [{ protocol: 'tcp', containerPort: 80, hostPort: 8080 }] })).rejects.toMatchObject({ code: 'SWY_ERR_FIREWALL_UNAVAILABLE' });
      expect({ kernel: sy.fake.snapshot(), store: await storeState(sy) }).toEqual(before);
      expect(sy.ipam.allocated()).toEqual([]);
    });

    it('refuses bad connect input with coded errors and leaves nothing', async () => {
      await sy.controller.createNetwork({ name: 'n', driver: 'fixture' });
      await sy.controller.createSandbox({ name: 's' });
      const before = { kernel: sy.fake.snapshot(), store: await storeState(sy) };
      await expect(sy.controller.connect('n', 's', { ipv4: '10.0.0.300' })).rejects.toMatchObject({ code: 'SWY_ERR_INVALID_CIDR' });
      await expect(sy.controller.connect('n', 's', { mac: 'zz:00' })).rejects.toMatchObject({ code: 'SWY_ERR_INVALID_MAC' });
      await expect(sy.controller.connect('n', 's', { ifname: 'a-very-long-interface-name' })).rejects.toMatchObject({ code: 'SWY_ERR_INVALID_NAME' });
      await expect(sy.controller.connect('n', 's', { ipv6: 'fd00::5' })).rejects.toMatchObject({ code: 'SWY_ERR_INVALID_OPTION' });
      await sy.controller.connect('n', 's');
      await expect(sy.controller.connect('n', 's')).rejects.toMatchObject({ code: 'SWY_ERR_ENDPOINT_EXISTS' });
      await sy.controller.disconnect('n', 's');
      await sy.settle();
      expect({ kernel: sy.fake.snapshot(), store: await storeState(sy) }).toEqual(before);
      await expect(sy.controller.disconnect('n', 's')).rejects.toMatchObject({ code: 'SWY_ERR_ENDPOINT_NOT_FOUND' });
    });

    it('removing a sandbox releases every endpoint on every network', async () => {
      const hostBefore = sy.fake.snapshot();
      await sy.controller.createNetwork({ name: 'a', driver: 'fixture' });
      await sy.controller.createNetwork({ name: 'b', driver: 'fixture' });
      await sy.controller.createSandbox({ name: 's' });
      await sy.controller.connect('a', 's');
      await sy.controller.connect('b', 's');
      await sy.controller.deleteSandbox('s');
      expect(sy.ipam.allocated()).toEqual([]);
      await sy.controller.deleteNetwork('a');
      await sy.controller.deleteNetwork('b');
      expect(sy.fake.snapshot()).toEqual(hostBefore);
    });
  });

  describe('events', () => {
    it('emits each event after the change is stored', async () => {
      const seen: string[] = [];
      sy.events.on('network.created', (n) => void sy.store.get('networks', n.name).then((stored) => seen.push(`network.created ${stored ? 'stored' : 'missing'}`)));
      sy.events.on('endpoint.joined', (e, s, n) => seen.push(`endpoint.joined ${s.name} ${n.name} ${s.endpoints.some((x) => x.id === e.id)}`));
      sy.events.on('endpoint.left', (_e, s, n) => seen.push(`endpoint.left ${s.name} ${n.name}`));
      sy.events.on('sandbox.deleted', (s) => seen.push(`sandbox.deleted ${s.name}`));
      await sy.controller.createNetwork({ name: 'n', driver: 'fixture' });
      await sy.controller.createSandbox({ name: 's' });
      await sy.controller.connect('n', 's');
      await sy.controller.deleteSandbox('s');
      await new Promise((r) => setImmediate(r));
      expect(seen).toEqual(['network.created stored', 'endpoint.joined s n true', 'endpoint.left s n', 'sandbox.deleted s']);
    });

    it('emits nothing for an operation that failed', async () => {
      const seen: string[] = [];
      sy.events.on('network.created', () => seen.push('created'));
      await sy.controller.createNetwork({ name: 'bad name', driver: 'fixture' }).catch(() => undefined);
      expect(seen).toEqual([]);
    });
  });

  describe('recovery', () => {
    it('rolls back a connect that a dead process left half done', async () => {
      await sy.controller.createNetwork({ name: 'n', driver: 'fixture' });
      const sb = await sy.controller.createSandbox({ name: 's' });
      const before = sy.fake.snapshot();
      // Simulate a crash: the intent and the kernel/IPAM work exist, the commit never happened.
      const net = await sy.controller.inspectNetwork('n');
      await sy.store.transaction((tx) => tx.put('intents', 'i1', { kind: 'connect', id: 'i1', sandboxName: 's', networkName: 'n', endpointId: 'e'.repeat(64), ifname: 'eth0', at: '' }));
      await sy.ipam.requestAddress({ poolId: net.ipv4!.poolId, owner: { id: 'e'.repeat(64), ifname: 'eth0' } });
      await sy.kernel.apply([{ ns: { kind: 'host' }, op: { op: 'link.add', kind: 'veth', name: 'fheeeeeeee', peer: { name: 'eth0', netns: sb.netns } } }]);
      expect(await sy.controller.recover()).toBe(1);
      expect(sy.fake.snapshot()).toEqual(before);
      expect(sy.ipam.allocated()).toEqual([]);
      expect(await sy.store.list('intents')).toEqual([]);
    });

    it('finishes a committed connect instead of undoing it', async () => {
      await sy.controller.createNetwork({ name: 'n', driver: 'fixture' });
      await sy.controller.createSandbox({ name: 's' });
      const ep = await sy.controller.connect('n', 's');
      await sy.store.transaction((tx) => tx.put('intents', 'i2', { kind: 'connect', id: 'i2', sandboxName: 's', networkName: 'n', endpointId: ep.id, ifname: 'eth0', at: '' }));
      const before = sy.fake.snapshot();
      await sy.controller.recover();
      expect(sy.fake.snapshot()).toEqual(before);
      expect((await sy.controller.inspectSandbox('s')).endpoints.length).toBe(1);
    });
  });

  it('two instances in one process keep separate containers and state', async () => {
    const other = await createTestSwitchyard([fixtureDriver()], { kernel: new FakeKernel() });
    try {
      await sy.controller.createNetwork({ name: 'only-here', driver: 'fixture' });
      expect(await other.controller.listNetworks()).toEqual([]);
      expect(other.container).not.toBe(sy.container);
    } finally {
      await other.dispose();
    }
  });
});
