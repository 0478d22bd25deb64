import { FakeKernel } from '../../testing/fake-kernel.js';
import { MemoryStore } from '../../store/memory-store.js';
import { silentLogger } from '../../registry/logger.js';
import { HOST_NS, type AppliedPlan, type KernelStep, type NetnsRef } from '../../spi/kernel.js';
import { LinkRetirement, RETIRED_LINK_GROUP, retireHostLinks, retireSandboxEnd, type RetireIntent } from '../link-retirement.js';

/** Counts the group deletes it is asked for. */
class CountingKernel extends FakeKernel {
  groupDeletes: string[] = [];
  override async apply(steps: readonly KernelStep[]): Promise<AppliedPlan> {
    for (const s of steps) if (s.op.op === 'group.del') this.groupDeletes.push(s.ns.kind === 'named' ? s.ns.name : s.ns.kind);
    return super.apply(steps);
  }
}

const record = (id: string, netns: NetnsRef, inHost: boolean): RetireIntent => ({ kind: 'retire', id, sandboxName: id, netns, inHost, at: new Date().toISOString() });

describe('LinkRetirement', () => {
  let kernel: CountingKernel;
  let store: MemoryStore;

  /** A sandbox with a veth pair (host end `h<n>`, sandbox end eth0), retired as a disconnect retires it. */
  async function retiredPair(n: string, withHostEnd: boolean): Promise<RetireIntent> {
    const ns = await kernel.createNetns(`s${n}`);
    await kernel.apply([
      { ns: HOST_NS, op: { op: 'link.add', kind: 'veth', name: `h${n}`, peer: { name: 'eth0', netns: ns } } },
      { ns: HOST_NS, op: { op: 'link.set', name: `h${n}`, up: true } },
      { ns, op: { op: 'link.set', name: 'eth0', up: true } },
    ]);
    await kernel.apply([{ ns, op: { op: 'addr.add', dev: 'eth0', cidr: `10.1.0.${n}/24` } }]);
    await kernel.apply([...retireSandboxEnd(ns, 'eth0', `${n}`.padEnd(64, '0'), [`10.1.0.${n}/24`]), ...retireHostLinks(withHostEnd ? [`h${n}`] : [])]);
    const r = record(`r${n}`, ns, withHostEnd);
    await store.transaction((tx) => tx.put('intents', r.id, r));
    return r;
  }

  beforeEach(() => {
    kernel = new CountingKernel();
    store = new MemoryStore();
  });

  it('retiring frees the name at once: the sandbox end is down and renamed, both ends are in the retired group', async () => {
    const r = await retiredPair('1', true);
    expect((await kernel.listLinks(r.netns)).filter((l) => l.name !== 'lo').map((l) => ({ name: l.name, up: l.up, group: l.group }))).toEqual([{ name: 'swyr1000000000', up: false, group: RETIRED_LINK_GROUP }]);
    expect((await kernel.listLinks(HOST_NS)).map((l) => ({ name: l.name, up: l.up, group: l.group }))).toContainEqual({ name: 'h1', up: false, group: RETIRED_LINK_GROUP });
    expect((await kernel.listAddrs(r.netns)).filter((a) => a.dev !== 'lo')).toEqual([]);
  });

  it('deletes a batch with one group delete on the host for every pair, plus one per sandbox for links without a host end, then drops the records', async () => {
    const retirement = new LinkRetirement(kernel, store, silentLogger, { delayMs: 1e9 });
    for (const r of [await retiredPair('1', true), await retiredPair('2', true), await retiredPair('3', false), await retiredPair('4', false)]) retirement.retired(r);
    expect(kernel.groupDeletes).toEqual([]);
    await retirement.settle();
    expect(kernel.groupDeletes).toEqual(['host', 's3', 's4']);
    expect((await kernel.listLinks(HOST_NS)).map((l) => l.name).filter((n) => n.startsWith('h'))).toEqual([]);
    for (const n of ['s1', 's2', 's3', 's4']) expect((await kernel.listLinks({ kind: 'named', name: n })).map((l) => l.name)).toEqual(['lo']);
    expect(await store.list('intents')).toEqual([]);
  });

  it('runs a batch by itself shortly after the last retirement, and at once when the batch is full', async () => {
    const soon = new LinkRetirement(kernel, store, silentLogger, { delayMs: 1 });
    soon.retired(await retiredPair('1', true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(kernel.groupDeletes).toEqual(['host']);
    await soon.settle();

    const full = new LinkRetirement(kernel, store, silentLogger, { delayMs: 1e9, maxBatch: 2 });
    full.retired(await retiredPair('2', true));
    expect(kernel.groupDeletes).toEqual(['host']);
    full.retired(await retiredPair('3', true));
    await full.settle();
    expect(kernel.groupDeletes).toEqual(['host', 'host']);
    expect(await store.list('intents')).toEqual([]);
  });

  it('skips a sandbox namespace that is gone, and keeps the records of a batch the kernel refused for recovery', async () => {
    const gone = await retiredPair('1', false);
    kernel.vanish(gone.netns);
    const retirement = new LinkRetirement(kernel, store, silentLogger, { delayMs: 1e9 });
    retirement.retired(gone);
    await retirement.settle();
    expect(kernel.groupDeletes).toEqual([]);
    expect(await store.list('intents')).toEqual([]);

    const refused = await retiredPair('2', true);
    const failing = new (class extends FakeKernel {
      override async apply(): Promise<AppliedPlan> {
        throw new Error('refused');
      }
    })();
    const warnings: string[] = [];
    const stuck = new LinkRetirement(failing, store, { ...silentLogger, warn: (m: string) => warnings.push(m) }, { delayMs: 1e9 });
    stuck.retired(refused);
    await stuck.settle();
    expect(warnings).toEqual([expect.stringContaining('deleting 1 retired link(s) failed')]);
    expect((await store.list<RetireIntent>('intents')).map((i) => i.id)).toEqual(['r2']);
  });
});
