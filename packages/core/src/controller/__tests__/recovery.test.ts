import { createTestSwitchyard, type TestSwitchyard } from '../../testing/test-switchyard.js';
import { FakeKernel } from '../../testing/fake-kernel.js';
import { MemoryStore } from '../../store/memory-store.js';
import { HOST_NS, type AppliedPlan, type KernelStep, type NetnsRef } from '../../spi/kernel.js';
import { RETIRED_LINK_GROUP } from '../link-retirement.js';
import type { Intent } from '../intents.js';
import type { LeavePlan } from '../../spi/network-driver.js';
import type { StateStore } from '../../spi/state-store.js';
import { fixtureDriver, type FixtureControls } from './fixture-driver.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TOKENS } from '../../di/tokens.js';
import type { SandboxFiles } from '../../sandbox/sandbox-files.js';
import type { SandboxRecord } from '../../model/types.js';
import type { MemoryIpam } from '../../testing/memory-ipam.js';
import type { IpamDriver } from '../../spi/ipam-driver.js';

/** A kernel whose next revert fails, as when a process dies before it can undo. */
class DyingKernel extends FakeKernel {
  failNextRevert = false;
  override async revert(applied: AppliedPlan): Promise<void> {
    if (this.failNextRevert) {
      this.failNextRevert = false;
      throw new Error('process died before undo');
    }
    return super.revert(applied);
  }
}

/** Makes the driver's deleteEndpoint throw once (a hiccup in the middle of a teardown). */
async function hiccupOnce(sy: TestSwitchyard): Promise<void> {
  const driver = (await sy.registry.driver('fixture')) as { deleteEndpoint: (...a: unknown[]) => Promise<void> };
  const original = driver.deleteEndpoint.bind(driver);
  let once = true;
  driver.deleteEndpoint = async (...a: unknown[]) => {
    if (once) {
      once = false;
      throw new Error('driver hiccup');
    }
    return original(...a);
  };
}

/** A MemoryStore whose first write that `dies` picks fails, as when the process is killed just there. */
function dyingStore(dies: (op: 'put' | 'delete', collection: string) => boolean): StateStore {
  const memory = new MemoryStore();
  let dead = false;
  const die = (op: 'put' | 'delete', c: string) => {
    if (dead || !dies(op, c)) return;
    dead = true;
    throw new Error('process died');
  };
  return {
    get: (c, id) => memory.get(c, id),
    list: (c) => memory.list(c),
    close: () => memory.close(),
    transaction: (fn, scope) =>
      memory.transaction(
        (tx) =>
          fn({
            ...tx,
            get: tx.get.bind(tx),
            list: tx.list.bind(tx),
            delete: async (c, id) => (die('delete', c), tx.delete(c, id)),
            put: async (c, id, doc) => (die('put', c), tx.put(c, id, doc)),
          }),
        scope,
      ),
  };
}

const defaults = async (sy: TestSwitchyard, ns: NetnsRef) => (await sy.kernel.listRoutes(ns)).filter((r) => r.dst === 'default').map((r) => `${r.via} ${r.dev}`);

