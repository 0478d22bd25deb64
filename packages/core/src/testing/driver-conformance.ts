/* eslint-disable jest/no-export */
import type { JsonObject, NetworkRecord, SandboxRecord } from '../model/types.js';
import type { DriverManifest } from '../registry/plugin.js';
import { isSwitchyardError } from '../errors/switchyard-error.js';
import type { KernelFeature } from '../spi/kernel.js';
import { FakeKernel } from './fake-kernel.js';
import { createTestSwitchyard, type TestSwitchyard } from './test-switchyard.js';

export interface ConformanceOptions {
  /** Options every test network is created with (e.g. `{ master: 'lab0' }`). */
  networkOptions?: JsonObject;
  /** Option sets the driver must refuse with SWY_ERR_INVALID_OPTION (or a more specific InvalidArgument code). */
  invalidOptions?: JsonObject[];
  /** Kernel features the fake kernel offers (default: this build machine's). */
  kernelFeatures?: Partial<Record<KernelFeature, boolean>>;
  /** Prepares the fake host namespace before each test (e.g. creates a master link). */
  prepareKernel?: (kernel: FakeKernel) => Promise<void>;
  /** False when the driver's interfaces cannot carry a MAC of their own (ipvlan): a static MAC must then be refused. Default true. */
  staticMac?: boolean;
  /** Drivers built on a host master link: the option that names it and the MTU the master has after prepareKernel. */
  master?: { option: string; mtu: number };
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
  not: { toBe(v: unknown): void; toEqual(v: unknown): void; toContain(v: unknown): void };
  rejects: { toThrow(v?: unknown): Promise<void>; toMatchObject(v: unknown): Promise<void> };
};

/**
 * The suite every network driver runs, first or third party: call it at the top level of a jest
 * test file. It drives the driver through a real controller on FakeKernel and checks the promises
 * every driver must keep: clean create/delete, the interface in the sandbox, rollback at every step,
 * no leaks, coded errors.
 */
