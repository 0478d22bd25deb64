import type { JsonObject, NetworkRecord, SandboxRecord } from '../model/types.js';
import type { DriverManifest } from '../registry/plugin.js';
import { SwitchyardError, isSwitchyardError } from '../errors/switchyard-error.js';
import { setFaultHook } from '../util/fault-points.js';
import { networkOf } from '../util/addresses.js';
import type { Switchyard } from '../di/create-switchyard.js';
import type { KernelFeature } from '../spi/kernel.js';
import type { GlobalStore } from '../spi/global-store.js';
import { createConformanceHarness, type ConformanceHarness, type ConformanceKernel } from './conformance-harness.js';
import type { FakeKernel } from './fake-kernel.js';
import { kernelSnapshot, type KernelSnapshot } from './lab.js';
import { settledSnapshot } from './settled-snapshot.js';
import { RETIRED_LINK_GROUP } from '../controller/link-retirement.js';

/** How {@link runDriverConformance} sets up and what it expects of the driver under test; every field is optional. */
export interface ConformanceOptions {
  /**
   * Where the suite runs: `'fake'` (default) drives FakeKernel and needs no root; `'lab'` drives the
   * real kernel and must run inside the lab (`scripts/lab.sh`, or user-mode Linux for ipvlan/vlan).
   */
  kernel?: ConformanceKernel;
  /** Options every test network is created with (e.g. `{ master: 'lab0' }`). */
  networkOptions?: JsonObject;
  /** Option sets the driver must refuse with SWY_ERR_INVALID_OPTION (or a more specific InvalidArgument code). */
  invalidOptions?: JsonObject[];
  /**
   * For drivers of global scope (overlay, routed): makes the global store each test's Switchyard is given
   * (its `globalStore` option), called once per test, e.g. the store of a host that has joined a fresh
   * `MemoryCluster`: `() => { const c = new MemoryCluster(); c.join('h1', '10.0.0.1'); return c.storeFor('h1'); }`.
   */
  globalStore?: () => GlobalStore;
  /** Kernel features the fake kernel offers (default: all, as on a stock distribution kernel). Fake kernel only. */
  kernelFeatures?: Partial<Record<KernelFeature, boolean>>;
  /** Prepares the fake host namespace before each test (e.g. creates a master link). Fake kernel only. */
  prepareKernel?: (kernel: FakeKernel) => Promise<void>;
  /** False when the driver's interfaces cannot carry a MAC of their own (ipvlan): a static MAC must then be refused. Default true. */
  staticMac?: boolean;
  /**
   * Drivers built on a host master link: the option that names it and the MTU the master has. In the
   * lab the suite makes that master itself (a veth pair named by `networkOptions[option]`, with that MTU).
   */
  master?: {
    /** The network option naming the master link (e.g. `master`). */
    option: string;
    /** The master's MTU in bytes. */
    mtu: number;
  };
  /**
   * False for a driver that by design gives sandboxes no IPv4 default route: the suite then checks
   * that there is none. Default true: a sandbox on two networks must get exactly one, from the
   * endpoint with the higher gateway priority.
   */
  defaultRoute?: boolean;
  /**
   * For drivers that attach endpoints themselves and do their own IPAM (`NetworkDriver.attach`, e.g. CNI
   * plugins). Core refuses IPAM ranges on their networks and allocates nothing, so the suite then creates
   * networks without ranges, checks that Switchyard's IPAM is never asked, and checks addresses against
   * `subnet4`, the subnet the driver hands out with `networkOptions`; the static-address test asks for
   * `staticIpv4` (inside it). Core applies no kernel steps of its own for such a connect, so the rollback
   * test fails it at each fault point after the driver attached (instead of at each kernel step). The
   * disconnect test takes its picture after one connect and disconnect, since plugins may make network-wide
   * host objects on first use (a CNI bridge) that stay until the network is deleted (which must remove them).
   */
  delegatedIpam?: {
    /** The IPv4 subnet (CIDR) the driver hands addresses out of with `networkOptions`. */
    subnet4: string;
    /** An address inside `subnet4` (no prefix) for the static-address test. */
    staticIpv4: string;
  };
}