describe('recovery and repeated teardowns', () => {
  let controls: FixtureControls;
  let sy: TestSwitchyard;
  let kernel: DyingKernel;
  beforeEach(async () => {
    controls = { calls: [] };
    kernel = new DyingKernel();
    sy = await createTestSwitchyard([fixtureDriver(controls)], { kernel });
    await sy.controller.createNetwork({ name: 'n', driver: 'fixture', ipam: { ipv4: [{ subnet: '10.9.0.0/24' }] } });
  });
  afterEach(() => sy.dispose());

  it('a sandbox whose namespace vanished (its container exited) is removed, and its address released', async () => {
    const ref = kernel.addPathNetns('/proc/4242/ns/net');
    await sy.controller.createSandbox({ name: 'p', netnsPath: '/proc/4242/ns/net' });
    await sy.controller.connect('n', 'p');
    kernel.vanish(ref);
    await sy.controller.deleteSandbox('p');
    expect(await sy.controller.listSandboxes()).toEqual([]);
    expect(sy.ipam.allocated()).toEqual([]);
    expect(await sy.store.list('intents')).toEqual([]);
  });

  it('a disconnect retried after a failed teardown step never releases an address another sandbox now holds', async () => {
    await sy.controller.createSandbox({ name: 'a' });
    await sy.controller.createSandbox({ name: 'b' });
    const a = await sy.controller.connect('n', 'a');
    await hiccupOnce(sy);
    await expect(sy.controller.disconnect('n', 'a')).rejects.toMatchObject({ code: 'SWY_ERR_TEARDOWN_FAILED' });
    const b = await sy.controller.connect('n', 'b');
    await sy.controller.disconnect('n', 'a');
    expect(sy.ipam.allocated()).toEqual([b.ipv4!.split('/')[0]]);
    expect(a.ipv4).toBeDefined();
  });

  it('a stale sandbox.delete intent never removes a newer sandbox with the same name', async () => {
    await sy.controller.createSandbox({ name: 'web' });
    await sy.controller.connect('n', 'web');
    await hiccupOnce(sy);
    await expect(sy.controller.deleteSandbox('web')).rejects.toMatchObject({ code: 'SWY_ERR_TEARDOWN_FAILED' });
    await sy.controller.deleteSandbox('web');
    expect(await sy.store.list('intents')).toEqual([]);
    const again = await sy.controller.createSandbox({ name: 'web' });
    await sy.controller.connect('n', 'web');
    await sy.controller.recover();
    expect((await sy.controller.inspectSandbox('web')).id).toBe(again.id);
    expect(await sy.kernel.netnsExists(again.netns)).toBe(true);
  });

  it('a stale connect intent never tears down a later endpoint that reused the interface name', async () => {
    const sb = await sy.controller.createSandbox({ name: 's' });
    // The first connect fails in join, and undoing its createEndpoint fails too: its intent stays.
    controls.failIn = 'join';
    await hiccupOnce(sy);
    await expect(sy.controller.connect('n', 's')).rejects.toMatchObject({ message: 'fixture failure in join' });
    expect((await sy.store.list('intents')).length).toBe(1);
    const ep = await sy.controller.connect('n', 's');
    await sy.controller.recover();
    expect(kernel.linkNames(sb.netns)).toContain('eth0');
    expect(sy.ipam.allocated()).toEqual([ep.ipv4!.split('/')[0]]);
    expect((await sy.controller.inspectSandbox('s')).endpoints.map((e) => e.ifname)).toEqual(['eth0']);
  });

  it('rolling back a dead connect that had taken over the default route gives the route back', async () => {
    await sy.controller.createNetwork({ name: 'b', driver: 'fixture', ipam: { ipv4: [{ subnet: '10.2.0.0/24' }] } });
    const sb = await sy.controller.createSandbox({ name: 's' });
    await sy.controller.connect('n', 's');
    controls.failIn = 'programExternalConnectivity';
    kernel.failNextRevert = true;
    await expect(sy.controller.connect('b', 's', { gatewayPriority: 5 })).rejects.toThrow();
    expect(await defaults(sy, sb.netns)).toEqual(['10.2.0.1 eth1']);
    expect(await sy.controller.recover()).toBe(1);
    expect(await defaults(sy, sb.netns)).toEqual(['10.9.0.1 eth0']);
    expect(kernel.linkNames(sb.netns)).toEqual(['eth0', 'lo']);
  });

  it('rolling back a dead network create removes the kernel objects it made and its pools', async () => {
    const before = kernel.snapshot();
    // A store whose commit of the network fails once: the process "dies" between kernel changes and commit.
    const other = await createTestSwitchyard([fixtureDriver()], { kernel, store: dyingStore((op, c) => op === 'put' && c === 'networks') });
    try {
      kernel.failNextRevert = true;
      await expect(other.controller.createNetwork({ name: 'x', driver: 'fixture' })).rejects.toThrow('process died');
      expect(kernel.snapshot()).not.toEqual(before);
      expect(await other.controller.recover()).toBe(1);
      expect(kernel.snapshot()).toEqual(before);
      expect(other.ipam.poolCount()).toBe(0);
    } finally {
      await other.dispose();
    }
  });

  it('a network create that dies right after its IPAM made a pool leaves no pool, when the IPAM names its pools beforehand (a cluster-wide one)', async () => {
    // The process "dies" once the pool exists: its intent is neither updated nor cleared.
    const other = await createTestSwitchyard([fixtureDriver()], { kernel, store: dyingStore((op, c) => op === 'delete' && c === 'intents') });
    try {
      const ipam = other.ipam as MemoryIpam & Pick<IpamDriver, 'poolIdFor'>;
      ipam.poolIdFor = (r) => `mem:${r.networkName}:${r.family}`;
      const request = ipam.requestPool.bind(ipam);
      ipam.requestPool = async (r) => {
        await request(r);
        throw new Error('killed after requestPool');
      };
      await expect(other.controller.createNetwork({ name: 'x', driver: 'fixture', ipam: { ipv4: [{ subnet: '10.9.1.0/24' }] } })).rejects.toThrow('process died');
      expect(ipam.poolCount()).toBe(1);
      expect(await other.controller.recover()).toBe(1);
      expect(ipam.poolCount()).toBe(0);
    } finally {
      await other.dispose();
    }
  });

  it('rolling back a dead sandbox create removes its namespace and the hosts and resolv.conf it had written', async () => {
    // What a process killed between writing the sandbox's files and committing it leaves behind.
    const files = sy.container.resolve<SandboxFiles>(TOKENS.SandboxFiles);
    const ghost = {
      id: 'f'.repeat(64),
      name: 'ghost',
      mode: 'isolated',
      netns: { kind: 'named', name: 'ghost' },
      ownsNetns: true,
      hostname: 'ghost',
      dns: { nameservers: [], search: [], options: [] },
      extraHosts: [],
      labels: {},
      endpoints: [],
      createdAt: '',
    } satisfies SandboxRecord;
    const dir = await files.write(ghost);
    await kernel.createNetns('ghost');
    await sy.store.transaction((tx) => tx.put('intents', 'dead', { kind: 'sandbox.create', id: 'dead', sandboxName: 'ghost', sandboxId: ghost.id, netnsName: 'ghost', at: '' }));
    expect(existsSync(join(dir, 'hosts'))).toBe(true);
    expect(await sy.controller.recover()).toBe(1);
    expect(existsSync(dir)).toBe(false);
    expect(await kernel.netnsExists({ kind: 'named', name: 'ghost' })).toBe(false);
    expect(await sy.store.list('intents')).toEqual([]);
  });

  it('counts only the intents it could resolve, and keeps the others for the next start', async () => {
    await sy.store.transaction((tx) => tx.put('intents', 'odd', { kind: 'network.create', id: 'odd', networkId: 'z', networkName: 'z', driver: 'fixture', ipamDriver: 'no-such-ipam', at: '' }));
    expect(await sy.controller.recover()).toBe(0);
    expect((await sy.store.list<{ id: string }>('intents')).map((i) => i.id)).toEqual(['odd']);
  });

  it('a listener that throws does not turn a committed connect into a failure', async () => {
    sy.events.on('endpoint.joined', () => {
      throw new Error('listener bug');
    });
    await sy.controller.createSandbox({ name: 's' });
    const ep = await sy.controller.connect('n', 's');
    expect(ep.ifname).toBe('eth0');
  });

  describe('links a disconnect retired', () => {
    /** A kernel that refuses group deletes while `dead`: the batch of a process that died before it ran. */
    class BatchlessKernel extends FakeKernel {
      dead = true;
      override async apply(steps: readonly KernelStep[]): Promise<AppliedPlan> {
        if (this.dead && steps.some((s) => s.op.op === 'group.del')) throw new Error('process died before its batch');
        return super.apply(steps);
      }
    }

    for (const [how, hostEnd] of [
      ['with its host end (a veth pair: one group delete on the host)', true],
      ['with no host end (macvlan, ipvlan: a group delete in the sandbox)', false],
    ] as const) {
      it(`are down, renamed and grouped at once, and the next process deletes them when this one died before its batch: ${how}`, async () => {
        const k = new BatchlessKernel();
        const first = await createTestSwitchyard([fixtureDriver()], { kernel: k });
        let second: TestSwitchyard | undefined;
        try {
          // The fixture deletes its host end on leave; here it names it for core to retire instead (or leaves it to its peer).
          const driver = (await first.registry.driver('fixture')) as unknown as { leave: (n: unknown, e: { id: string }) => Promise<LeavePlan> };
          driver.leave = async (_n, e) => ({ hostSteps: [], ...(hostEnd ? { hostLinks: [`fh${e.id.slice(0, 8)}`] } : {}) });
          await first.controller.createNetwork({ name: 'n', driver: 'fixture', ipam: { ipv4: [{ subnet: '10.9.0.0/24' }] } });
          const sandbox = await first.controller.createSandbox({ name: 's' });
          await first.controller.connect('n', 's');
          const hostLinksBefore = (await k.listLinks(HOST_NS)).length;
          await first.controller.disconnect('n', 's');
          await first.settle(); // the batch fails: what a killed process leaves
          const left = (await k.listLinks(sandbox.netns)).filter((l) => l.name !== 'lo');
          expect(left.map((l) => ({ up: l.up, group: l.group, retiredName: /^swyr[0-9a-f]{10}$/.test(l.name) }))).toEqual([{ up: false, group: RETIRED_LINK_GROUP, retiredName: true }]);
          const hostEnds = (await k.listLinks(HOST_NS)).filter((l) => l.name.startsWith('fh'));
          expect(hostEnds.map((l) => ({ up: l.up, group: l.group ?? 0 }))).toEqual([{ up: hostEnd ? false : true, group: hostEnd ? RETIRED_LINK_GROUP : 0 }]);
          expect((await first.store.list<Intent>('intents')).map((i) => i.kind === 'retire' && i.inHost)).toEqual([hostEnd]);
          expect(first.ipam.allocated()).toEqual([]);
          k.dead = false;
          second = await createTestSwitchyard([fixtureDriver()], { kernel: k, store: first.memoryStore, recover: true });
          expect((await k.listLinks(sandbox.netns)).map((l) => l.name)).toEqual(['lo']);
          expect((await k.listLinks(HOST_NS)).length).toBe(hostLinksBefore - 1);
          expect(await second.store.list('intents')).toEqual([]);
        } finally {
          await second?.dispose();
          await first.dispose();
        }
      });
    }

    it('in the host namespace are found and deleted by gc even with no record left', async () => {
      await sy.kernel.apply([{ ns: HOST_NS, op: { op: 'link.add', kind: 'veth', name: 'sybdead000001', peer: { name: 'sybdeadpeer01' }, group: RETIRED_LINK_GROUP } }]);
      const report = await sy.controller.gc();
      expect(report.actions).toContainEqual(expect.objectContaining({ kind: 'remove-link', target: `1 retired link(s) (group ${RETIRED_LINK_GROUP})`, done: true }));
      expect((await sy.kernel.listLinks(HOST_NS)).map((l) => l.name)).not.toContain('sybdead000001');
      expect((await sy.kernel.listLinks(HOST_NS)).map((l) => l.name)).not.toContain('sybdeadpeer01');
    });

    it('are deleted at once with linkDeletion "immediate", leaving no record', async () => {
      const now = await createTestSwitchyard([fixtureDriver()], { linkDeletion: 'immediate' });
      try {
        await now.controller.createNetwork({ name: 'n', driver: 'fixture', ipam: { ipv4: [{ subnet: '10.9.0.0/24' }] } });
        const sandbox = await now.controller.createSandbox({ name: 's' });
        await now.controller.connect('n', 's');
        await now.controller.disconnect('n', 's');
        expect((await now.kernel.listLinks(sandbox.netns)).map((l) => l.name)).toEqual(['lo']);
        expect(await now.store.list('intents')).toEqual([]);
      } finally {
        await now.dispose();
      }
    });
  });
});