export function runDriverConformance(name: string, factory: () => DriverManifest | Promise<DriverManifest>, options: ConformanceOptions = {}): void {
  const netOpts = options.networkOptions ?? {};

  async function setUp(): Promise<TestSwitchyard> {
    const manifest = await factory();
    const kernel = new FakeKernel(options.kernelFeatures ? { features: options.kernelFeatures } : {});
    if (options.prepareKernel) await options.prepareKernel(kernel);
    return createTestSwitchyard([manifest], { kernel });
  }

  async function storeSnapshot(sy: TestSwitchyard): Promise<unknown> {
    const [networks, sandboxes, intents] = await Promise.all([
      sy.store.list<NetworkRecord>('networks'),
      sy.store.list<SandboxRecord>('sandboxes'),
      sy.store.list('intents'),
    ]);
    return { networks, sandboxes, intents };
  }

  describe(`${name} driver conformance`, () => {
    let sy: TestSwitchyard;
    let type: string;
    beforeEach(async () => {
      sy = await setUp();
      type = (await factory()).type;
    });
    afterEach(async () => {
      await sy.dispose();
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
      const before = sy.fake.snapshot();
      for (const bad of [{ ...netOpts, noSuchOption: true }, ...(options.invalidOptions ?? [])]) {
        const err = await sy.controller.createNetwork({ name: 'bad', driver: type, options: bad }).catch((e: unknown) => e);
        expect(isSwitchyardError(err) && err.kind).toBe('InvalidArgument');
      }
      expect(sy.fake.snapshot()).toEqual(before);
      expect(await sy.controller.listNetworks()).toEqual([]);
      expect(sy.ipam.poolCount()).toBe(0);
    });

    it('creates and deletes a network, leaving the kernel as it found it', async () => {
      const before = sy.fake.snapshot();
      await sy.controller.createNetwork({ name: 'n1', driver: type, options: netOpts });
      await sy.controller.deleteNetwork('n1');
      expect(sy.fake.snapshot()).toEqual(before);
      expect(sy.ipam.poolCount()).toBe(0);
    });

    it('connects a sandbox: its interface is inside it, named as asked, addressed and up', async () => {
      await sy.controller.createNetwork({ name: 'n1', driver: type, options: netOpts, ipam: { ipv4: [{ subnet: '10.77.0.0/24' }] } });
      const sb = await sy.controller.createSandbox({ name: 'sb1' });
      const ep = await sy.controller.connect('n1', 'sb1', { ifname: 'net0' });
      const links = await sy.kernel.listLinks(sb.netns);
      const link = links.find((l) => l.name === 'net0');
      expect(link?.up).toBe(true);
      const addrs = (await sy.kernel.listAddrs(sb.netns)).filter((a) => a.dev === 'net0').map((a) => a.cidr);
      expect(addrs).toEqual([ep.ipv4]);
      expect(ep.ipv4).toMatch(/^10\.77\.0\.\d+\/24$/);
    });

    it('gives two sandboxes their own interfaces and distinct addresses', async () => {
      await sy.controller.createNetwork({ name: 'n1', driver: type, options: netOpts });
      await sy.controller.createSandbox({ name: 'a' });
      await sy.controller.createSandbox({ name: 'b' });
      const a = await sy.controller.connect('n1', 'a');
      const b = await sy.controller.connect('n1', 'b');
      expect(a.ipv4).not.toBe(b.ipv4);
      expect(a.ifname).toBe('eth0');
      expect(b.ifname).toBe('eth0');
    });

    if (options.staticMac === false) {
      it('refuses a static MAC with an InvalidArgument error and leaves nothing', async () => {
        await sy.controller.createNetwork({ name: 'n1', driver: type, options: netOpts });
        await sy.controller.createSandbox({ name: 'sb1' });
        const before = sy.fake.snapshot();
        const err = await sy.controller.connect('n1', 'sb1', { mac: '02:00:00:00:00:42' }).catch((e: unknown) => e);
        expect(isSwitchyardError(err) && err.kind).toBe('InvalidArgument');
        expect(sy.fake.snapshot()).toEqual(before);
        expect(sy.ipam.allocated()).toEqual([]);
      });
    } else {
      it('honours a static address and MAC', async () => {
        await sy.controller.createNetwork({ name: 'n1', driver: type, options: netOpts, ipam: { ipv4: [{ subnet: '10.78.0.0/24' }] } });
        const sb = await sy.controller.createSandbox({ name: 'sb1' });
        const ep = await sy.controller.connect('n1', 'sb1', { ipv4: '10.78.0.42', mac: '02:00:00:00:00:42' });
        expect(ep.ipv4).toBe('10.78.0.42/24');
        const link = (await sy.kernel.listLinks(sb.netns)).find((l) => l.name === 'eth0');
        expect(link?.mac).toBe('02:00:00:00:00:42');
      });
    }

    it('refuses an interface name held by a link Switchyard did not make with SWY_ERR_LINK_EXISTS and leaves nothing', async () => {
      await sy.controller.createNetwork({ name: 'n1', driver: type, options: netOpts });
      const sb = await sy.controller.createSandbox({ name: 'sb1' });
      await sy.kernel.apply([{ ns: sb.netns, op: { op: 'link.add', kind: 'bridge', name: 'eth0' } }]);
      const before = sy.fake.snapshot();
      await expect(sy.controller.connect('n1', 'sb1')).rejects.toMatchObject({ code: 'SWY_ERR_LINK_EXISTS' });
      expect(sy.fake.snapshot()).toEqual(before);
      expect(sy.ipam.allocated()).toEqual([]);
    });

    if (options.master) {
      const { option, mtu } = options.master;
      it('refuses a master that does not exist with SWY_ERR_MASTER_NOT_FOUND and allocates nothing', async () => {
        const before = sy.fake.snapshot();
        await expect(sy.controller.createNetwork({ name: 'n1', driver: type, options: { ...netOpts, [option]: 'nosuchnic0' } })).rejects.toMatchObject({ code: 'SWY_ERR_MASTER_NOT_FOUND' });
        expect(sy.fake.snapshot()).toEqual(before);
        expect(sy.ipam.poolCount()).toBe(0);
      });

      it("refuses an MTU above the master's with SWY_ERR_MTU_TOO_LARGE naming both numbers, and allocates nothing", async () => {
        const before = sy.fake.snapshot();
        const err = await sy.controller.createNetwork({ name: 'n1', driver: type, options: { ...netOpts, mtu: mtu + 1 } }).catch((e: unknown) => e);
        expect(isSwitchyardError(err) && err.code).toBe('SWY_ERR_MTU_TOO_LARGE');
        expect((err as Error).message).toContain(String(mtu + 1));
        expect((err as Error).message).toContain(String(mtu));
        expect(sy.fake.snapshot()).toEqual(before);
        expect(sy.ipam.poolCount()).toBe(0);
      });

      it("gives the sandbox interface an MTU below the master's when the network asks for it", async () => {
        await sy.controller.createNetwork({ name: 'n1', driver: type, options: { ...netOpts, mtu: mtu - 100 } });
        const sb = await sy.controller.createSandbox({ name: 'sb1' });
        await sy.controller.connect('n1', 'sb1');
        expect((await sy.kernel.listLinks(sb.netns)).find((l) => l.name === 'eth0')?.mtu).toBe(mtu - 100);
      });
    }

    it('leaves no link, address or route behind after disconnect, sandbox removal and network delete', async () => {
      const before = sy.fake.snapshot();
      await sy.controller.createNetwork({ name: 'n1', driver: type, options: netOpts });
      await sy.controller.createSandbox({ name: 'a' });
      await sy.controller.createSandbox({ name: 'b' });
      await sy.controller.connect('n1', 'a');
      await sy.controller.connect('n1', 'b');
      await sy.controller.disconnect('n1', 'a');
      await sy.controller.deleteSandbox('a');
      await sy.controller.deleteSandbox('b');
      await sy.controller.deleteNetwork('n1');
      expect(sy.fake.snapshot()).toEqual(before);
      expect(sy.ipam.allocated()).toEqual([]);
      expect(await storeSnapshot(sy)).toEqual({ networks: [], sandboxes: [], intents: [] });
    });

    it('rolls back completely when any kernel step of connect fails', async () => {
      // Count the steps of one successful connect, then fail each of them in turn on a fresh instance.
      await sy.controller.createNetwork({ name: 'n1', driver: type, options: netOpts });
      await sy.controller.createSandbox({ name: 'sb1' });
      const mark = sy.fake.history.length;
      await sy.controller.connect('n1', 'sb1');
      const stepCount = sy.fake.history.length - mark;
      expect(stepCount > 0).toBe(true);
      for (let i = 0; i < stepCount; i++) {
        const fresh = await setUp();
        try {
          await fresh.controller.createNetwork({ name: 'n1', driver: type, options: netOpts });
          await fresh.controller.createSandbox({ name: 'sb1' });
          const kernelBefore = fresh.fake.snapshot();
          const storeBefore = await storeSnapshot(fresh);
          let seen = 0;
          fresh.fake.failAt(() => seen++ === i);
          await expect(fresh.controller.connect('n1', 'sb1')).rejects.toMatchObject({ name: 'SwitchyardError' });
          expect(fresh.fake.snapshot()).toEqual(kernelBefore);
          expect(await storeSnapshot(fresh)).toEqual(storeBefore);
          expect(fresh.ipam.allocated()).toEqual([]);
        } finally {
          await fresh.dispose();
        }
      }
    });

    it('refuses an interface name already taken in the sandbox with SWY_ERR_LINK_EXISTS and leaves nothing', async () => {
      await sy.controller.createNetwork({ name: 'n1', driver: type, options: netOpts });
      await sy.controller.createNetwork({ name: 'n2', driver: type, options: netOpts });
      await sy.controller.createSandbox({ name: 'sb1' });
      await sy.controller.connect('n1', 'sb1', { ifname: 'eth5' });
      const before = sy.fake.snapshot();
      await expect(sy.controller.connect('n2', 'sb1', { ifname: 'eth5' })).rejects.toMatchObject({ code: 'SWY_ERR_LINK_EXISTS' });
      expect(sy.fake.snapshot()).toEqual(before);
      expect(sy.ipam.allocated().length).toBe(1);
    });

    it('gives a sandbox on two networks two interfaces and one default route, from the higher priority', async () => {
      await sy.controller.createNetwork({ name: 'n1', driver: type, options: netOpts });
      await sy.controller.createNetwork({ name: 'n2', driver: type, options: netOpts });
      const sb = await sy.controller.createSandbox({ name: 'sb1' });
      await sy.controller.connect('n1', 'sb1');
      const second = await sy.controller.connect('n2', 'sb1', { gatewayPriority: 10 });
      const names = (await sy.kernel.listLinks(sb.netns)).map((l) => l.name).sort();
      expect(names).toEqual(['eth0', 'eth1', 'lo']);
      const defaults = (await sy.kernel.listRoutes(sb.netns)).filter((r) => r.dst === 'default' && r.family === 4);
      if (second.routing.v4) {
        expect(defaults.length).toBe(1);
        expect(defaults[0]?.dev).toBe('eth1');
      } else {
        expect(defaults.length <= 1).toBe(true);
      }
    });
  });
}