type Declare = (name: string, fn: () => void) => void;
type It = (name: string, fn: () => Promise<void>) => void;
declare const describe: Declare;
declare const it: It;
declare const beforeEach: (fn: () => Promise<void>) => void;
declare const afterEach: (fn: () => Promise<void>) => void;
declare const expect: (value: unknown) => {
  toBe(v: unknown): void;
  toEqual(v: unknown): void;
  toContain(v: unknown): void;
  toMatch(v: RegExp | string): void;
  toBeDefined(): void;
  toBeGreaterThan(v: number): void;
  not: { toBe(v: unknown): void; toEqual(v: unknown): void; toContain(v: unknown): void };
  rejects: { toThrow(v?: unknown): Promise<void>; toMatchObject(v: unknown): Promise<void> };
};

/**
 * The suite every network driver runs, first or third party: call it at the top level of a jest
 * test file. It drives the driver through a real controller, on FakeKernel or (`kernel: 'lab'`) on
 * the real kernel inside the lab namespace, and checks the promises
 * every driver must keep: clean create/delete, the interface in the sandbox, rollback at every step,
 * no leaks, coded errors.
 */
export function runDriverConformance(name: string, factory: () => DriverManifest | Promise<DriverManifest>, options: ConformanceOptions = {}): void {
  const netOpts = options.networkOptions ?? {};
  const on = options.kernel ?? 'fake';
  const masterName = options.master ? netOpts[options.master.option] : undefined;
  const delegated = options.delegatedIpam;
  // The IPAM ranges a test asks for, unless the driver allocates itself.
  const ipamOf = (subnet: string): { ipam?: { ipv4: Array<{ subnet: string }> } } => (delegated ? {} : { ipam: { ipv4: [{ subnet }] } });
  if (options.master && typeof masterName !== 'string') throw new Error(`runDriverConformance: networkOptions.${options.master.option} must name the master link`);

  async function setUp(): Promise<ConformanceHarness> {
    return createConformanceHarness(on, await factory(), {
      ...(options.master && typeof masterName === 'string' ? { master: { name: masterName, mtu: options.master.mtu } } : {}),
      ...(options.kernelFeatures ? { kernelFeatures: options.kernelFeatures } : {}),
      ...(options.prepareKernel ? { prepareFake: options.prepareKernel } : {}),
      ...(options.globalStore ? { globalStore: options.globalStore() } : {}),
    });
  }

  async function storeSnapshot(sy: Switchyard): Promise<unknown> {
    const [networks, sandboxes, intents] = await Promise.all([sy.store.list<NetworkRecord>('networks'), sy.store.list<SandboxRecord>('sandboxes'), sy.store.list('intents')]);
    return { networks, sandboxes, intents };
  }

  describe(`${name} driver conformance (${on === 'lab' ? 'real kernel' : 'FakeKernel'})`, () => {
    let h: ConformanceHarness;
    let sy: Switchyard;
    let type: string;
    let kernelAtStart: unknown;
    let labBefore: KernelSnapshot | undefined;
    // Sandbox names: prefixed in the lab, so no two test files share a namespace.
    const sb = (n: string) => h.sandboxName(n);
    beforeEach(async () => {
      labBefore = on === 'lab' ? await kernelSnapshot('all') : undefined;
      h = await setUp();
      sy = h.sy;
      type = (await factory()).type;
      kernelAtStart = await h.kernelState();
    });
    afterEach(async () => {
      await h.dispose();
      // Whatever a test did, removing its sandboxes and networks must leave the lab as it was.
      if (labBefore) expect(await settledSnapshot(labBefore, 'all')).toEqual(labBefore);
    });

    it('declares a manifest Switchyard can load: kind, API version 1, type, version and capability', async () => {
      const m = await factory();
      expect(m.kind).toBe('driver');
      expect(m.apiVersion).toBe(1);
      expect(m.type).toMatch(/^[a-z][a-z0-9-]*$/);
      expect(m.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(['local', 'global']).toContain(m.capability.dataScope);
      expect(['local', 'global']).toContain(m.capability.connectivityScope);
    });

    it('refuses an unknown option with an InvalidArgument error and creates nothing', async () => {
      for (const bad of [{ ...netOpts, noSuchOption: true }, ...(options.invalidOptions ?? [])]) {
        const err = await sy.controller.createNetwork({ name: 'bad', driver: type, options: bad }).catch((e: unknown) => e);
        expect(isSwitchyardError(err) && err.kind).toBe('InvalidArgument');
      }
      expect(await h.kernelState()).toEqual(kernelAtStart);
      expect(await sy.controller.listNetworks()).toEqual([]);
      expect(h.ipam.poolCount()).toBe(0);
    });

    it('creates and deletes a network, leaving the kernel as it found it', async () => {
      await sy.controller.createNetwork({ name: 'n1', driver: type, options: netOpts });
      await sy.controller.deleteNetwork('n1');
      expect(await h.kernelStateSettledTo(kernelAtStart)).toEqual(kernelAtStart);
      expect(h.ipam.poolCount()).toBe(0);
    });

    it('connects a sandbox: its interface is inside it, named as asked, addressed and up', async () => {
      await sy.controller.createNetwork({ name: 'n1', driver: type, options: netOpts, ...ipamOf('10.77.0.0/24') });
      const sandbox = await sy.controller.createSandbox({ name: sb('sb1') });
      const ep = await sy.controller.connect('n1', sb('sb1'), { ifname: 'net0' });
      const links = await sy.kernel.listLinks(sandbox.netns);
      const link = links.find((l) => l.name === 'net0');
      expect(link?.up).toBe(true);
      const addrs = (await sy.kernel.listAddrs(sandbox.netns)).filter((a) => a.dev === 'net0' && a.family === 4).map((a) => a.cidr);
      expect(addrs).toEqual([ep.ipv4]);
      if (delegated) {
        expect(networkOf(ep.ipv4 ?? '0.0.0.0/32')).toBe(delegated.subnet4);
        expect([h.ipam.poolCount(), h.ipam.allocated()]).toEqual([0, []]);
      } else {
        expect(ep.ipv4).toMatch(/^10\.77\.0\.\d+\/24$/);
      }
    });

    it('gives two sandboxes their own interfaces and distinct addresses', async () => {
      await sy.controller.createNetwork({ name: 'n1', driver: type, options: netOpts });
      await sy.controller.createSandbox({ name: sb('a') });
      await sy.controller.createSandbox({ name: sb('b') });
      const a = await sy.controller.connect('n1', sb('a'));
      const b = await sy.controller.connect('n1', sb('b'));
      expect(a.ipv4).not.toBe(b.ipv4);
      expect(a.ifname).toBe('eth0');
      expect(b.ifname).toBe('eth0');
    });

    if (options.staticMac === false) {
      it('refuses a static MAC with an InvalidArgument error and leaves nothing', async () => {
        await sy.controller.createNetwork({ name: 'n1', driver: type, options: netOpts });
        await sy.controller.createSandbox({ name: sb('sb1') });
        const before = await h.kernelState();
        const err = await sy.controller.connect('n1', sb('sb1'), { mac: '02:00:00:00:00:42' }).catch((e: unknown) => e);
        expect(isSwitchyardError(err) && err.kind).toBe('InvalidArgument');
        expect(await h.kernelStateSettledTo(before)).toEqual(before);
        expect(h.ipam.allocated()).toEqual([]);
      });
    } else {
      it('honours a static address and MAC', async () => {
        await sy.controller.createNetwork({ name: 'n1', driver: type, options: netOpts, ...ipamOf('10.78.0.0/24') });
        const sandbox = await sy.controller.createSandbox({ name: sb('sb1') });
        const ep = await sy.controller.connect('n1', sb('sb1'), { ipv4: delegated ? delegated.staticIpv4 : '10.78.0.42', mac: '02:00:00:00:00:42' });
        expect(ep.ipv4).toBe(delegated ? `${delegated.staticIpv4}/${delegated.subnet4.split('/')[1]}` : '10.78.0.42/24');
        expect(ep.mac).toBe('02:00:00:00:00:42');
        const link = (await sy.kernel.listLinks(sandbox.netns)).find((l) => l.name === 'eth0');
        expect(link?.mac).toBe('02:00:00:00:00:42');
      });
    }

    it('refuses an interface name held by a link Switchyard did not make with SWY_ERR_LINK_EXISTS and leaves nothing', async () => {
      await sy.controller.createNetwork({ name: 'n1', driver: type, options: netOpts });
      const sandbox = await sy.controller.createSandbox({ name: sb('sb1') });
      await sy.kernel.apply([{ ns: sandbox.netns, op: { op: 'link.add', kind: 'bridge', name: 'eth0' } }]);
      const before = await h.kernelState();
      await expect(sy.controller.connect('n1', sb('sb1'))).rejects.toMatchObject({ code: 'SWY_ERR_LINK_EXISTS' });
      expect(await h.kernelStateSettledTo(before)).toEqual(before);
      expect(h.ipam.allocated()).toEqual([]);
    });

    if (options.master) {
      const { option, mtu } = options.master;
      it('refuses a master that does not exist with SWY_ERR_MASTER_NOT_FOUND and allocates nothing', async () => {
        await expect(sy.controller.createNetwork({ name: 'n1', driver: type, options: { ...netOpts, [option]: 'nosuchnic0' } })).rejects.toMatchObject({ code: 'SWY_ERR_MASTER_NOT_FOUND' });
        expect(await h.kernelState()).toEqual(kernelAtStart);
        expect(h.ipam.poolCount()).toBe(0);
      });

      it("refuses an MTU above the master's with SWY_ERR_MTU_TOO_LARGE naming both numbers, and allocates nothing", async () => {
        const err = await sy.controller.createNetwork({ name: 'n1', driver: type, options: { ...netOpts, mtu: mtu + 1 } }).catch((e: unknown) => e);
        expect(isSwitchyardError(err) && err.code).toBe('SWY_ERR_MTU_TOO_LARGE');
        expect((err as Error).message).toContain(String(mtu + 1));
        expect((err as Error).message).toContain(String(mtu));
        expect(await h.kernelState()).toEqual(kernelAtStart);
        expect(h.ipam.poolCount()).toBe(0);
      });

      it("gives the sandbox interface an MTU below the master's when the network asks for it", async () => {
        await sy.controller.createNetwork({ name: 'n1', driver: type, options: { ...netOpts, mtu: mtu - 100 } });
        const sandbox = await sy.controller.createSandbox({ name: sb('sb1') });
        await sy.controller.connect('n1', sb('sb1'));
        expect((await sy.kernel.listLinks(sandbox.netns)).find((l) => l.name === 'eth0')?.mtu).toBe(mtu - 100);
      });
    }

    it('leaves no link, address or route behind after disconnect, sandbox removal and network delete', async () => {
      await sy.controller.createNetwork({ name: 'n1', driver: type, options: netOpts });
      await sy.controller.createSandbox({ name: sb('a') });
      await sy.controller.createSandbox({ name: sb('b') });
      await sy.controller.connect('n1', sb('a'));
      await sy.controller.connect('n1', sb('b'));
      await sy.controller.disconnect('n1', sb('a'));
      await sy.controller.deleteSandbox(sb('a'));
      await sy.controller.deleteSandbox(sb('b'));
      await sy.controller.deleteNetwork('n1');
      // Links a disconnect retired are deleted with the next batch: settle runs it now.
      await sy.settle();
      expect(await h.kernelStateSettledTo(kernelAtStart)).toEqual(kernelAtStart);
      expect(h.ipam.allocated()).toEqual([]);
      expect(await storeSnapshot(sy)).toEqual({ networks: [], sandboxes: [], intents: [] });
    });

    it('leaves the sandbox as it was after a disconnect: no interface, address or route of the network stays inside', async () => {
      await sy.controller.createNetwork({ name: 'n1', driver: type, options: netOpts });
      await sy.controller.createSandbox({ name: sb('sb1') });
      if (delegated) {
        // A delegated driver's plugins may make network-wide host objects on first use (a CNI bridge, its
        // gateway address) that stay until the network goes: one connect and disconnect first.
        await sy.controller.connect('n1', sb('sb1'));
        await sy.controller.disconnect('n1', sb('sb1'));
      }
      await sy.settle();
      const before = await h.kernelStateSettledTo(await h.kernelState());
      await sy.controller.connect('n1', sb('sb1'));
      await sy.controller.disconnect('n1', sb('sb1'));
      await sy.settle();
      expect(await h.kernelStateSettledTo(before)).toEqual(before);
      expect(h.ipam.allocated()).toEqual([]);
      expect(await sy.store.list('intents')).toEqual([]);
    });

    it('frees the interface name and takes the endpoint off the network at once on disconnect; the old link goes with the next batch', async () => {
      await sy.controller.createNetwork({ name: 'n1', driver: type, options: netOpts });
      const sandbox = await sy.controller.createSandbox({ name: sb('sb1') });
      await sy.controller.connect('n1', sb('sb1'));
      await sy.controller.disconnect('n1', sb('sb1'));
      // Until the batch runs (the harness holds it for settle), whatever is left in the sandbox is retired: down,
      // renamed, in the retired group. (A driver whose leave deletes its host end, or a delegated driver's plugins,
      // leave nothing.)
      const waiting = (await sy.kernel.listLinks(sandbox.netns)).filter((l) => l.name !== 'lo');
      for (const l of waiting) expect(l.name).toMatch(/^swyr[0-9a-f]{10}$/);
      expect(waiting.map((l) => ({ up: l.up, group: l.group }))).toEqual(waiting.map(() => ({ up: false, group: RETIRED_LINK_GROUP })));
      await sy.controller.connect('n1', sb('sb1'));
      expect((await sy.kernel.listLinks(sandbox.netns)).find((l) => l.name === 'eth0')?.up).toBe(true);
      await sy.controller.disconnect('n1', sb('sb1'));
      await sy.settle();
      expect((await sy.kernel.listLinks(sandbox.netns)).map((l) => l.name)).toEqual(['lo']);
      expect(await sy.store.list('intents')).toEqual([]);
    });

    if (delegated) {
      it('rolls back completely when connect fails at any step after the driver attached', async () => {
        await sy.controller.createNetwork({ name: 'n1', driver: type, options: netOpts });
        await sy.controller.createSandbox({ name: sb('sb1') });
        // The steps of one successful connect: its fault points inside the undoable part (after the intent, before the commit).
        const reached: string[] = [];
        setFaultHook((p) => reached.push(p));
        try {
          await sy.controller.connect('n1', sb('sb1'));
        } finally {
          setFaultHook(undefined);
        }
        const points = reached.filter((p) => p.startsWith('connect:') && p !== 'connect:intent-written' && p !== 'connect:committed');
        expect(points).toContain('connect:kernel-applied');
        await sy.controller.disconnect('n1', sb('sb1'));
        await sy.settle();
        const kernelBefore = await h.kernelStateSettledTo(await h.kernelState());
        const storeBefore = await storeSnapshot(sy);
        for (const point of points) {
          setFaultHook((p) => {
            if (p === point) throw new SwitchyardError('SWY_ERR_INTERNAL', `conformance: injected failure at ${point}`);
          });
          try {
            await expect(sy.controller.connect('n1', sb('sb1'))).rejects.toMatchObject({ name: 'SwitchyardError' });
          } finally {
            setFaultHook(undefined);
          }
          expect({ point, kernel: await h.kernelStateSettledTo(kernelBefore) }).toEqual({ point, kernel: kernelBefore });
          expect({ point, store: await storeSnapshot(sy) }).toEqual({ point, store: storeBefore });
        }
        await sy.controller.connect('n1', sb('sb1'));
      });
    }

    // An attaching driver's connect has no kernel steps of core's to fail (the test above covers it).
    if (!delegated) {
      it('rolls back completely when any kernel step of connect fails', async () => {
        // Count the steps of one successful connect, then fail each of them in turn.
        await sy.controller.createNetwork({ name: 'n1', driver: type, options: netOpts });
        await sy.controller.createSandbox({ name: sb('sb1') });
        h.kernel.startCounting();
        await sy.controller.connect('n1', sb('sb1'));
        const stepCount = h.kernel.stepsSeen;
        expect(stepCount).toBeGreaterThan(0);
        await sy.controller.disconnect('n1', sb('sb1'));
        await sy.settle();
        const kernelBefore = await h.kernelStateSettledTo(await h.kernelState());
        const storeBefore = await storeSnapshot(sy);
        for (let i = 0; i < stepCount; i++) {
          h.kernel.failAt(i);
          await expect(sy.controller.connect('n1', sb('sb1'))).rejects.toMatchObject({ name: 'SwitchyardError' });
          expect({ step: i, kernel: await h.kernelStateSettledTo(kernelBefore) }).toEqual({ step: i, kernel: kernelBefore });
          expect({ step: i, store: await storeSnapshot(sy) }).toEqual({ step: i, store: storeBefore });
          expect({ step: i, allocated: h.ipam.allocated() }).toEqual({ step: i, allocated: [] });
        }
        // And the network still works afterwards.
        await sy.controller.connect('n1', sb('sb1'));
      });
    }

    it('refuses an interface name already taken in the sandbox with SWY_ERR_LINK_EXISTS and leaves nothing', async () => {
      await sy.controller.createNetwork({ name: 'n1', driver: type, options: netOpts });
      await sy.controller.createNetwork({ name: 'n2', driver: type, options: netOpts });
      await sy.controller.createSandbox({ name: sb('sb1') });
      await sy.controller.connect('n1', sb('sb1'), { ifname: 'eth5' });
      const before = await h.kernelState();
      await expect(sy.controller.connect('n2', sb('sb1'), { ifname: 'eth5' })).rejects.toMatchObject({ code: 'SWY_ERR_LINK_EXISTS' });
      expect(await h.kernelStateSettledTo(before)).toEqual(before);
      expect(h.ipam.allocated().length).toBe(delegated ? 0 : 1);
    });

    const routes = options.defaultRoute !== false;
    it(
      routes ? 'gives a sandbox on two networks two interfaces and exactly one IPv4 default route, from the higher priority' : 'gives a sandbox on two networks two interfaces and, as declared, no IPv4 default route',
      async () => {
        await sy.controller.createNetwork({ name: 'n1', driver: type, options: netOpts });
        await sy.controller.createNetwork({ name: 'n2', driver: type, options: netOpts });
        const sandbox = await sy.controller.createSandbox({ name: sb('sb1') });
        const first = await sy.controller.connect('n1', sb('sb1'));
        const defaultsNow = async () => (await sy.kernel.listRoutes(sandbox.netns)).filter((r) => r.dst === 'default' && r.family === 4);
        const afterFirst = await defaultsNow();
        const second = await sy.controller.connect('n2', sb('sb1'), { gatewayPriority: 10 });
        const names = (await sy.kernel.listLinks(sandbox.netns)).map((l) => l.name).sort();
        expect(names).toEqual(['eth0', 'eth1', 'lo']);
        const defaults = await defaultsNow();
        if (routes) {
          expect([first.routing.v4, second.routing.v4]).toEqual([true, true]);
          expect(afterFirst.map((r) => r.dev)).toEqual(['eth0']);
          expect(defaults.map((r) => r.dev)).toEqual(['eth1']);
        } else {
          expect(defaults).toEqual([]);
        }
      },
    );
  });
}
